// A yagura tower for the browser tests: started on a free loopback port on
// a SQLite store in a temporary directory, called as each role, stopped.
// Also the demonstration data every scenario starts from (issue 15).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

export class Tower {
  // tls: a directory of scripts/demo-tls.sh (server.pem, server.key,
  // ca.pem): the tower then serves HTTPS, as scripts/run.sh's does.
  constructor(yagura, dir, tls = null) {
    this.tls = tls;
    this.yagura = yagura;
    this.dir = dir;
    this.store = path.join(dir, 'tower.db');
    this.keyfile = path.join(dir, 'log.key');
    this.cmdir = path.join(dir, 'countermeasures');
    fs.mkdirSync(this.cmdir, { recursive: true });
    this.conf = path.join(dir, 'tower.ini');
    // The documentation ranges the demonstration uses are taken out of
    // the never-block list, as [cases] lab_allow is meant for.
    fs.writeFileSync(this.conf, `[log]\nkey = ${this.keyfile}\ncheckpoint_interval = 1s\n\n`
      + '[cases]\nmin_duration = 2s\nmax_duration = 7d\nlab_allow = 198.51.100.0/24, 203.0.113.0/24\n\n'
      + '[countermeasures]\nsinkhole = sinkhole.yagura.local\n'
      + (tls ? `\n[tls]\ncert = ${tls}/server.pem\nkey = ${tls}/server.key\n` : ''));
  }

