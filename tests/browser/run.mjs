// The dashboard end to end (issue 15), in Debian's chromium driven by
// playwright-core, on a real tower with the demonstration data:
//   - an operator files a report (the API's 422 shown at its field), its
//     sector's regulator sees it, the other operator does not;
//   - an analyst proposes a case from a source, an overseer approves it,
//     and the countermeasure files change;
//   - an auditor verifies the checkpoint's signature and an entry's
//     inclusion proof in the browser;
//   - every page passes axe-core with no serious or critical violation;
//     a screenshot of each is kept in --out.
// People sign in with their user name and password (the session API:
// cookie and CSRF token); the tower serves the built files (--web), over
// HTTPS with the demonstration's certificates (--http: plain HTTP).
//
//   node run.mjs --yagura build/yagura --source . --out build/browser [--docs docs/dashboard]
// Exit 0: all passed; 1: a check failed; 77: skipped (no chromium, no
// node_modules, no dashboard build).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Tower, seed } from './tower.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const source = path.resolve(args.source || path.join(here, '..', '..'));
const yagura = path.resolve(args.yagura || path.join(source, 'build', 'yagura'));
const out = path.resolve(args.out || path.join(source, 'build', 'browser'));
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const webDir = path.join(source, 'web');
const dist = path.join(webDir, 'dist');

function skip(why) {
  console.log(`skipped: ${why}`);
  process.exit(77);
}

if (!fs.existsSync(chromiumPath)) skip(`no chromium at ${chromiumPath} (scripts/setup.sh installs it)`);
if (!fs.existsSync(path.join(here, 'node_modules', 'playwright-core'))) skip('tests/browser/node_modules is absent (npm ci in tests/browser)');
if (!fs.existsSync(path.join(dist, 'index.html'))) {
  if (!fs.existsSync(path.join(webDir, 'node_modules'))) skip('web/dist is not built and web/node_modules is absent (npm ci in web)');
  const b = spawnSync('npm', ['run', 'build'], { cwd: webDir, stdio: 'inherit' });
  if (b.status !== 0) { console.log('FAIL: npm run build in web/'); process.exit(1); }
}
if (!fs.existsSync(yagura)) skip(`no yagura binary at ${yagura}`);

fs.mkdirSync(out, { recursive: true });

// Over HTTPS, as scripts/run.sh serves the demonstration: a demonstration
// PKI from scripts/demo-tls.sh, its CA trusted by this process's fetch
// (NODE_EXTRA_CA_CERTS, read at start: the driver runs itself again) and
// the tower's certificate by chromium. --http, or no openssl: plain HTTP.
let tlsDir = null;
if (!('http' in args)) {
  const dir = process.env.YAGURA_BROWSER_TLS || path.join(out, 'tls');
  const made = spawnSync(path.join(source, 'scripts', 'demo-tls.sh'), [dir], { stdio: 'inherit' });
  if (made.status === 0) tlsDir = dir;
  else console.log('note: no demonstration certificates (openssl?): testing over plain HTTP');
}
if (tlsDir && process.env.YAGURA_BROWSER_CHILD !== '1') {
  const again = spawnSync(process.execPath, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(tlsDir, 'ca.pem'), YAGURA_BROWSER_TLS: tlsDir, YAGURA_BROWSER_CHILD: '1' },
  });
  process.exit(again.status ?? 1);
}

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let passed = 0, failed = 0;
function check(ok, what) {
  if (ok) { passed += 1; console.log(`ok: ${what}`); } else { failed += 1; console.log(`FAIL: ${what}`); }
  return ok;
}

const shotsDir = path.join(out, 'screenshots');
fs.rmSync(shotsDir, { recursive: true, force: true });
fs.mkdirSync(shotsDir, { recursive: true });
let shotN = 0;
const DOC_SHOTS = ['analyst-overview', 'operator-report-form-422', 'analyst-source', 'overseer-case', 'auditor-verified'];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'yagura-browser-'));
const tw = new Tower(yagura, work, tlsDir);
// The tower serves the dashboard's files itself (yagura tower --web DIR).
await tw.start(dist);
const front = { url: tw.url };
console.log(`tower and dashboard at ${tw.url}`);

