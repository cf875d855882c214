import { h, add } from '../dom.js';
import { t, fmtTime, fmtNumber } from '../i18n.js';
import * as api from '../api.js';
import { title, section, errorBox, dl, field } from '../ui.js';
import { openCheckpoint, tilePath, parseBundle, entryText, leafHash, b64decode, b64encode, rootFromInclusion, equal, verifyConsistency } from '../tlog.js';

const PAGE = 256; // one entry bundle (C2SP tlog-tiles)

function entryFacts(text) {
  const f = {};
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0 && !(line.slice(0, sp) in f)) f[line.slice(0, sp)] = line.slice(sp + 1);
  }
  return f;
}

export async function auditPage(main, { query }) {
  add(main, title(t('audit.title')), h('p', { class: 'lead' }, t('audit.lead')));
  let key, note, cp;
  try {
    [key, note] = await Promise.all([api.get('/log/key', null, { accept: 'text/plain' }), api.get('/log/checkpoint', null, { accept: 'text/plain' })]);
  } catch (e) {
    add(main, errorBox(e));
    return;
  }
  const cpSec = section(t('audit.checkpoint'));
  add(main, cpSec);
  try {
    cp = await openCheckpoint(note, key);
  } catch (e) {
    cp = { ok: false, reason: e.message };
  }
  add(cpSec, 
    h('p', { class: cp.ok ? 'ok' : 'error', role: 'status', 'data-testid': 'checkpoint-status' },
      cp.ok ? t('audit.cp_ok', { key: cp.key, by: cp.by }) : t('audit.cp_bad', { reason: t(`audit.reason.${cp.reason}`) })),
    dl([[t('audit.origin'), cp.origin], [t('audit.size'), fmtNumber(cp.size)], [t('audit.root'), h('code', null, cp.rootB64)],
      [t('audit.key'), h('code', { class: 'wrap' }, key.trim())], [t('audit.signers'), (cp.signers || []).join(', ')]]),
    h('details', null, h('summary', null, t('audit.note')), h('pre', { class: 'file', tabindex: '0', 'aria-label': t('audit.note') }, note)),
    // Auditors and overseers may have the tower sign what has committed now.
    h('p', null, h('button', { type: 'button', class: 'secondary', onclick: async ev => {
      ev.target.disabled = true;
      try {
        await api.post('/api/v1/log/checkpoint', undefined, { accept: 'text/plain' });
        window.dispatchEvent(new HashChangeEvent('hashchange'));
      } catch (e) {
        ev.target.after(errorBox(e));
        ev.target.disabled = false;
      }
    } }, t('audit.fresh'))));
  if (!cp.ok) return;
  const seen = h('div', { 'aria-live': 'polite', 'data-testid': 'consistency' });
  add(cpSec, seen);
  await consistency(cp, seen);

  const size = cp.size;
  const result = h('div', { 'aria-live': 'polite', 'data-testid': 'verify-result' });
  const idx = h('input', { type: 'number', name: 'index', min: 0, max: size - 1, value: size - 1 });
  const vform = h('form', { class: 'filters', 'aria-label': t('audit.verify_any') },
    field(t('audit.entry_index'), idx), h('button', { type: 'submit' }, t('audit.verify')));
  vform.addEventListener('submit', ev => { ev.preventDefault(); verify(Number(idx.value), null, cp, result); });
  add(main, section(t('audit.verify_any'), vform, result));

  // The entries, a bundle of 256 at a time, newest bundle first.
  const last = Math.floor((size - 1) / PAGE);
  const n = query.has('bundle') ? Math.max(0, Math.min(last, Number(query.get('bundle')))) : last;
  const width = Math.min(PAGE, size - n * PAGE);
  const logSec = section(t('audit.entries', { from: n * PAGE, to: n * PAGE + width - 1 }));
  add(main, logSec);
  try {
    const res = await api.request('GET', `/log/tile/${tilePath('entries', n, width)}`, { accept: 'application/octet-stream', raw: true });
    const entries = parseBundle(new Uint8Array(await res.arrayBuffer()));
    const rows = entries.map((e, i) => ({ index: n * PAGE + i, bytes: e, text: entryText(e) })).reverse();
    add(logSec, h('div', { class: 'table-wrap', role: 'region', 'aria-label': t('audit.entries_short'), tabindex: '0' },
      h('table', null, h('caption', null, t('audit.entries_short')),
        h('thead', null, h('tr', null, [t('audit.index'), t('audit.kind'), t('audit.record'), t('audit.by'), t('col.time'), t('audit.verify')].map(x => h('th', { scope: 'col' }, x)))),
        h('tbody', null, rows.map(r => {
          const f = entryFacts(r.text);
          return h('tr', null, h('th', { scope: 'row', class: 'num' }, String(r.index)), h('td', null, f.kind || '—'),
            h('td', null, f.id || '—'), h('td', null, f.by || '—'), h('td', null, f.at ? fmtTime(f.at) : '—'),
            h('td', null, h('button', { type: 'button', class: 'small', 'aria-label': t('audit.verify_n', { n: r.index }),
              onclick: () => verify(r.index, r.bytes, cp, result) }, t('audit.verify'))));
        })))));
    const nav = [];
    if (n < last) nav.push(h('a', { href: `#/audit?bundle=${n + 1}` }, t('page.newer')));
    if (n > 0) nav.push(h('a', { href: `#/audit?bundle=${n - 1}` }, t('page.older')));
    if (nav.length) add(logSec, h('nav', { class: 'pager', 'aria-label': t('page.label') }, nav));
  } catch (e) {
    add(logSec, errorBox(e));
  }
}