  async start(webDir) {
    const init = spawnSync(this.yagura, ['admin', 'init', '--store', this.store, '--log-key', this.keyfile], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`admin init: ${init.stderr}`);
    this.admin = init.stdout.trim();
    this.port = await freePort();
    const args = ['tower', '--listen', `127.0.0.1:${this.port}`, '--store', this.store, '--threads', '4',
      '--config', this.conf, '--countermeasures', this.cmdir];
    args.push('--web', webDir);
    this.log = fs.openSync(path.join(this.dir, 'tower.log'), 'a');
    this.proc = spawn(this.yagura, args, { stdio: ['ignore', this.log, this.log] });
    this.url = `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    for (let i = 0; i < 200; i++) {
      try {
        const r = await fetch(`${this.url}/healthz`);
        if (r.ok) return;
      } catch { /* not yet */ }
      await sleep(50);
    }
    throw new Error('the tower did not start');
  }

  async stop() {
    if (!this.proc) return 0;
    const done = new Promise(r => this.proc.on('exit', code => r(code)));
    this.proc.kill('SIGTERM');
    const code = await done;
    fs.closeSync(this.log);
    return code;
  }

  async call(method, p, body, token, headers = {}) {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const r = await fetch(this.url + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let data = text;
    try { data = JSON.parse(text); } catch { /* text */ }
    return { status: r.status, body: data, headers: r.headers };
  }

  async must(method, p, body, token, want = [200, 201]) {
    const r = await this.call(method, p, body, token);
    if (!want.includes(r.status)) throw new Error(`${method} ${p}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

const iso = ms => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

// The demonstration: two operators in two sectors, a regulator of the
// first, an analyst, two overseers, an auditor, a sensor; an asset, alerts
// from three sources, reports at different stages (one overdue), a case.
export async function seed(tw) {
  const A = tw.admin;
  const rail = await tw.must('POST', '/api/v1/orgs', { name: 'Kansai Rail', sector: 'railways' }, A);
  const power = await tw.must('POST', '/api/v1/orgs', { name: 'Tokyo Power', sector: 'electricity' }, A);
  const people = {
    op1: { role: 'operator', org_id: rail.id }, op2: { role: 'operator', org_id: power.id },
    mlit: { role: 'regulator', sectors: ['railways'] }, analyst1: { role: 'analyst' },
    overseer1: { role: 'overseer' }, overseer2: { role: 'overseer' }, auditor1: { role: 'auditor' },
    sensor1: { role: 'sensor' },
  };
  // Each person gets a password (PUT /api/v1/users/{id}/password, by the
  // admin); a sensor has none, only its token.
  const users = {};
  for (const [name, u] of Object.entries(people)) {
    const r = await tw.must('POST', '/api/v1/users', { name, ...u }, A);
    const tk = await tw.must('POST', '/api/v1/tokens', { user_id: r.id }, A);
    let password = null;
    if (u.role !== 'sensor') {
      password = `demo-${name}-Passw0rd!`;
      await tw.must('PUT', `/api/v1/users/${r.id}/password`, { password }, A, [200, 204]);
    }
    users[name] = { ...u, id: r.id, token: tk.token, password };
  }
  const T = n => users[n].token;
  await tw.must('POST', '/api/v1/assets', { product: 'Ticketing gateway', role: 'ticketing', location: 'Osaka', addresses: ['203.0.113.0/28'] }, T('op1'));
  await tw.must('POST', '/api/v1/assets', { product: 'SCADA HMI', role: 'control', location: 'Chiba', addresses: ['192.0.2.64/28'] }, T('op2'));

  // Alerts over the last day from three sources, as a sensor posts them.
  const now = Date.now();
  const alerts = [];
  const srcs = [['198.51.100.7', 9100001, 'brute force: ssh', 1, '203.0.113.5'],
    ['198.51.100.23', 9100002, 'port scan', 2, '203.0.113.9'],
    ['203.0.113.200', 9100003, 'c2 beacon', 1, '192.0.2.70']];
  srcs.forEach(([ip, sid, sig, sev, dst], k) => {
    for (let i = 0; i < 12 + k * 4; i++) {
      alerts.push({
        alert_id: `demo-${k}-${i}`, timestamp: iso(now - ((i * 97 + k * 31) % 23) * 3600e3 - 60e3),
        src_ip: ip, src_port: 40000 + i, dest_ip: dst, dest_port: 22, proto: 'TCP',
        alert: { signature_id: sid, signature: sig, severity: sev, category: 'Attempted Administrator Privilege Gain' },
        evidence: { attackers: [ip], distinct_hosts: 1 + (i % 3), sessions: 5 },
      });
    }
  });
  await tw.must('POST', '/api/v1/alerts', { alerts }, T('sensor1'));

  // Reports: one filed three days ago still at the prompt stage (overdue),
  // one detailed, one of the other sector.
  const r1 = await tw.must('POST', '/api/v1/reports', {
    category: 'ddos', summary: 'SYN flood on the ticketing portal', detected_at: iso(now - 3 * 86400e3),
    severity: 'high', tlp: 'TLP:AMBER',
  }, T('op1'));
  const r2 = await tw.must('POST', '/api/v1/reports', {
    category: 'ransomware', summary: 'Ticketing servers encrypted; gates on manual fallback', detected_at: iso(now - 6 * 3600e3),
    severity: 'critical', tlp: 'TLP:AMBER', category_details: { family: 'LockBit', encrypted_systems: 12 },
  }, T('op1'));
  await tw.must('POST', `/api/v1/reports/${r2.id}/versions`, {
    stage: 'detailed', report: {
      category: 'ransomware', summary: 'Ticketing servers encrypted through the VPN appliance', detected_at: iso(now - 6 * 3600e3),
      severity: 'critical', tlp: 'TLP:AMBER', category_details: { family: 'LockBit', encrypted_systems: 14 },
      affected_computers: [{ description: 'ticket gate controllers' }],
      technical_details: { attack_vector: 'unpatched VPN appliance', indicators: { addresses: ['198.51.100.7'], domains: ['update-check.example'] } },
    },
  }, T('op1'));
  const r3 = await tw.must('POST', '/api/v1/reports', {
    category: 'unauthorised_access', summary: 'Logins to the HMI from abroad', detected_at: iso(now - 2 * 3600e3),
    severity: 'medium', tlp: 'TLP:GREEN',
  }, T('op2'));

  // The ranking folds the alerts in on its own: wait for it.
  for (let i = 0; i < 100; i++) {
    const s = await tw.call('GET', '/api/v1/sources', undefined, T('analyst1'));
    if (s.status === 200 && s.body.pending_alerts === 0 && s.body.sources.length >= 3) break;
    await sleep(100);
  }
  // A proposed case awaiting approval.
  const c1 = await tw.must('POST', '/api/v1/sources/198.51.100.23/case', {
    action: 'blocklist', justification: 'Scanning the railway operators’ ticketing networks', duration: '3d',
  }, T('analyst1'));
  return { users, orgs: { rail, power }, reports: { r1: r1.id, r2: r2.id, r3: r3.id }, cases: { c1: c1.case.id } };
}
