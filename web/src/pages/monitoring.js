import { h, add } from '../dom.js';
import { t, term, fmtTime, localInputToUTC, utcToLocalInput, zone } from '../i18n.js';
import * as api from '../api.js';
import { title, section, table, pager, errorBox, dl, field, select, showFieldErrors, lines, badge } from '../ui.js';
import { session } from '../session.js';
import { countdown } from './overview.js';
import { decisionForm, rerender } from './cases.js';

const STATES = ['proposed', 'approved', 'active', 'expired', 'revoked', 'rejected', 'withdrawn'];
const role = () => session.user?.role;

export async function authorizationsPage(main, { query }) {
  const state = query.has('state') ? query.get('state') : (role() === 'overseer' ? 'proposed' : '');
  add(main, title(t('mon.title'), !role() || role() === 'analyst' ? h('a', { class: 'button', href: '#/monitoring/new' }, t('mon.new')) : null));
  const sel = select([['', t('filters.all')], ...STATES.map(s => [s, term('state', s)])], state, { name: 'state', id: 'f-mstate' });
  const form = h('form', { class: 'filters', 'aria-label': t('filters.label') },
    h('div', { class: 'field inline' }, h('label', { for: 'f-mstate' }, t('col.state')), sel),
    h('button', { type: 'submit' }, t('filters.apply')));
  form.addEventListener('submit', ev => { ev.preventDefault(); location.hash = `#/monitoring?state=${sel.value}`; });
  add(main, form);
  try {
    const page = await api.get('/api/v1/monitoring/authorizations', { state: state || undefined, limit: 50, before: query.get('before') });
    add(main, table(t('mon.title'), [
      { label: t('col.id'), value: a => h('a', { href: `#/monitoring/${a.id}` }, `#${a.id}`) },
      { label: t('col.state'), value: a => badge('state', a.state) },
      { label: t('col.sensor'), value: a => a.sensor },
      { label: t('mon.prefixes'), value: a => (a.prefixes || []).join(', ') || '—' },
      { label: t('col.approvals'), value: a => `${a.approvals}/${a.approvals_needed}` },
      { label: t('mon.from'), value: a => fmtTime(a.from) },
      { label: t('col.expires'), value: a => countdown(a.until) },
    ], page.authorizations || []), pager(query, page));
  } catch (e) {
    add(main, errorBox(e));
  }
}

export async function authorizationPage(main, { params: [id] }) {
  let a;
  try {
    a = (await api.get(`/api/v1/monitoring/authorizations/${id}`)).authorization;
  } catch (e) {
    add(main, title(t('mon.one', { id })), errorBox(e));
    return;
  }
  add(main, title(t('mon.one', { id }), badge('state', a.state)));
  add(main, dl([
    [t('col.sensor'), `${a.sensor} (#${a.sensor_id})`], [t('mon.prefixes'), (a.prefixes || []).join(', ') || '—'],
    [t('mon.vlans'), (a.vlans || []).join(', ') || '—'], [t('mon.purpose'), h('p', { class: 'pre' }, a.purpose)],
    [t('mon.from'), fmtTime(a.from)], [t('mon.until'), h('span', null, fmtTime(a.until), ' — ', countdown(a.until))],
    [t('col.approvals'), `${a.approvals}/${a.approvals_needed}`], [t('case.proposed_by'), t('report.by', { id: a.proposed_by })],
  ]));
  add(main, section(t('case.decisions'), table(t('case.decisions'), [
    { label: t('col.time'), value: d => fmtTime(d.at) },
    { label: t('case.decision'), value: d => term('decision', d.decision || d.kind || d.action) },
    { label: t('case.by'), value: d => String(d.by) },
    { label: t('case.reason'), value: d => d.reason || '—' },
  ], a.decisions || [])));
  const acts = [];
  const r = role();
  if (a.state === 'proposed' && (!r || r === 'overseer')) acts.push('approve', 'reject');
  if (a.state === 'proposed' && (!r || r === 'analyst')) acts.push('withdraw');
  if ((a.state === 'approved' || a.state === 'active') && (!r || r === 'analyst' || r === 'overseer')) acts.push('revoke');
  if (acts.length) add(main, decisionForm(`/api/v1/monitoring/authorizations/${id}`, acts, rerender));
}

export async function authorizationFormPage(main) {
  add(main, title(t('mon.new')));
  const sensor = h('input', { type: 'text', name: 'sensor' });
  const prefixes = h('textarea', { name: 'prefixes', rows: 2 });
  const vlans = h('input', { type: 'text', name: 'vlans' });
  const purpose = h('textarea', { name: 'purpose', rows: 3, maxlength: 4096 });
  const until = h('input', { type: 'datetime-local', name: 'until', value: utcToLocalInput(new Date(Date.now() + 7 * 86400e3).toISOString()) });
  const msg = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': t('mon.new') }, msg,
    field(t('col.sensor'), sensor, { field: 'sensor', required: true, hint: t('mon.sensor_hint') }),
    field(t('mon.prefixes'), prefixes, { field: 'prefixes', hint: t('rf.lines_hint') }),
    field(t('mon.vlans'), vlans, { field: 'vlans', hint: t('rf.comma_hint') }),
    field(t('mon.purpose'), purpose, { field: 'purpose', required: true }),
    field(t('mon.until'), until, { field: 'until', required: true, hint: t('rf.tz_hint', { tz: zone() }) }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('case.propose_submit')), h('a', { href: '#/monitoring' }, t('form.cancel'))));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    msg.textContent = '';
    const body = { sensor: sensor.value.trim(), purpose: purpose.value.trim(), until: localInputToUTC(until.value) || until.value };
    const ps = lines(prefixes.value);
    if (ps.length) body.prefixes = ps;
    const vs = lines(vlans.value).map(Number);
    if (vs.length) body.vlans = vs;
    try {
      const res = await api.post('/api/v1/monitoring/authorizations', body);
      location.hash = `#/monitoring/${res.authorization.id}`;
    } catch (e) {
      add(msg, errorBox(e, showFieldErrors(form, e.fields)));
    }
  });
  add(main, form);
}
