import { h, add } from '../dom.js';
import { t, term, fmtTime, fmtNumber } from '../i18n.js';
import * as api from '../api.js';
import { title, section, table, pager, errorBox, dl, load, field, select, showFieldErrors, lines } from '../ui.js';
import { session } from '../session.js';

// The ranking gives detectors and indicators as objects (name: count).
const entries = x => (Array.isArray(x) ? x.map(v => [typeof v === 'string' ? v : JSON.stringify(v), null]) : Object.entries(x || {}));
const names = x => entries(x).map(([k, v]) => (v === null ? k : `${k} (${v})`)).join(', ');

export const ACTIONS = ['sinkhole', 'rtbh', 'flowspec', 'blocklist', 'notice'];

export async function sourcesPage(main, { query }) {
  const limit = query.get('limit') || '50';
  add(main, title(t('sources.title')));
  try {
    const page = await api.get('/api/v1/sources', { limit });
    add(main, h('p', { class: 'hint' }, t('sources.ranking', { rule: page.ranking || '' }),
      page.pending_alerts ? ` ${t('sources.pending', { n: fmtNumber(page.pending_alerts) })}` : ''));
    add(main, table(t('sources.title'), sourceColumns(), page.sources, { empty: t('overview.no_sources') }));
    if (page.more) {
      const q = new URLSearchParams(query);
      q.set('limit', String(Math.min(1000, Number(limit) * 2)));
      add(main, h('nav', { class: 'pager', 'aria-label': t('page.label') }, h('a', { href: `#/sources?${q}` }, t('sources.more'))));
    }
  } catch (e) {
    add(main, errorBox(e));
  }
}

function sourceColumns() {
  return [
    { label: t('col.rank'), value: s => String(s.rank), class: 'num' },
    { label: t('col.source'), value: s => h('a', { href: `#/sources/${encodeURIComponent(s.ip)}` }, s.ip) },
    { label: t('col.score'), value: s => String(s.score), class: 'num' },
    { label: t('col.role'), value: s => term('srcrole', s.role) },
    { label: t('col.alerts'), value: s => fmtNumber(s.alerts), class: 'num' },
    { label: t('col.victims'), value: s => fmtNumber(s.victims), class: 'num' },
    { label: t('col.critical'), value: s => fmtNumber(s.critical_victims), class: 'num' },
    { label: t('col.detectors'), value: s => names(s.detectors) },
    { label: t('col.last_seen'), value: s => fmtTime(s.last_seen) },
  ];
}

export async function sourcePage(main, { params: [ip], query }) {
  add(main, title(t('source.title', { ip })));
  // The ranking has no route per source: the source is found in its page.
  const summary = h('div');
  add(main, summary);
  await load(summary, async () => {
    const page = await api.get('/api/v1/sources', { limit: 1000 });
    const s = page.sources.find(x => x.ip === ip);
    if (!s) return h('p', { class: 'empty' }, t('source.not_ranked'));
    return h('div', null,
      dl([
        [t('col.rank'), String(s.rank)], [t('col.score'), String(s.score)], [t('col.role'), term('srcrole', s.role)],
        [t('col.alerts'), fmtNumber(s.alerts)], [t('col.victims'), fmtNumber(s.victims)],
        [t('col.critical'), fmtNumber(s.critical_victims)], [t('col.hosts'), fmtNumber(s.hosts)],
        [t('col.ports'), fmtNumber(s.ports)], [t('col.sessions'), fmtNumber(s.sessions)],
        [t('col.packets'), fmtNumber(s.packets)], [t('col.sensors'), fmtNumber(s.sensors)],
        [t('col.detectors'), names(s.detectors) || '—'],
        [t('col.sectors'), (s.sectors || []).map(x => term('sector', x)).join(', ') || '—'],
        [t('col.first_seen'), fmtTime(s.first_seen)], [t('col.last_seen'), fmtTime(s.last_seen)],
      ]),
      section(t('source.indicators'), entries(s.indicators).length
        ? h('ul', { class: 'plain' }, entries(s.indicators).map(([k, v]) => h('li', null, h('code', null, k), v === null ? '' : ` (${typeof v === 'object' ? JSON.stringify(v) : v})`)))
        : h('p', { class: 'empty' }, t('source.no_indicators'))),
      section(t('source.evidence'),
        table(t('source.signatures'), [
          { label: t('col.signature_id'), value: g => String(g.signature_id), class: 'num' },
          { label: t('col.signature'), value: g => g.signature || '—' },
          { label: t('col.alerts'), value: g => fmtNumber(g.alerts), class: 'num' },
        ], s.evidence?.signatures || []),
        (s.evidence?.reports || []).length ? h('p', null, t('source.reports'), ' ',
          s.evidence.reports.map(r => [h('a', { href: `#/reports/${r.id ?? r}` }, `#${r.id ?? r}`), ' '])) : null));
  });

  const alertsSec = section(t('source.alerts'));
  add(main, alertsSec);
  await load(alertsSec, async () => {
    const page = await api.get('/api/v1/alerts', { src_ip: ip, limit: 50, before: query.get('before') });
    const victims = new Map();
    for (const a of page.alerts) victims.set(a.dest_ip, (victims.get(a.dest_ip) || 0) + 1);
    return h('div', null, alertTable(page.alerts), pager(query, page),
      section(t('source.victims'), table(t('source.victims'), [
        { label: t('col.dest'), value: ([d]) => h('a', { href: `#/alerts?dest_ip=${encodeURIComponent(d)}` }, d) },
        { label: t('col.alerts'), value: ([, n]) => fmtNumber(n), class: 'num' },
      ], [...victims.entries()])));
  });

  if (!session.user || session.user.role === 'analyst') add(main, proposeForm(ip));
}

