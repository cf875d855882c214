import { h, add } from '../dom.js';
import { t, term, fmtTime } from '../i18n.js';
import * as api from '../api.js';
import { title, section, table, pager, errorBox, dl, field, select, showFieldErrors, lines, badge, load } from '../ui.js';
import { session } from '../session.js';
import { countdown } from './overview.js';
import { ACTIONS, alertTable } from './sources.js';

const STATES = ['proposed', 'approved', 'active', 'expired', 'revoked', 'rejected', 'withdrawn'];
const role = () => session.user?.role;
// Shows the page again with what the API now answers (no reload).
export const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));

function evidenceLink(e) {
  const [kind, ...rest] = String(e).split(':');
  const v = rest.join(':');
  if (kind === 'alert') return h('a', { href: `#/alerts?before=${Number(v) + 1}` }, t('case.ev_alert', { id: v }));
  if (kind === 'report') return h('a', { href: `#/reports/${v}` }, t('case.ev_report', { id: v }));
  if (kind === 'source') return h('a', { href: `#/sources/${encodeURIComponent(v)}` }, t('case.ev_source', { ip: v }));
  return String(e);
}

function evidenceSummary(ev) {
  const alerts = ev.filter(e => e.startsWith('alert:')).length;
  return [ev.filter(e => !e.startsWith('alert:')).map(e => [evidenceLink(e), ' ']),
    alerts ? t('case.n_alerts', { n: alerts }) : null];
}

export async function casesPage(main, { query }) {
  // An overseer lands on the approval queue: the proposed cases.
  const state = query.has('state') ? query.get('state') : (role() === 'overseer' ? 'proposed' : '');
  add(main, title(state === 'proposed' ? t('cases.queue') : t('cases.title'),
    !role() || role() === 'analyst' ? h('a', { class: 'button', href: '#/cases/new' }, t('cases.new')) : null,
    h('a', { class: 'button secondary', href: '#/countermeasures' }, t('nav.countermeasures'))));
  const sel = select([['', t('filters.all')], ...STATES.map(s => [s, term('state', s)])], state, { name: 'state', id: 'f-state' });
  const form = h('form', { class: 'filters', 'aria-label': t('filters.label') },
    h('div', { class: 'field inline' }, h('label', { for: 'f-state' }, t('col.state')), sel),
    h('button', { type: 'submit' }, t('filters.apply')));
  form.addEventListener('submit', ev => { ev.preventDefault(); location.hash = `#/cases?state=${sel.value}`; });
  add(main, form);
  try {
    const page = await api.get('/api/v1/cases', { state: state || undefined, limit: 50, before: query.get('before') });
    add(main, table(t('cases.title'), [
      { label: t('col.case'), value: c => h('a', { href: `#/cases/${c.id}` }, `#${c.id}`) },
      { label: t('col.state'), value: c => badge('state', c.state) },
      { label: t('col.action'), value: c => term('action', c.action) },
      { label: t('col.target'), value: c => h('code', null, c.target) },
      { label: t('col.approvals'), value: c => `${c.approvals}/${c.approvals_needed}` },
      { label: t('col.evidence'), value: c => evidenceSummary(c.evidence || []) },
      { label: t('col.created'), value: c => fmtTime(c.created) },
      { label: t('col.expires'), value: c => (c.expires ? countdown(c.expires) : c.duration_seconds ? t('case.for', { d: Math.round(c.duration_seconds / 3600) }) : '—') },
    ], page.cases), pager(query, page));
  } catch (e) {
    add(main, errorBox(e));
  }
}