// The last checkpoint this browser verified, kept here: the new one must
// extend it (RFC 9162 consistency proof), or the log showed two histories.
const SEEN = 'yagura.audit.checkpoint';
async function consistency(cp, out) {
  let old = null;
  try { old = JSON.parse(localStorage.getItem(SEEN) || 'null'); } catch { old = null; }
  const keep = () => localStorage.setItem(SEEN, JSON.stringify({ key: cp.key, size: cp.size, root: cp.rootB64, at: new Date().toISOString() }));
  if (!old || old.key !== cp.key) {
    keep();
    add(out, h('p', { class: 'hint' }, t('audit.first_seen')));
    return;
  }
  const say = (ok, msg) => add(out, h('p', { class: ok ? 'ok' : 'error', role: ok ? 'status' : 'alert', 'data-consistent': ok ? 'true' : 'false' }, msg));
  if (old.size > cp.size) {
    say(false, t('audit.shrunk', { old: old.size, size: cp.size }));
    return;
  }
  try {
    const res = old.size === cp.size ? { proof: [] } : await api.get('/api/v1/log/consistency', { from: old.size, to: cp.size });
    const ok = await verifyConsistency(old.size, cp.size, b64decode(old.root), cp.root, (res.proof || []).map(b64decode));
    if (ok) {
      keep();
      say(true, t('audit.consistent', { old: old.size, at: fmtTime(old.at), size: cp.size }));
    } else {
      say(false, t('audit.split', { old: old.size, at: fmtTime(old.at), size: cp.size, root: old.root }));
    }
  } catch (e) {
    add(out, errorBox(e));
  }
}

// The tower sends the entry and its audit path; the leaf hash and the root
// are recomputed here and the root compared with the signed checkpoint's.
async function verify(index, bundleBytes, cp, out) {
  out.textContent = '';
  add(out, h('p', { role: 'status' }, t('audit.verifying', { n: index })));
  try {
    const inc = await api.get('/api/v1/log/inclusion', { index, size: cp.size });
    if (!bundleBytes) {
      // The entry as the log's tiles hold it, to compare with the proof's.
      const n = Math.floor(index / PAGE);
      const res = await api.request('GET', `/log/tile/${tilePath('entries', n, Math.min(PAGE, cp.size - n * PAGE))}`, { accept: 'application/octet-stream', raw: true });
      bundleBytes = parseBundle(new Uint8Array(await res.arrayBuffer()))[index - n * PAGE] || new Uint8Array();
    }
    const entry = new TextEncoder().encode(inc.entry);
    const leaf = await leafHash(entry);
    const steps = [];
    const sameAsBundle = bundleBytes ? equal(bundleBytes, entry) : null;
    const leafOk = b64encode(leaf) === inc.leaf_hash;
    const proof = (inc.proof || []).map(b64decode);
    const root = await rootFromInclusion(index, cp.size, leaf, proof);
    const rootOk = root !== null && equal(root, cp.root);
    steps.push([t('audit.step_leaf'), leafOk]);
    if (sameAsBundle !== null) steps.push([t('audit.step_bundle'), sameAsBundle]);
    steps.push([t('audit.step_root', { n: proof.length }), rootOk]);
    const ok = steps.every(s => s[1]);
    out.textContent = '';
    add(out, h('div', { class: ok ? 'ok' : 'error', role: ok ? 'status' : 'alert', 'data-verified': ok ? 'true' : 'false' },
      h('p', null, h('strong', null, ok ? t('audit.entry_ok', { n: index, size: cp.size }) : t('audit.entry_bad', { n: index }))),
      h('ul', null, steps.map(([s, v]) => h('li', null, `${v ? '✓' : '✗'} ${s}`))),
      h('pre', { class: 'file', tabindex: '0', 'aria-label': t('audit.entry_text') }, inc.entry),
      root ? h('p', { class: 'hint' }, t('audit.computed_root'), ' ', h('code', null, b64encode(root))) : null));
  } catch (e) {
    out.textContent = '';
    add(out, errorBox(e));
  }
}