function proposeForm(ip) {
  const action = select(ACTIONS.map(a => [a, term('action', a)]), 'blocklist', { name: 'action' });
  const just = h('textarea', { name: 'justification', rows: 3, maxlength: 4096 });
  const duration = h('input', { type: 'text', name: 'duration', value: '24h' });
  const proto = select([['', '—'], ['tcp', 'TCP'], ['udp', 'UDP'], ['icmp', 'ICMP']], '', { name: 'proto' });
  const ports = h('input', { type: 'text', name: 'ports' });
  const contact = h('input', { type: 'email', name: 'contact' });
  const msg = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'propose-h' },
    h('h2', { id: 'propose-h' }, t('source.propose')), msg,
    field(t('case.action'), action, { field: 'action', required: true }),
    field(t('case.justification'), just, { field: 'justification', required: true }),
    field(t('case.duration'), duration, { field: 'duration', required: true, hint: t('case.duration_hint') }),
    field(t('case.proto'), proto, { field: 'proto' }),
    field(t('case.ports'), ports, { field: 'ports', hint: t('rf.comma_hint') }),
    field(t('case.contact'), contact, { field: 'contact', hint: t('case.contact_hint') }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('source.propose_submit'))));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    msg.textContent = '';
    const body = { action: action.value, justification: just.value.trim(), duration: duration.value.trim() };
    if (proto.value) body.proto = proto.value;
    const ps = lines(ports.value).map(Number);
    if (ps.length) body.ports = ps;
    if (contact.value.trim()) body.contact = contact.value.trim();
    if (!body.justification) {
      showFieldErrors(form, [{ field: 'justification', reason: t('v.required') }]);
      return;
    }
    try {
      const res = await api.post(`/api/v1/sources/${encodeURIComponent(ip)}/case`, body);
      location.hash = `#/cases/${res.case.id}`;
    } catch (e) {
      add(msg, errorBox(e, showFieldErrors(form, e.fields)));
    }
  });
  return form;
}

export function alertTable(alerts) {
  return table(t('alerts.title'), [
    { label: t('col.time'), value: a => fmtTime(a.time) },
    { label: t('col.source'), value: a => h('a', { href: `#/sources/${encodeURIComponent(a.src_ip)}` }, a.src_ip) },
    { label: t('col.dest'), value: a => `${a.dest_ip}${a.dest_port ? `:${a.dest_port}` : ''}` },
    { label: t('col.proto'), value: a => a.proto || '—' },
    { label: t('col.severity'), value: a => String(a.severity ?? '—'), class: 'num' },
    { label: t('col.signature'), value: a => `${a.signature_id} ${a.signature || ''}` },
    { label: t('col.asset'), value: a => (a.asset_id ? `#${a.asset_id}` : '—') },
    { label: t('col.sensor'), value: a => `#${a.sensor_id}` },
    // What the sensor sent as evidence, as it sent it (content-free metadata).
    { label: t('col.record'), value: a => (a.record ? h('details', { class: 'record' }, h('summary', null, t('alerts.show_record')),
      h('pre', null, JSON.stringify({ alert: a.record.alert, evidence: a.record.evidence, flow: a.record.flow }, null, 1))) : '—') },
  ], alerts, { empty: t('alerts.none') });
}

export async function alertsPage(main, { query }) {
  add(main, title(t('alerts.title')));
  const inputs = {
    since: h('input', { type: 'text', name: 'since', value: query.get('since') || '', placeholder: '2026-12-01T00:00:00Z' }),
    until: h('input', { type: 'text', name: 'until', value: query.get('until') || '', placeholder: '2026-12-02T00:00:00Z' }),
    src_ip: h('input', { type: 'text', name: 'src_ip', value: query.get('src_ip') || '' }),
    dest_ip: h('input', { type: 'text', name: 'dest_ip', value: query.get('dest_ip') || '' }),
    signature_id: h('input', { type: 'number', name: 'signature_id', min: 1, value: query.get('signature_id') || '' }),
  };
  const labels = { since: t('alerts.since'), until: t('alerts.until'), src_ip: t('col.source'), dest_ip: t('col.dest'), signature_id: t('col.signature_id') };
  const form = h('form', { class: 'filters', 'aria-label': t('filters.label') },
    Object.entries(inputs).map(([k, el]) => field(labels[k], el, { field: k })),
    h('button', { type: 'submit' }, t('filters.apply')));
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, el] of Object.entries(inputs)) if (el.value.trim()) q.set(k, el.value.trim());
    location.hash = `#/alerts?${q}`;
  });
  add(main, form);
  const q = Object.fromEntries(Object.keys(inputs).map(k => [k, query.get(k) || undefined]));
  try {
    const page = await api.get('/api/v1/alerts', { ...q, limit: 100, before: query.get('before') });
    add(main, alertTable(page.alerts), pager(query, page));
  } catch (e) {
    add(main, errorBox(e));
  }
}