export async function casePage(main, { params: [id] }) {
  let c;
  try {
    c = (await api.get(`/api/v1/cases/${id}`)).case;
  } catch (e) {
    add(main, title(t('case.title', { id })), errorBox(e));
    return;
  }
  add(main, title(t('case.title', { id }), badge('state', c.state)));
  add(main, dl([
    [t('col.action'), term('action', c.action)], [t('col.target'), h('code', null, c.target)],
    c.proto ? [t('case.proto'), c.proto] : null, c.ports?.length ? [t('case.ports'), c.ports.join(', ')] : null,
    c.contact ? [t('case.contact'), c.contact] : null,
    [t('case.justification'), h('p', { class: 'pre' }, c.justification)],
    [t('col.approvals'), `${c.approvals}/${c.approvals_needed}`],
    [t('case.proposed_by'), t('report.by', { id: c.proposed_by })],
    [t('col.created'), fmtTime(c.created)], [t('case.activated'), fmtTime(c.activated)],
    [t('col.expires'), c.expires ? countdown(c.expires) : '—'], [t('case.ended'), fmtTime(c.ended)],
  ]));
  const ev = c.evidence || [];
  const alertEv = ev.filter(e => e.startsWith('alert:'));
  const evSec = section(t('col.evidence'), ev.length
    ? h('ul', { class: 'evidence' }, ev.filter(e => !e.startsWith('alert:')).map(e => h('li', null, evidenceLink(e))),
      alertEv.length ? h('li', null, t('case.alert_ids'), ' ', alertEv.map((e, i) => [i ? ', ' : '', h('a', { href: `#/alerts?before=${Number(e.slice(6)) + 1}` }, `#${e.slice(6)}`)])) : null)
    : h('p', { class: 'empty' }, t('list.empty')));
  add(main, evSec);
  // The alerts named as evidence, shown in full for whoever decides: the
  // API has no route per alert, so they are found among the target's.
  const ids = new Set((c.evidence || []).filter(e => e.startsWith('alert:')).map(e => Number(e.slice(6))));
  if (ids.size && /^[0-9a-f.:]+$/i.test(c.target)) {
    await load(evSec, async () => {
      const page = await api.get('/api/v1/alerts', { src_ip: c.target, limit: 1000 });
      const found = page.alerts.filter(a => ids.has(a.id));
      return h('div', null, h('h3', null, t('case.evidence_alerts', { n: found.length, of: ids.size })), alertTable(found));
    });
  }
  if (c.action === 'notice' && c.state === 'active') {
    // The abuse notice the case produces, as the hosting provider gets it.
    const nSec = section(t('case.notice'));
    add(main, nSec);
    await load(nSec, async () => {
      const text = await api.get(`/api/v1/countermeasures/notices/${c.id}.txt`, null, { accept: 'text/plain' });
      return h('pre', { class: 'file', tabindex: '0', 'aria-label': t('case.notice') }, String(text));
    });
  }
  add(main, section(t('case.decisions'), table(t('case.decisions'), [
    { label: t('col.time'), value: d => fmtTime(d.at) },
    { label: t('case.decision'), value: d => term('decision', d.decision || d.kind || d.action) },
    { label: t('case.by'), value: d => String(d.by) },
    { label: t('case.reason'), value: d => d.reason || '—' },
  ], c.decisions || [])));

  const acts = [];
  const r = role();
  if (c.state === 'proposed' && (!r || r === 'overseer')) acts.push('approve', 'reject');
  if (c.state === 'proposed' && (!r || r === 'analyst')) acts.push('withdraw');
  if ((c.state === 'approved' || c.state === 'active') && (!r || r === 'analyst' || r === 'overseer')) acts.push('revoke');
  if (acts.length) add(main, decisionForm(`/api/v1/cases/${id}`, acts, rerender));
}

// The reasoned decision an overseer (or the proposer) records.
export function decisionForm(base, acts, done) {
  const reason = h('textarea', { name: 'reason', rows: 2, maxlength: 1000 });
  const msg = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'decide-h' },
    h('h2', { id: 'decide-h' }, t('case.decide')), msg,
    field(t('case.reason'), reason, { field: 'reason', required: true }),
    h('div', { class: 'actions' }, acts.map(a => h('button', { type: 'submit', name: a, value: a, class: a === 'approve' ? '' : 'secondary' }, t(`case.do_${a}`)))));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    msg.textContent = '';
    const act = ev.submitter?.value || acts[0];
    if (!reason.value.trim()) {
      showFieldErrors(form, [{ field: 'reason', reason: t('v.required') }]);
      return;
    }
    try {
      await api.post(`${base}/${act}`, { reason: reason.value.trim() });
      add(msg, h('p', { class: 'ok', role: 'status' }, t('case.done')));
      done();
    } catch (e) {
      add(msg, errorBox(e, showFieldErrors(form, e.fields)));
    }
  });
  return form;
}

