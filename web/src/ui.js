// Building blocks every page shares: headings, tables, pagers, error
// boxes, labelled fields, TLP badges.
import { h, nextId } from './dom.js';
import { t, term, fmtDuration } from './i18n.js';

export function title(text, ...extra) {
  return h('div', { class: 'page-head' }, h('h1', null, text), ...extra);
}

export function section(heading, ...children) {
  const id = nextId('sec');
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, heading), ...children);
}

// columns: [{label, value: row => node|string, class}]
export function table(caption, columns, rows, { empty } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, empty || t('list.empty'));
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' },
    h('table', null,
      h('caption', null, caption),
      h('thead', null, h('tr', null, columns.map(c => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', null, rows.map(r => h('tr', null, columns.map((c, i) => (i === 0
        ? h('th', { scope: 'row', class: c.class }, c.value(r))
        : h('td', { class: c.class }, c.value(r)))))))));
}

export function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v ?? '—')]));
}

// The API's refusal in words: its message, and what it said of each field.
export function errorBox(err, extra) {
  let msg;
  if (!err) return null;
  if (err.status === 404) msg = t('error.not_found');
  else if (err.status === 403) msg = t('error.forbidden');
  else if (err.status === 401) msg = t('error.unauthorized');
  else if (err.status === 422) msg = t('error.invalid');
  else if (err.status === 429) msg = t('error.too_many', { d: /^\d+$/.test(err.retryAfter || '') ? fmtDuration(Number(err.retryAfter)) : '—' });
  else if (err.status) msg = t('error.api', { status: err.status, code: err.code, msg: err.message });
  else msg = t('error.network', { msg: err.message });
  return h('div', { class: 'error', role: 'alert' }, h('p', null, msg),
    err.status && err.status !== 404 && err.message ? h('p', { class: 'detail' }, `${err.code}: ${err.message}`) : null,
    extra && extra.length ? h('ul', null, extra.map(f => h('li', null, `${f.field}: ${f.reason}`))) : null);
}

// A section that loads on its own and says so when the API refuses it.
export async function load(container, fn) {
  const busy = h('p', { class: 'loading', role: 'status' }, t('loading'));
  container.append(busy);
  try {
    const node = await fn();
    busy.replaceWith(node || h('span'));
  } catch (e) {
    // What the caller's role may not read is said quietly, not as a fault.
    busy.replaceWith(e.status === 403 ? h('p', { class: 'empty' }, t('error.forbidden')) : errorBox(e));
  }
}

// Server paging: "newer" goes back through the cursors already seen.
export function pager(query, page, cursorKey = 'next_before', param = 'before') {
  const base = location.hash.split('?')[0];
  const mk = q => `${base}?${q.toString()}`;
  const links = [];
  const trail = (query.get('trail') || '').split(',').filter(Boolean);
  if (query.get(param)) {
    const back = new URLSearchParams(query);
    const prev = trail.pop();
    back.set('trail', trail.join(','));
    if (prev && prev !== '0') back.set(param, prev); else back.delete(param);
    if (!trail.length) back.delete('trail');
    links.push(h('a', { href: mk(back), rel: 'prev' }, t('page.newer')));
  }
  if (page.more && page[cursorKey] !== undefined) {
    const next = new URLSearchParams(query);
    next.set(param, page[cursorKey]);
    next.set('trail', [...trail, query.get(param) || '0'].join(','));
    links.push(h('a', { href: mk(next), rel: 'next' }, t('page.older')));
  }
  if (!links.length) return null;
  return h('nav', { class: 'pager', 'aria-label': t('page.label') }, links);
}

const TLP_CLASS = { 'TLP:RED': 'red', 'TLP:AMBER': 'amber', 'TLP:AMBER+STRICT': 'amber', 'TLP:GREEN': 'green', 'TLP:CLEAR': 'clear', 'TLP:WHITE': 'clear' };
export function tlp(value) {
  const v = value || 'TLP:?';
  return h('span', { class: `tlp tlp-${TLP_CLASS[v] || 'none'}` }, v);
}

export function badge(kind, code) {
  return h('span', { class: `badge ${kind}-${code}` }, term(kind, code));
}

// A labelled control with room for the API's word on it.
// field: the JSON path the API names in error.fields.
export function field(label, control, { field: path, hint, required } = {}) {
  const id = control.id || nextId('f');
  control.id = id;
  const errId = `${id}-err`;
  const hintId = hint ? `${id}-hint` : null;
  if (path) control.dataset.field = path;
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  if (required) control.setAttribute('aria-required', 'true');
  return h('div', { class: 'field', 'data-field-wrap': path || null },
    h('label', { for: id }, label, required ? h('span', { class: 'req' }, ` ${t('form.required')}`) : null),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('p', { class: 'field-error', id: errId }));
}

// Shows each {field, reason} at the control whose data-field is the
// longest prefix of the path the API named (indicators.addresses[2] ->
// indicators.addresses); what matches no control is listed in the box.
export function showFieldErrors(form, fields) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const controls = [...form.querySelectorAll('[data-field]')];
  const rest = [];
  let first = null;
  for (const f of fields) {
    const path = String(f.field || '');
    let best = null;
    for (const c of controls) {
      const p = c.dataset.field;
      if ((path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`)) && (!best || p.length > best.dataset.field.length)) best = c;
    }
    if (!best) { rest.push(f); continue; }
    best.setAttribute('aria-invalid', 'true');
    const box = form.querySelector(`#${CSS.escape(best.id)}-err`);
    const sub = path === best.dataset.field ? '' : `${path}: `;
    box.textContent = (box.textContent ? `${box.textContent}; ` : '') + sub + f.reason;
    if (!first) first = best;
  }
  if (first) first.focus();
  return rest;
}

export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

export const lines = s => String(s || '').split(/[\n,]+/).map(x => x.trim()).filter(Boolean);
