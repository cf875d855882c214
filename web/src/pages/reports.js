import { h, add } from '../dom.js';
import { t, term, fmtTime, fmtDuration, fmtNumber, localInputToUTC, utcToLocalInput, zone } from '../i18n.js';
import * as api from '../api.js';
import { title, section, table, pager, errorBox, tlp, badge, dl, field, showFieldErrors, select, lines } from '../ui.js';
import { session } from '../session.js';

const STAGES = ['prompt', 'detailed', 'final', 'closed'];
const CATEGORIES = ['ddos', 'ransomware', 'malware', 'unauthorised_access', 'data_breach', 'other'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const TLPS = ['TLP:CLEAR', 'TLP:GREEN', 'TLP:AMBER', 'TLP:AMBER+STRICT', 'TLP:RED'];
const mayFile = () => !session.user || session.user.role === 'operator';

const SECTORS = ['electricity', 'gas', 'petroleum', 'water', 'railways', 'trucking', 'shipping', 'aviation', 'airports',
  'telecommunications', 'broadcasting', 'postal', 'finance', 'credit_cards', 'ports'];
const FILTERS = [['stage', STAGES, 'stage', 'col.stage'], ['category', CATEGORIES, 'category', 'col.category'],
  ['severity', SEVERITIES, 'severity', 'col.severity'], ['sector', SECTORS, 'sector', 'col.sector']];

// The list as the API pages and filters it (?stage, ?category, ?severity,
// ?sector, ?overdue): nothing is filtered here.
export async function reportsPage(main, { query }) {
  const overdue = query.get('overdue') === 'true';
  const limit = query.get('limit') || '50';
  add(main, title(t('reports.title'), mayFile() ? h('a', { class: 'button', href: '#/reports/new' }, t('reports.new')) : null));
  const sels = FILTERS.map(([name, values, kind, label]) => {
    const el = select([['', t('filters.all')], ...values.map(v => [v, term(kind, v)])], query.get(name) || '', { name, id: `f-${name}` });
    return [name, el, h('div', { class: 'field inline' }, h('label', { for: `f-${name}` }, t(label)), el)];
  });
  const ov = h('input', { type: 'checkbox', name: 'overdue', id: 'f-overdue', checked: overdue });
  const lim = select([['20', '20'], ['50', '50'], ['100', '100'], ['500', '500']], limit, { name: 'limit', id: 'f-limit' });
  const filters = h('form', { class: 'filters', 'aria-label': t('filters.label') },
    sels.map(x => x[2]),
    h('div', { class: 'field inline' }, ov, h('label', { for: 'f-overdue' }, t('reports.only_overdue'))),
    h('div', { class: 'field inline' }, h('label', { for: 'f-limit' }, t('filters.per_page')), lim),
    h('button', { type: 'submit' }, t('filters.apply')));
  filters.addEventListener('submit', ev => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [name, el] of sels) if (el.value) q.set(name, el.value);
    if (ov.checked) q.set('overdue', 'true');
    q.set('limit', lim.value);
    location.hash = `#/reports?${q}`;
  });
  add(main, filters);
  try {
    const q = Object.fromEntries(FILTERS.map(([name]) => [name, query.get(name) || undefined]));
    const page = await api.get('/api/v1/reports', { ...q, overdue: overdue ? 'true' : undefined, limit, before: query.get('before') });
    add(main, table(t('reports.title'), [
      { label: t('col.report'), value: r => h('a', { href: `#/reports/${r.id}` }, `#${r.id}`) },
      { label: t('col.org'), value: r => r.org },
      { label: t('col.sector'), value: r => term('sector', r.sector) },
      { label: t('col.stage'), value: r => badge('stage', r.stage) },
      { label: t('col.category'), value: r => term('category', r.category) },
      { label: t('col.severity'), value: r => badge('severity', r.severity) },
      { label: t('col.detected'), value: r => fmtTime(r.detected_at) },
      { label: t('col.updated'), value: r => fmtTime(r.updated) },
      { label: t('col.due'), value: r => (r.overdue ? h('strong', { class: 'late' }, t('reports.late', { d: fmtDuration(r.overdue_by_seconds) })) : fmtTime(r.next_due)) },
    ], page.reports), pager(query, page));
  } catch (e) {
    add(main, errorBox(e));
  }
}