export async function caseFormPage(main, { query }) {
  add(main, title(t('cases.new')));
  const action = select(ACTIONS.map(a => [a, term('action', a)]), 'blocklist', { name: 'action' });
  const target = h('input', { type: 'text', name: 'target', value: query.get('target') || '' });
  const just = h('textarea', { name: 'justification', rows: 3, maxlength: 4096 });
  const evidence = h('textarea', { name: 'evidence', rows: 2 }, query.get('evidence') || '');
  const duration = h('input', { type: 'text', name: 'duration', value: '24h' });
  const proto = select([['', '—'], ['tcp', 'TCP'], ['udp', 'UDP'], ['icmp', 'ICMP']], '', { name: 'proto' });
  const ports = h('input', { type: 'text', name: 'ports' });
  const contact = h('input', { type: 'email', name: 'contact' });
  const msg = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': t('cases.new') }, msg,
    field(t('case.action'), action, { field: 'action', required: true }),
    field(t('col.target'), target, { field: 'target', required: true, hint: t('case.target_hint') }),
    field(t('case.justification'), just, { field: 'justification', required: true }),
    field(t('col.evidence'), evidence, { field: 'evidence', hint: t('case.evidence_hint') }),
    field(t('case.duration'), duration, { field: 'duration', required: true, hint: t('case.duration_hint') }),
    field(t('case.proto'), proto, { field: 'proto' }),
    field(t('case.ports'), ports, { field: 'ports', hint: t('rf.comma_hint') }),
    field(t('case.contact'), contact, { field: 'contact', hint: t('case.contact_hint') }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('case.propose_submit')), h('a', { href: '#/cases' }, t('form.cancel'))));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    msg.textContent = '';
    const body = { action: action.value, target: target.value.trim(), justification: just.value.trim(), duration: duration.value.trim() };
    const evs = lines(evidence.value);
    if (evs.length) body.evidence = evs;
    if (proto.value) body.proto = proto.value;
    const ps = lines(ports.value).map(Number);
    if (ps.length) body.ports = ps;
    if (contact.value.trim()) body.contact = contact.value.trim();
    const local = [];
    if (!body.target) local.push({ field: 'target', reason: t('v.required') });
    if (!body.justification) local.push({ field: 'justification', reason: t('v.required') });
    if (local.length) { showFieldErrors(form, local); return; }
    try {
      const res = await api.post('/api/v1/cases', body);
      location.hash = `#/cases/${res.case.id}`;
    } catch (e) {
      add(msg, errorBox(e, showFieldErrors(form, e.fields)));
    }
  });
  add(main, form);
}

const FILES = ['blocklist.txt', 'rpz.zone', 'nftables.nft', 'bird.conf'];
export async function countermeasuresPage(main) {
  add(main, title(t('cm.title')), h('p', { class: 'lead' }, t('cm.lead')));
  for (const name of FILES) {
    const sec = section(name);
    sec.dataset.file = name;
    add(main, sec);
    await load(sec, async () => {
      try {
        const text = await api.get(`/api/v1/countermeasures/${name}`, null, { accept: 'text/plain, application/json' });
        return h('pre', { class: 'file', tabindex: '0', 'aria-label': name }, typeof text === 'string' ? text : JSON.stringify(text, null, 2));
      } catch (e) {
        if (e.status === 404) return h('p', { class: 'empty' }, t('cm.none'));
        throw e;
      }
    });
  }
}
