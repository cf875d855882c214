import { h, add } from '../dom.js';
import { t, term, fmtTime, fmtHour, fmtDay, fmtNumber, fmtDuration } from '../i18n.js';
import * as api from '../api.js';
import { title, section, table, load, badge, select, errorBox } from '../ui.js';
import { barChart } from '../chart.js';
import { session } from '../session.js';

const SPANS = [['1', 'overview.span_1'], ['2', 'overview.span_2'], ['7', 'overview.span_7'], ['30', 'overview.span_30'], ['90', 'overview.span_90']];
const STAGES = ['prompt', 'detailed', 'final', 'closed'];
const SILENT_AFTER = 3600; // a sensor whose last batch is older than this is marked silent

// GET /api/v1/overview gives the counts in one answer, each part only
// when the caller's role may read it; the lists behind them (top sources,
// overdue reports, active cases) are the routes' own first pages.
export async function overviewPage(main, { query }) {
  const u = session.user;
  const days = SPANS.some(([d]) => d === query.get('days')) ? query.get('days') : '1';
  const span = select(SPANS.map(([d, k]) => [d, t(k)]), days, { name: 'days', id: 'f-days' });
  const form = h('form', { class: 'filters', 'aria-label': t('filters.label') },
    h('div', { class: 'field inline' }, h('label', { for: 'f-days' }, t('overview.span')), span),
    h('button', { type: 'submit' }, t('filters.apply')));
  form.addEventListener('submit', ev => { ev.preventDefault(); location.hash = `#/overview?days=${span.value}`; });
  add(main, title(t('overview.title'),
    u ? h('p', { class: 'lead' }, t('overview.hello', { name: u.name, role: term('role', u.role) })) : null), form);

  let ov;
  try {
    ov = await api.get('/api/v1/overview', { days });
  } catch (e) {
    add(main, e.status === 403 ? h('p', { class: 'empty' }, t('overview.none_for_role')) : errorBox(e));
    return;
  }
  const grid = h('div', { class: 'grid' });
  add(main, grid);
  const parts = [];

  if (ov.alerts) {
    const hourly = ov.alerts.bucket === 'hour';
    const counts = ov.alerts.counts || [];
    const labels = counts.map(c => (hourly ? fmtHour(new Date(c.t)) : fmtDay(new Date(c.t))));
    const total = counts.reduce((a, c) => a + c.n, 0);
    const label = t(hourly ? 'overview.alerts_chart_h' : 'overview.alerts_chart_d', { days, n: fmtNumber(total) });
    add(grid, section(t('overview.alerts'),
      barChart({ label, labels, datasets: [{ label: t('overview.alerts_n'), data: counts.map(c => c.n) }] }),
      h('p', { class: 'hint' }, label),
      h('details', null, h('summary', null, t('chart.as_table')),
        table(t('overview.alerts'), [
          { label: t(hourly ? 'col.hour' : 'col.day'), value: c => (hourly ? fmtHour(new Date(c.t)) : fmtDay(new Date(c.t))) },
          { label: t('col.alerts'), value: c => fmtNumber(c.n), class: 'num' },
        ], counts)),
      h('p', null, h('a', { href: '#/alerts' }, t('overview.all_alerts')))));
    const src = section(t('overview.sources'));
    add(grid, src);
    parts.push(load(src, async () => {
      const page = await api.get('/api/v1/sources', { limit: 10 });
      return h('div', null, table(t('overview.sources'), [
        { label: t('col.rank'), value: x => String(x.rank), class: 'num' },
        { label: t('col.source'), value: x => h('a', { href: `#/sources/${encodeURIComponent(x.ip)}` }, x.ip) },
        { label: t('col.score'), value: x => String(x.score), class: 'num' },
        { label: t('col.alerts'), value: x => fmtNumber(x.alerts), class: 'num' },
        { label: t('col.critical'), value: x => fmtNumber(x.critical_victims), class: 'num' },
        { label: t('col.evidence'), value: x => (x.evidence?.signatures || []).slice(0, 2).map(g => `${g.signature || g.signature_id} (${g.alerts})`).join('; ') },
      ], page.sources, { empty: t('overview.no_sources') }), h('p', null, h('a', { href: '#/sources' }, t('overview.all_sources'))));
    }));
  }

  if (ov.reports) {
    const by = new Map();
    for (const r of ov.reports.by_sector_stage || []) {
      if (!by.has(r.sector)) by.set(r.sector, Object.fromEntries(STAGES.map(x => [x, 0])));
      by.get(r.sector)[r.stage] = r.count;
    }
    const sectors = [...by.keys()].sort();
    add(grid, section(t('overview.by_sector'),
      h('p', null, t('overview.reports_total', { n: fmtNumber(ov.reports.total), overdue: fmtNumber(ov.reports.overdue) })),
      sectors.length ? [
        barChart({ label: t('overview.by_sector_chart'), labels: sectors.map(x => term('sector', x)), stacked: true,
          datasets: STAGES.map(st => ({ label: term('stage', st), data: sectors.map(x => by.get(x)[st]) })) }),
        table(t('overview.by_sector'), [
          { label: t('col.sector'), value: x => h('a', { href: `#/reports?sector=${encodeURIComponent(x)}` }, term('sector', x)) },
          ...STAGES.map(st => ({ label: term('stage', st), value: x => fmtNumber(by.get(x)[st]), class: 'num' })),
        ], sectors)] : h('p', { class: 'empty' }, t('overview.no_reports'))));
    const overdue = section(t('overview.overdue'));
    add(grid, overdue);
    parts.push(load(overdue, async () => {
      if (!ov.reports.overdue) return h('p', { class: 'empty' }, t('overview.none_overdue'));
      const page = await api.get('/api/v1/reports', { overdue: 'true', limit: 20 });
      return h('div', null, table(t('overview.overdue'), [
        { label: t('col.report'), value: r => h('a', { href: `#/reports/${r.id}` }, `#${r.id}`) },
        { label: t('col.org'), value: r => r.org },
        { label: t('col.stage'), value: r => badge('stage', r.stage) },
        { label: t('col.due'), value: r => fmtTime(r.next_due) },
        { label: t('col.overdue_by'), value: r => fmtDuration(r.overdue_by_seconds) },
      ], page.reports, { empty: t('overview.none_overdue') }),
      page.more ? h('p', null, h('a', { href: '#/reports?overdue=true' }, t('overview.all_overdue'))) : null);
    }));
  }

  if (ov.cases) {
    const sec = section(t('overview.cases'),
      h('p', null, Object.entries(ov.cases).map(([st, n], i) => [i ? ' · ' : '',
        h('a', { href: `#/cases?state=${st}` }, `${term('state', st)} ${fmtNumber(n)}`)])));
    add(grid, sec);
    parts.push(load(sec, async () => {
      const page = await api.get('/api/v1/cases', { state: 'active', limit: 20 });
      return h('div', null, table(t('overview.cases'), [
        { label: t('col.case'), value: c => h('a', { href: `#/cases/${c.id}` }, `#${c.id}`) },
        { label: t('col.action'), value: c => term('action', c.action) },
        { label: t('col.target'), value: c => h('code', null, c.target) },
        { label: t('col.expires'), value: c => countdown(c.expires) },
      ], page.cases, { empty: t('overview.no_cases') }), h('p', null, h('a', { href: '#/countermeasures' }, t('nav.countermeasures'))));
    }));
  }

  if (ov.sensors) {
    const now = Date.parse(ov.now) || Date.now();
    add(grid, section(t('overview.sensors'), table(t('overview.sensors'), [
      { label: t('col.sensor'), value: x => x.name },
      { label: t('col.health'), value: x => {
        const silent = !x.last_batch || (now - Date.parse(x.last_batch)) / 1000 > SILENT_AFTER;
        return h('span', { class: `badge ${silent ? 'state-rejected' : 'state-active'}` }, t(silent ? 'sensor.silent' : 'sensor.ok'));
      } },
      { label: t('col.last_batch'), value: x => fmtTime(x.last_batch) },
      { label: t('col.alerts_window', { days }), value: x => fmtNumber(x.alerts), class: 'num' },
    ], ov.sensors, { empty: t('overview.no_sensors') }),
    h('p', { class: 'hint' }, t('overview.silent_rule', { m: SILENT_AFTER / 60 }))));
  }
  await Promise.all(parts);
}

// It counts on while shown (every 30 s; a screen reader is not told each
// tick, the exact time follows in words).
export function countdown(iso) {
  if (!iso) return '—';
  const words = () => {
    const s = (Date.parse(iso) - Date.now()) / 1000;
    return s >= 0 ? t('countdown.in', { d: fmtDuration(s) }) : t('countdown.ago', { d: fmtDuration(-s) });
  };
  const live = h('span', { class: 'countdown' }, words());
  const el = h('span', { title: fmtTime(iso) }, live, h('span', { class: 'sr-only' }, ` (${fmtTime(iso)})`));
  const timer = setInterval(() => {
    if (!el.isConnected) clearInterval(timer);
    else live.textContent = words();
  }, 30000);
  return el;
}