export async function reportPage(main, { params: [id] }) {
  let r;
  try {
    r = await api.get(`/api/v1/reports/${id}`);
  } catch (e) {
    add(main, title(t('report.title', { id })), errorBox(e));
    return;
  }
  const cur = r.report || {};
  add(main, title(t('report.title', { id }), tlp(cur.tlp),
    mayFile() && r.stage !== 'closed' ? h('a', { class: 'button', href: `#/reports/${id}/update` }, t('report.update')) : null));
  add(main, dl([
    [t('col.org'), r.org], [t('col.sector'), term('sector', r.sector)], [t('col.stage'), badge('stage', r.stage)],
    [t('col.category'), term('category', r.category)], [t('col.severity'), badge('severity', r.severity)],
    [t('col.detected'), fmtTime(r.detected_at)], [t('col.updated'), fmtTime(r.updated)],
    [t('col.due'), r.next_due ? fmtTime(r.next_due) : '—'],
    r.overdue ? [t('col.overdue_by'), h('strong', { class: 'late' }, fmtDuration(r.overdue_by_seconds))] : null,
  ]));
  add(main, section(t('report.current'), reportBody(cur)));
  if ((!session.user || session.user.role === 'analyst') && cur.tlp !== 'TLP:RED') add(main, shareForm(id, cur.tlp));
  const versions = r.versions || [];
  add(main, section(t('report.timeline'),
    h('ol', { class: 'timeline' }, versions.map(v => h('li', null,
      h('p', null, h('strong', null, t('report.version', { n: v.version })), ' ', badge('stage', v.stage), ' ',
        h('time', { datetime: v.created }, fmtTime(v.created)), ' ', t('report.by', { id: v.author_id })),
      v.report ? h('details', null, h('summary', null, t('report.show_version', { n: v.version })), reportBody(v.report)) : null)))));
}

// An analyst shares the report's indicators as STIX in the indicators
// collection (POST /reports/{id}/share), at a TLP no stricter than AMBER.
function shareForm(id, current) {
  // Never looser than the operator's own marking (the tower takes the
  // stricter of the two; TLP:AMBER when the report gives none).
  const floor = Math.max(0, TLPS.indexOf(current || 'TLP:AMBER'));
  const sel = select(TLPS.slice(floor).filter(x => x !== 'TLP:RED').map(x => [x, x]), TLPS[floor], { name: 'share_tlp' });
  const msg = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'share-h' },
    h('h2', { id: 'share-h' }, t('share.title')), h('p', { class: 'hint' }, t('share.hint')), msg,
    field(t('rf.tlp'), sel, { field: 'tlp' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('share.submit'))));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    msg.textContent = '';
    try {
      const res = await api.post(`/api/v1/reports/${id}/share`, { tlp: sel.value });
      add(msg, h('p', { class: 'ok', role: 'status' }, t('share.done', { n: (res.indicators || []).length, tlp: res.tlp || sel.value })));
    } catch (e) {
      add(msg, errorBox(e, showFieldErrors(form, e.fields)));
    }
  });
  return form;
}

function list(xs) { return xs && xs.length ? h('ul', { class: 'plain' }, xs.map(x => h('li', null, h('code', null, String(x))))) : '—'; }

function reportBody(b) {
  const td = b.technical_details || {};
  const ind = td.indicators || {};
  const im = b.impact || {};
  const cd = b.category_details || {};
  return dl([
    [t('rf.tlp'), tlp(b.tlp)],
    [t('rf.summary'), h('p', { class: 'pre' }, b.summary || '—')],
    Object.keys(cd).length ? [t('rf.category_details'), dl(Object.entries(cd).map(([k, v]) => [t(`cd.${k}`), Array.isArray(v) ? v.join(', ') : String(v)]))] : null,
    b.affected_computers ? [t('rf.affected'), h('ul', { class: 'plain' }, b.affected_computers.map(a => h('li', null, a.asset_id ? t('rf.asset', { id: a.asset_id }) : a.description)))] : null,
    td.attack_vector ? [t('rf.attack_vector'), td.attack_vector] : null,
    ind.addresses ? [t('rf.addresses'), list(ind.addresses)] : null,
    ind.domains ? [t('rf.domains'), list(ind.domains)] : null,
    ind.urls ? [t('rf.urls'), list(ind.urls)] : null,
    ind.file_hashes ? [t('rf.file_hashes'), list(ind.file_hashes)] : null,
    b.response_taken ? [t('rf.response'), h('p', { class: 'pre' }, b.response_taken)] : null,
    b.impact ? [t('rf.impact'), dl([
      [t('rf.services'), (im.services_affected || []).join(', ') || '—'],
      [t('rf.users'), fmtNumber(im.users_affected)], [t('rf.outage'), fmtNumber(im.outage_minutes)]])] : null,
    b.other ? [t('rf.other'), h('p', { class: 'pre' }, b.other)] : null,
  ]);
}

const num = v => (v === '' || v === null || v === undefined ? undefined : Number(v));