let browser;
try {
  const demo = await seed(tw);

  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });

  // A browser context per person: their own cookies and storage.
  async function as(who) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ja-JP', timezoneId: 'Asia/Tokyo', ignoreHTTPSErrors: !!tlsDir });
    const page = await ctx.newPage();
    page.setDefaultTimeout(15000);
    page.on('pageerror', e => check(false, `${who}: no script error in the page: ${e.message}`));
    await page.goto(`${front.url}/#/login`);
    await page.waitForSelector('h1');
    const u = demo.users[who];
    await page.fill('input[name=username]', who);
    await page.fill('input[name=password]', u.password);
    await page.click('form button[type=submit]');
    await page.waitForSelector('[data-testid=whoami]');
    return { page, ctx, who };
  }

  // Until the page shown is the one for the address, fully loaded.
  async function settle(page) {
    await page.waitForFunction(() => {
      const m = document.querySelector('main');
      return m && m.dataset.route === (location.hash || '#/overview') && !m.hasAttribute('aria-busy') && !document.querySelector('.loading');
    });
    await page.waitForTimeout(150); // a chart draws on the next frame
  }

  // To a page by its address; the same address again shows it anew.
  async function go(s, hash) {
    await s.page.evaluate(h => new Promise(resolve => {
      if (location.hash === h) {
        window.dispatchEvent(new HashChangeEvent('hashchange'));
        resolve();
        return;
      }
      window.addEventListener('hashchange', () => setTimeout(resolve, 0), { once: true });
      location.hash = h;
    }), hash);
    await settle(s.page);
  }

  // axe-core on the page as it is now, and a screenshot of it.
  async function audit(s, name) {
    await settle(s.page);
    // Evaluated through the DevTools protocol: the page's CSP (scripts from
    // the tower only) stays as the tower sends it.
    if (!(await s.page.evaluate(() => typeof window.axe !== 'undefined'))) await s.page.evaluate(axeSource);
    const v = await s.page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map(x => ({ id: x.id, impact: x.impact, help: x.help, nodes: x.nodes.slice(0, 3).map(n => n.target.join(' ')) }));
    });
    const bad = v.filter(x => x.impact === 'serious' || x.impact === 'critical');
    // A part the page left out must not show up as the word "null".
    const stray = await s.page.evaluate(() => /(^|\n)\s*(null|undefined|\[object Object\])\s*(\n|$)/.test(document.body.innerText));
    check(!stray, `${name} (${s.who}) shows no "null", "undefined" or "[object Object]"`);
    check(bad.length === 0, `axe: ${name} (${s.who}) has no serious or critical violation${bad.length ? `: ${JSON.stringify(bad)}` : ''}`);
    shotN += 1;
    await s.page.screenshot({ path: path.join(shotsDir, `${String(shotN).padStart(2, '0')}-${name}.png`), fullPage: true });
    // --docs DIR: the pages docs/dashboard.md shows, as a screen shows them.
    if (args.docs && DOC_SHOTS.includes(name)) await s.page.screenshot({ path: path.join(args.docs, `${name}.png`) });
  }

  const text = (s, sel) => s.page.locator(sel).first().innerText();
  const count = (s, sel) => s.page.locator(sel).count();

  // ---- the login page -------------------------------------------------
  {
    const ctx = await browser.newContext({ locale: 'ja-JP', ignoreHTTPSErrors: !!tlsDir });
    const page = await ctx.newPage();
    await page.goto(`${front.url}/`);
    await page.waitForSelector('h1');
    check((await page.locator('h1').innerText()) === 'ログイン', 'the dashboard opens on the login page, in Japanese');
    const s = { page, ctx, who: 'nobody' };
    {
      await page.fill('input[name=username]', 'op1');
      await page.fill('input[name=password]', 'wrong password');
      await page.click('form button[type=submit]');
      await page.waitForSelector('main .error');
      check(/違います/.test(await page.locator('main .error').first().innerText()), 'a wrong password is refused with a message');
    }
    // Guessing is slowed: past five failures the tower answers 429 with
    // Retry-After, and the page says how long to wait (for a name of its
    // own: it stays locked for 15 minutes).
    const g = await tw.must('POST', '/api/v1/users', { name: 'guessed', role: 'analyst' }, tw.admin);
    await tw.must('PUT', `/api/v1/users/${g.id}/password`, { password: 'the right one, at last' }, tw.admin, [200, 204]);
    for (let i = 0; i < 6; i++) {
      await page.fill('input[name=username]', 'guessed');
      await page.fill('input[name=password]', `guess number ${i}`);
      await page.click('form button[type=submit]');
      await page.waitForFunction(n => document.querySelectorAll('main .error').length === 1 && !document.querySelector('form button[disabled]'), i);
    }
    const slowed = await page.locator('main .error').first().innerText();
    check(/試行回数が多すぎます。\d+分.*後に/.test(slowed), `repeated wrong passwords are slowed down, with the wait: ${slowed}`);
    await audit(s, 'login');
    // From the keyboard: on a fresh load the first Tab reaches the skip
    // link, which leads to main.
    const fresh = await ctx.newPage();
    await fresh.goto(`${front.url}/#/login`);
    await fresh.waitForSelector('h1');
    await fresh.keyboard.press('Tab');
    check(await fresh.evaluate(() => document.activeElement?.classList.contains('skip')), 'the first Tab reaches the skip link');
    await fresh.keyboard.press('Enter');
    check(await fresh.evaluate(() => document.activeElement?.id === 'main' && location.hash === '#/login'), 'the skip link leads to the main content, the page staying');
    await ctx.close();
  }

  // ---- an operator files a report -------------------------------------
  let filed;
  {
    const s = await as('op1');
    const cookie = (await s.ctx.cookies()).find(c => c.name === 'yagura_session');
    check(cookie && cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.secure === !!tlsDir,
      `the session cookie is HttpOnly, SameSite=Strict${tlsDir ? ' and Secure' : ''}: ${JSON.stringify(cookie && { httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, secure: cookie.secure })}`);
    check(!(await s.page.evaluate(() => document.cookie.includes('yagura_session'))), 'no script in the page can read the session cookie');
    await audit(s, 'operator-overview');
    await go(s, '#/reports');
    check(await count(s, `a[href="#/reports/${demo.reports.r1}"]`) === 1, 'the operator lists its own reports');
    await audit(s, 'operator-reports');
    await go(s, '#/reports/new');
    await s.page.fill('textarea[name=summary]', 'Ticket gates at Umeda station unreachable; DDoS from many sources');
    await s.page.selectOption('select[name=category]', 'ddos');
    await s.page.fill('input[name=detected_at]', '2099-01-01T09:00');
    await s.page.fill('textarea[name=addresses]', '198.51.100.7\n203.0.113.0/29');
    await s.page.click('form button[type=submit]');
    await s.page.waitForSelector('[data-field="report.detected_at"][aria-invalid=true]');
    const errId = await s.page.getAttribute('[data-field="report.detected_at"]', 'id');
    const errText = await text(s, `#${errId}-err`);
    check(/future/.test(errText), `the API's 422 is shown at the detection time's field: "${errText}"`);
    check(await s.page.evaluate(() => document.activeElement?.name) === 'detected_at', 'the first bad field has the focus');
    await audit(s, 'operator-report-form-422');
    const localNow = await s.page.evaluate(() => {
      const d = new Date(Date.now() - 3600e3 + 9 * 3600e3); // an hour ago, in Tokyo
      return d.toISOString().slice(0, 16);
    });
    await s.page.fill('input[name=detected_at]', localNow);
    await s.page.click('form button[type=submit]');
    await s.page.waitForFunction(() => /^#\/reports\/\d+$/.test(location.hash));
    filed = Number((await s.page.evaluate(() => location.hash)).split('/').pop());
    await settle(s.page);
    check(filed > 0 && /Umeda/.test(await text(s, 'main')), `the report is filed (#${filed}) and shown`);
    await audit(s, 'operator-report-detail');
    // An update to the detailed stage, then two versions in the timeline.
    await go(s, `#/reports/${filed}/update`);
    await s.page.selectOption('select[name=stage]', 'detailed');
    await s.page.fill('textarea[name=affected]', 'ticket gate controllers\nasset:1');
    await s.page.fill('input[name=attack_vector]', 'UDP reflection through open resolvers');
    await s.page.click('form button[type=submit]');
    await s.page.waitForFunction(n => location.hash === `#/reports/${n}`, filed);
    await settle(s.page);
    check(await count(s, 'ol.timeline > li') === 2, 'the report shows both versions in its timeline');
    // The final report of the ransomware incident, from the form: the
    // details the form has no control for are carried over.
    await go(s, `#/reports/${demo.reports.r2}/update`);
    await s.page.selectOption('select[name=stage]', 'final');
    await s.page.fill('textarea[name=response_taken]', 'Appliance patched and isolated; servers rebuilt from backups');
    await s.page.fill('input[name=services]', 'ticketing');
    await s.page.fill('input[name=users]', '180000');
    await s.page.fill('input[name=outage]', '540');
    await s.page.click('form button[type=submit]');
    await s.page.waitForFunction(n => location.hash === `#/reports/${n}`, demo.reports.r2);
    await settle(s.page);
    const r2 = (await tw.call('GET', `/api/v1/reports/${demo.reports.r2}`, undefined, demo.users.op1.token)).body;
    check(r2.stage === 'final' && r2.report?.category_details?.encrypted_systems === 14 && r2.report?.impact?.users_affected === 180000,
      `the final version from the form keeps the earlier details: ${JSON.stringify(r2.report?.category_details)}`);
    check(await count(s, 'ol.timeline > li') === 3, 'the ransomware report shows its three versions');
    await go(s, '#/intel');
    await audit(s, 'operator-intel');
    const coll = await s.page.locator('main table a').first().getAttribute('href');
    if (check(!!coll, 'the operator sees TAXII collections')) {
      await go(s, coll);
      await audit(s, 'operator-intel-collection');
    }
    await go(s, '#/alerts');
    await audit(s, 'operator-alerts');
    // English, and another time zone, for this user.
    await go(s, '#/settings');
    await audit(s, 'operator-settings');
    await s.page.selectOption('select[name=language]', 'en');
    await s.page.selectOption('select[name=time_zone]', 'Europe/Paris');
    await s.page.click('form button[type=submit]');
    await s.page.waitForFunction(() => document.documentElement.lang === 'en');
    await go(s, `#/reports/${filed}`);
    check(/^Report #/.test(await text(s, 'h1')), 'labels follow the language chosen (English)');
    check(/CET|GMT\+1/.test(await text(s, 'dl.facts')), 'times are shown in the zone chosen (Europe/Paris)');
    await audit(s, 'operator-report-detail-en');
    // Logging out ends the session: the pages ask for a login again.
    await s.page.click('header .who button');
    await s.page.waitForFunction(() => location.hash.startsWith('#/login'));
    await s.page.evaluate(() => { location.hash = '#/reports'; });
    await s.page.waitForFunction(() => location.hash.startsWith('#/login'));
    const after = await s.page.evaluate(async () => (await fetch('/api/v1/session')).status);
    check(after === 401, `after logout the session is gone (GET /api/v1/session: ${after})`);
    await s.ctx.close();
    // The language and zone are the user's, kept by the tower.
    const again = await as('op1');
    await go(again, '#/overview');
    check((await text(again, 'h1')) === 'Overview', 'the next login is in the language the user chose');
    await again.ctx.close();
  }

  // ---- the regulator of the sector sees it; the other operator does not --
  {
    const s = await as('mlit');
    await go(s, '#/reports');
    check(await count(s, `a[href="#/reports/${filed}"]`) === 1, 'the railways regulator lists the railway operator\'s new report');
    check(await count(s, `a[href="#/reports/${demo.reports.r3}"]`) === 0, 'the railways regulator does not list the electricity operator\'s report');
    await audit(s, 'regulator-reports');
    // The tower filters: the detailed reports only.
    await s.page.selectOption('select[name=stage]', 'detailed');
    await s.page.click('main form.filters button[type=submit]');
    await s.page.waitForFunction(() => location.hash.includes('stage=detailed'));
    await settle(s.page);
    check(await count(s, `a[href="#/reports/${filed}"]`) === 1 && await count(s, `a[href="#/reports/${demo.reports.r1}"]`) === 0,
      'the stage filter lists the detailed report and not the prompt one');
    await go(s, `#/reports/${filed}`);
    check(/Umeda/.test(await text(s, 'main')), 'the regulator reads the report');
    await audit(s, 'regulator-report-detail');
    await go(s, '#/overview');
    await audit(s, 'regulator-overview');
    await s.ctx.close();
  }
  {
    const s = await as('op2');
    await go(s, '#/reports');
    check(await count(s, `a[href="#/reports/${filed}"]`) === 0, 'another operator does not list it');
    check(await count(s, `a[href="#/reports/${demo.reports.r3}"]`) === 1, 'another operator lists its own report');
    await go(s, `#/reports/${filed}`);
    check(await count(s, 'main .error') === 1 && !/Umeda/.test(await text(s, 'main')), 'another operator opening it is told it is not found');
    await audit(s, 'other-operator-report-404');
    // A password change: this browser goes on (in a new session), the old
    // password no longer opens one, the new one does.
    await go(s, '#/settings');
    const fresh = 'a new passphrase for op2';
    await s.page.fill('input[name=current]', demo.users.op2.password);
    await s.page.fill('input[name=new]', fresh);
    await s.page.click('form[aria-labelledby=pw-h] button[type=submit]');
    await s.page.waitForSelector('form[aria-labelledby=pw-h] .ok, form[aria-labelledby=pw-h] .error');
    check(await count(s, 'form[aria-labelledby=pw-h] .ok') === 1, `the operator changes its password: ${await text(s, 'form[aria-labelledby=pw-h]')}`);
    await go(s, '#/reports');
    check(await count(s, `a[href="#/reports/${demo.reports.r3}"]`) === 1, 'the browser that changed it goes on');
    const csrfOk = await s.page.evaluate(async () => {
      const r = await fetch('/api/v1/session');
      return r.status === 200 && (await r.json()).csrf;
    });
    check(!!csrfOk, 'and its new session has a CSRF token');
    const old = await tw.call('POST', '/api/v1/session', { name: 'op2', password: demo.users.op2.password });
    check(old.status === 401, `the old password no longer opens a session (${old.status})`);
    demo.users.op2.password = fresh;
    await s.ctx.close();
    const again = await as('op2');
    check(await count(again, '[data-testid=whoami]') === 1, 'the new password does');
    await again.ctx.close();
  }

  // ---- an analyst proposes a case, an overseer approves it ------------
  const target = '198.51.100.7';
  let caseId;
  let monId;
  let before;
  {
    const s = await as('analyst1');
    await go(s, '#/overview');
    check(await count(s, 'main canvas') >= 2, 'the overview draws the alerts chart and the reports chart');
    check(/sensor1\s+受信中/.test(await text(s, 'main')), 'the overview shows the sensor sending');
    check(/198\.51\.100\.7/.test(await text(s, 'main')), 'the overview lists the top sources');
    await audit(s, 'analyst-overview');
    await go(s, '#/countermeasures');
    before = await text(s, 'section[data-file="blocklist.txt"]');
    check(!before.includes(target), 'the blocklist does not name the source before the case');
    await audit(s, 'analyst-countermeasures-before');
    await go(s, '#/sources');
    await audit(s, 'analyst-sources');
    await s.page.click(`main a[href="#/sources/${target}"]`);
    await settle(s.page);
    check(/brute force: ssh/.test(await text(s, 'main')), 'the source page shows its evidence');
    check(await count(s, 'main table a[href^="#/alerts?dest_ip="]') >= 1, 'the source page lists its victims');
    await audit(s, 'analyst-source');
    await s.page.selectOption('select[name=action]', 'blocklist');
    await s.page.fill('textarea[name=justification]', 'SSH brute force against railway ticketing, reported by Kansai Rail');
    await s.page.fill('input[name=duration]', '2d');
    await s.page.click('form[aria-labelledby=propose-h] button[type=submit]');
    await s.page.waitForFunction(() => /^#\/cases\/\d+$/.test(location.hash));
    caseId = Number((await s.page.evaluate(() => location.hash)).split('/').pop());
    await settle(s.page);
    check(caseId > 0 && await count(s, `main a[href="#/sources/${target}"]`) >= 1, `the case (#${caseId}) is proposed with the source as evidence`);
    await audit(s, 'analyst-case');
    await go(s, '#/cases');
    await audit(s, 'analyst-cases');
    await go(s, '#/cases/new');
    await audit(s, 'analyst-case-form');
    await go(s, `#/reports/${demo.reports.r2}`);
    await s.page.selectOption('select[name=share_tlp]', 'TLP:AMBER+STRICT');
    await s.page.click('form[aria-labelledby=share-h] button[type=submit]');
    await s.page.waitForSelector('form[aria-labelledby=share-h] .ok, form[aria-labelledby=share-h] .error');
    check(await count(s, 'form[aria-labelledby=share-h] .ok') === 1, `an analyst shares a report's indicators: ${await text(s, 'form[aria-labelledby=share-h]')}`);
    await audit(s, 'analyst-report-shared');
    await go(s, '#/intel');
    const indicators = await s.page.locator('main table a', { hasText: /Indicators|指標/ }).first().getAttribute('href').catch(() => null);
    if (check(!!indicators, 'the analyst sees the indicators collection')) {
      await go(s, `${indicators}?type=indicator`);
      check(/198\.51\.100\.7/.test(await text(s, 'main table')) && /TLP:AMBER\+STRICT/.test(await text(s, 'main table')),
        'the shared indicator is in the collection, marked TLP:AMBER+STRICT');
      await audit(s, 'analyst-indicators');
    }
    await go(s, '#/alerts');
    await audit(s, 'analyst-alerts');
    await go(s, '#/monitoring');
    await audit(s, 'analyst-monitoring');
    await go(s, '#/monitoring/new');
    await audit(s, 'analyst-monitoring-form');
    await s.page.fill('input[name=sensor]', 'sensor1');
    await s.page.fill('textarea[name=prefixes]', '203.0.113.0/24\n192.0.2.0/24');
    await s.page.fill('textarea[name=purpose]', 'Watch the operators’ registered networks for the brute-force campaign');
    await s.page.click('main form button[type=submit]');
    await s.page.waitForFunction(() => /^#\/monitoring\/\d+$/.test(location.hash));
    monId = Number((await s.page.evaluate(() => location.hash)).split('/').pop());
    await settle(s.page);
    check(monId > 0 && /203\.0\.113\.0\/24/.test(await text(s, 'dl.facts')), `a monitoring authorization is proposed (#${monId})`);
    await s.ctx.close();
  }
  {
    const s = await as('overseer1');
    await go(s, '#/cases');
    check(await count(s, `main a[href="#/cases/${caseId}"]`) === 1, 'the case waits in the overseer\'s approval queue');
    await audit(s, 'overseer-queue');
    await go(s, `#/cases/${caseId}`);
    check(/brute force|198\.51\.100\.7/.test(await text(s, 'main')), 'the overseer sees the evidence');
    await audit(s, 'overseer-case');
    await s.page.fill('textarea[name=reason]', 'Evidence reviewed: sustained brute force against critical computers');
    await s.page.click('button[value=approve]');
    let state = '';
    for (let i = 0; i < 60 && state !== 'active'; i++) {
      await s.page.waitForTimeout(500);
      const r = await tw.call('GET', `/api/v1/cases/${caseId}`, undefined, demo.users.overseer1.token);
      state = r.body?.case?.state;
    }
    check(state === 'active', `the approved case becomes active (${state})`);
    await go(s, `#/cases/${caseId}`);
    check(/残り|in /.test(await text(s, 'dl.facts')), 'the active case shows its expiry countdown');
    await go(s, '#/countermeasures');
    const after = await text(s, 'section[data-file="blocklist.txt"]');
    check(after.includes(target) && after !== before, 'the countermeasure files change: the blocklist names the source');
    await audit(s, 'overseer-countermeasures-after');
    await go(s, '#/monitoring');
    check(await count(s, `main a[href="#/monitoring/${monId}"]`) === 1, 'the authorization waits in the overseer\'s queue');
    await go(s, `#/monitoring/${monId}`);
    await audit(s, 'overseer-authorization');
    await s.page.fill('textarea[name=reason]', 'Limited to the registered networks; purpose stated');
    await s.page.click('button[value=approve]');
    let mstate = '';
    for (let i = 0; i < 40 && !['approved', 'active'].includes(mstate); i++) {
      await s.page.waitForTimeout(250);
      mstate = (await tw.call('GET', `/api/v1/monitoring/authorizations/${monId}`, undefined, demo.users.overseer1.token)).body?.authorization?.state;
    }
    check(['approved', 'active'].includes(mstate), `the overseer's approval takes effect (${mstate})`);
    await s.ctx.close();
  }

  // ---- an auditor verifies a log entry ---------------------------------
  {
    const s = await as('auditor1');
    await go(s, '#/audit');
    // A change after the checkpoint the page has just seen, so that the
    // one signed now is larger and must be proved to extend it.
    await tw.must('POST', '/api/v1/orgs', { name: 'Osaka Gas', sector: 'gas' }, tw.admin);
    await s.page.click('text=/チェックポイントに署名/');
    await settle(s.page);
    const st = await text(s, '[data-testid=checkpoint-status]');
    check(/検証しました/.test(st), `the checkpoint's signature verifies in the browser: ${st}`);
    const cons = await text(s, '[data-testid=consistency]');
    const [, was, now] = /サイズ (\d+) の木は、このサイズ (\d+)/.exec(cons) || [];
    check(await s.page.getAttribute('[data-consistent]', 'data-consistent') === 'true' && Number(was) < Number(now),
      `the new checkpoint extends the one seen before (consistency proof): ${cons}`);
    await audit(s, 'auditor-audit');
    await s.page.locator('main table button').first().click();
    await s.page.waitForSelector('[data-verified]');
    check(await s.page.getAttribute('[data-verified]', 'data-verified') === 'true', 'the newest entry\'s inclusion proof verifies in the browser');
    await s.page.fill('input[name=index]', '0');
    await s.page.click('form[aria-label="エントリーを検証"] button');
    await s.page.waitForFunction(() => document.querySelector('[data-verified]') && /エントリー 0 /.test(document.querySelector('[data-testid=verify-result]').innerText));
    check(await s.page.getAttribute('[data-verified]', 'data-verified') === 'true', 'entry 0\'s inclusion proof verifies too');
    await audit(s, 'auditor-verified');
    // A checkpoint remembered with another root for an earlier size: the
    // log cannot prove this one extends it, and the page says so.
    await s.page.evaluate(() => {
      const seen = JSON.parse(localStorage.getItem('yagura.audit.checkpoint'));
      seen.size = Math.max(1, seen.size - 3);
      seen.root = btoa(String.fromCharCode(...new Uint8Array(32).fill(9)));
      localStorage.setItem('yagura.audit.checkpoint', JSON.stringify(seen));
    });
    await s.page.reload();
    await settle(s.page);
    check(await s.page.getAttribute('[data-consistent]', 'data-consistent') === 'false' && /分岐/.test(await text(s, '[data-testid=consistency]')),
      'a checkpoint that does not extend the one seen before is reported as a split view');
    await go(s, '#/cases');
    await audit(s, 'auditor-cases');
    await s.ctx.close();
  }
} catch (e) {
  check(false, `the scenarios ran to the end: ${e.stack || e}`);
} finally {
  if (browser) await browser.close();
  const rc = await tw.stop();
  check(rc === 0, `the tower stops cleanly (exit ${rc})`);
  if (failed) console.log(`tower log: ${path.join(work, 'tower.log')}`);
  else fs.rmSync(work, { recursive: true, force: true });
  console.log(`screenshots: ${shotsDir}`);
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