export async function reportFormPage(main, { params: [id] }) {
  let prev = null, stage = 'prompt';
  if (id) {
    try {
      prev = await api.get(`/api/v1/reports/${id}`);
    } catch (e) {
      add(main, title(t('rf.update_title', { id })), errorBox(e));
      return;
    }
    stage = prev.stage === 'prompt' ? 'detailed' : prev.stage === 'detailed' ? 'final' : prev.stage;
  }
  const b = prev?.report || {};
  const td = b.technical_details || {};
  const ind = td.indicators || {};
  const im = b.impact || {};
  const cd = b.category_details || {};
  add(main, title(id ? t('rf.update_title', { id }) : t('rf.new_title')));
  // The organisation's registered computers, to name by asset:ID.
  let assets = [];
  try { assets = (await api.get('/api/v1/assets', { limit: 100 })).assets || []; } catch { assets = []; }

  const stageSel = select(STAGES.filter(s => !prev || STAGES.indexOf(s) >= STAGES.indexOf(prev.stage)).map(s => [s, term('stage', s)]), stage, { name: 'stage' });
  const category = select(CATEGORIES.map(c => [c, term('category', c)]), b.category || 'ddos', { name: 'category' });
  const severity = select(SEVERITIES.map(c => [c, term('severity', c)]), b.severity || 'medium', { name: 'severity' });
  const tlpSel = select(TLPS.map(c => [c, c]), b.tlp || 'TLP:AMBER', { name: 'tlp' });
  const summary = h('textarea', { name: 'summary', rows: 4, maxlength: 20000 }, b.summary || '');
  const detected = h('input', { type: 'datetime-local', name: 'detected_at', value: b.detected_at ? utcToLocalInput(b.detected_at) : utcToLocalInput(new Date().toISOString()) });
  const family = h('input', { type: 'text', name: 'family', value: cd.family || '' });
  const affected = h('textarea', { name: 'affected', rows: 3 }, (b.affected_computers || []).map(a => (a.asset_id ? `asset:${a.asset_id}` : a.description)).join('\n'));
  const vector = h('input', { type: 'text', name: 'attack_vector', value: td.attack_vector || '' });
  const addrs = h('textarea', { name: 'addresses', rows: 3 }, (ind.addresses || []).join('\n'));
  const domains = h('textarea', { name: 'domains', rows: 2 }, (ind.domains || []).join('\n'));
  const urls = h('textarea', { name: 'urls', rows: 2 }, (ind.urls || []).join('\n'));
  const hashes = h('textarea', { name: 'file_hashes', rows: 2 }, (ind.file_hashes || []).join('\n'));
  const response = h('textarea', { name: 'response_taken', rows: 3 }, b.response_taken || '');
  const services = h('input', { type: 'text', name: 'services', value: (im.services_affected || []).join(', ') });
  const users = h('input', { type: 'number', name: 'users', min: 0, value: im.users_affected ?? '' });
  const outage = h('input', { type: 'number', name: 'outage', min: 0, value: im.outage_minutes ?? '' });
  const other = h('textarea', { name: 'other', rows: 2 }, b.other || '');

  const msg = h('div', { 'aria-live': 'assertive' });
  const btn = h('button', { type: 'submit' }, id ? t('rf.submit_update') : t('rf.submit_new'));
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': id ? t('rf.update_title', { id }) : t('rf.new_title') }, msg,
    id ? field(t('col.stage'), stageSel, { field: 'stage', hint: t('rf.stage_hint') }) : null,
    h('fieldset', null, h('legend', null, t('rf.basics')),
      field(t('rf.category'), category, { field: 'report.category', required: true }),
      field(t('rf.summary'), summary, { field: 'report.summary', required: true }),
      field(t('rf.detected_at'), detected, { field: 'report.detected_at', required: true, hint: t('rf.tz_hint', { tz: zone() }) }),
      field(t('rf.severity'), severity, { field: 'report.severity', required: true }),
      field(t('rf.tlp'), tlpSel, { field: 'report.tlp' }),
      field(t('cd.family'), family, { field: 'report.category_details', hint: t('rf.family_hint') })),
    h('fieldset', null, h('legend', null, t('rf.technical')),
      field(t('rf.affected'), affected, { field: 'report.affected_computers', hint: t('rf.affected_hint') }),
      assets.length ? h('div', { class: 'hint' }, t('rf.your_assets'), h('ul', null, assets.map(a => h('li', null,
        h('code', null, `asset:${a.id}`), ` ${[a.product, a.location].filter(Boolean).join(', ')} (${(a.addresses || []).join(', ')})`)))) : null,
      field(t('rf.attack_vector'), vector, { field: 'report.technical_details.attack_vector' }),
      field(t('rf.addresses'), addrs, { field: 'report.technical_details.indicators.addresses', hint: t('rf.lines_hint') }),
      field(t('rf.domains'), domains, { field: 'report.technical_details.indicators.domains' }),
      field(t('rf.urls'), urls, { field: 'report.technical_details.indicators.urls' }),
      field(t('rf.file_hashes'), hashes, { field: 'report.technical_details.indicators.file_hashes' })),
    h('fieldset', null, h('legend', null, t('rf.outcome')),
      field(t('rf.response'), response, { field: 'report.response_taken' }),
      field(t('rf.services'), services, { field: 'report.impact.services_affected', hint: t('rf.comma_hint') }),
      field(t('rf.users'), users, { field: 'report.impact.users_affected' }),
      field(t('rf.outage'), outage, { field: 'report.impact.outage_minutes' }),
      field(t('rf.other'), other, { field: 'report.other' })),
    h('div', { class: 'actions' }, btn, h('a', { href: id ? `#/reports/${id}` : '#/reports' }, t('form.cancel'))));

  function build() {
    const r = {
      category: category.value, summary: summary.value.trim(), detected_at: localInputToUTC(detected.value) || detected.value,
      severity: severity.value, tlp: tlpSel.value,
    };
    // The details the form has no control for (encrypted_systems, peak_bps,
    // ...) are carried over from the version before, never dropped.
    const details = category.value === b.category ? { ...cd } : {};
    delete details.family;
    if (family.value.trim() && ['ransomware', 'malware'].includes(category.value)) details.family = family.value.trim();
    if (Object.keys(details).length) r.category_details = details;
    const aff = lines(affected.value.replace(/,/g, '\n')).map(x => (/^asset:\d+$/.test(x) ? { asset_id: Number(x.slice(6)) } : { description: x }));
    if (aff.length) r.affected_computers = aff;
    const indicators = {};
    for (const [k, el] of [['addresses', addrs], ['domains', domains], ['urls', urls], ['file_hashes', hashes]]) {
      const xs = lines(el.value);
      if (xs.length) indicators[k] = xs;
    }
    if (vector.value.trim() || Object.keys(indicators).length) {
      r.technical_details = {};
      if (vector.value.trim()) r.technical_details.attack_vector = vector.value.trim();
      if (Object.keys(indicators).length) r.technical_details.indicators = indicators;
    }
    if (response.value.trim()) r.response_taken = response.value.trim();
    const svc = lines(services.value);
    if (svc.length || users.value !== '' || outage.value !== '') {
      r.impact = {};
      if (svc.length) r.impact.services_affected = svc;
      if (users.value !== '') r.impact.users_affected = num(users.value);
      if (outage.value !== '') r.impact.outage_minutes = num(outage.value);
    }
    if (other.value.trim()) r.other = other.value.trim();
    return r;
  }

  // The checks the API makes that need no store, so that most mistakes
  // are named before sending; the API's 422 names the rest the same way.
  function check(st, r) {
    const f = [];
    if (!r.summary) f.push({ field: 'report.summary', reason: t('v.required') });
    if (!localInputToUTC(detected.value)) f.push({ field: 'report.detected_at', reason: t('v.time') });
    if (st === 'detailed' || st === 'final') {
      if (!r.technical_details) f.push({ field: 'report.technical_details.attack_vector', reason: t('v.from_detailed') });
      if (!r.affected_computers) f.push({ field: 'report.affected_computers', reason: t('v.from_detailed') });
    }
    if (st === 'final') {
      if (!r.response_taken) f.push({ field: 'report.response_taken', reason: t('v.final') });
      if (!r.impact) f.push({ field: 'report.impact.services_affected', reason: t('v.final') });
    }
    return f;
  }

  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    msg.textContent = '';
    const st = id ? stageSel.value : 'prompt';
    const r = build();
    const local = st === 'closed' ? [] : check(st, r);
    if (local.length) {
      const rest = showFieldErrors(form, local);
      add(msg, h('p', { class: 'error', role: 'alert' }, t('form.fix', { n: local.length })), rest.length ? errorBox(null) : null);
      return;
    }
    showFieldErrors(form, []);
    btn.disabled = true;
    try {
      let res;
      if (!id) res = await api.post('/api/v1/reports', r);
      else if (st === 'closed') res = await api.post(`/api/v1/reports/${id}/versions`, { stage: 'closed' });
      else res = await api.post(`/api/v1/reports/${id}/versions`, { stage: st, report: r });
      location.hash = `#/reports/${res.id || id}`;
    } catch (e) {
      // The API names report fields without the "report." the update's
      // envelope adds; a new report's body is the report itself.
      const fields = e.fields.map(f => ({ ...f, field: /^(report\.|stage$)/.test(f.field) ? f.field : `report.${f.field}` }));
      const rest = showFieldErrors(form, fields);
      add(msg, errorBox(e, rest));
    } finally {
      btn.disabled = false;
    }
  });
  add(main, form);
}
