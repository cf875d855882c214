import { h } from '../dom.js';
import { t, term, fmtTime, fmtHour, fmtNumber, fmtDuration } from '../i18n.js';
import * as api from '../api.js';
import { title, section, table, load, badge } from '../ui.js';
import { barChart } from '../chart.js';
import { session } from '../session.js';

const HOURS = 24;

export async function overviewPage(main) {
  const u = session.user;
  main.append(title(t('overview.title'),
    u ? h('p', { class: 'lead' }, t('overview.hello', { name: u.name, role: term('role', u.role) })) : null));
  const grid = h('div', { class: 'grid' });
  main.append(grid);

  const alertsSec = section(t('overview.alerts'));
  const sourcesSec = section(t('overview.sources'));
  const sectorSec = section(t('overview.by_sector'));
  const overdueSec = section(t('overview.overdue'));
  const casesSec = section(t('overview.cases'));
  const sensorsSec = section(t('overview.sensors'));
  grid.append(alertsSec, sourcesSec, sectorSec, overdueSec, casesSec, sensorsSec);

  // One page of the newest alerts (the API pages; the chart says how many).
  const alertsP = api.get('/api/v1/alerts', { limit: 1000 });
  await Promise.all([
    load(alertsSec, async () => {
      const page = await alertsP;
      const now = Date.now();
      const start = now - HOURS * 3600e3;
      const bins = new Array(HOURS).fill(0);
      let older = 0;
      for (const a of page.alerts) {
        const ms = Date.parse(a.time);
        if (ms < start) { older += 1; continue; }
        bins[Math.min(HOURS - 1, Math.floor((ms - start) / 3600e3))] += 1;
      }
      const labels = bins.map((_, i) => fmtHour(new Date(start + i * 3600e3)));
      return h('div', null,
        barChart({ label: t('overview.alerts_chart', { n: page.alerts.length }), labels, datasets: [{ label: t('overview.alerts_n'), data: bins }] }),
        h('p', { class: 'hint' }, t('overview.alerts_basis', { n: fmtNumber(page.alerts.length), older: fmtNumber(older) }),
          page.more ? ` ${t('overview.alerts_more')}` : ''),
        h('details', null, h('summary', null, t('chart.as_table')),
          table(t('overview.alerts'), [
            { label: t('col.hour'), value: r => r[0] }, { label: t('col.alerts'), value: r => fmtNumber(r[1]), class: 'num' },
          ], labels.map((l, i) => [l, bins[i]]))),
        h('p', null, h('a', { href: '#/alerts' }, t('overview.all_alerts'))));
    }),
    load(sourcesSec, async () => {
      const page = await api.get('/api/v1/sources', { limit: 10 });
      return h('div', null, table(t('overview.sources'), [
        { label: t('col.rank'), value: s => String(s.rank), class: 'num' },
        { label: t('col.source'), value: s => h('a', { href: `#/sources/${encodeURIComponent(s.ip)}` }, s.ip) },
        { label: t('col.score'), value: s => String(s.score), class: 'num' },
        { label: t('col.alerts'), value: s => fmtNumber(s.alerts), class: 'num' },
        { label: t('col.critical'), value: s => fmtNumber(s.critical_victims), class: 'num' },
        { label: t('col.evidence'), value: s => (s.evidence?.signatures || []).slice(0, 2).map(g => `${g.signature || g.signature_id} (${g.alerts})`).join('; ') },
      ], page.sources, { empty: t('overview.no_sources') }), h('p', null, h('a', { href: '#/sources' }, t('overview.all_sources'))));
    }),
    load(sectorSec, async () => {
      const page = await api.get('/api/v1/reports', { limit: 1000 });
      const stages = ['prompt', 'detailed', 'final', 'closed'];
      const by = new Map();
      for (const r of page.reports) {
        if (!by.has(r.sector)) by.set(r.sector, Object.fromEntries(stages.map(s => [s, 0])));
        by.get(r.sector)[r.stage] += 1;
      }
      const sectors = [...by.keys()].sort();
      if (!sectors.length) return h('p', { class: 'empty' }, t('overview.no_reports'));
      return h('div', null,
        barChart({ label: t('overview.by_sector_chart'), labels: sectors.map(s => term('sector', s)), stacked: true,
          datasets: stages.map(s => ({ label: term('stage', s), data: sectors.map(x => by.get(x)[s]) })) }),
        table(t('overview.by_sector'), [
          { label: t('col.sector'), value: s => term('sector', s) },
          ...stages.map(st => ({ label: term('stage', st), value: s => fmtNumber(by.get(s)[st]), class: 'num' })),
        ], sectors),
        page.more ? h('p', { class: 'hint' }, t('overview.reports_basis', { n: page.reports.length })) : null);
    }),
    load(overdueSec, async () => {
      const page = await api.get('/api/v1/reports', { overdue: 'true', limit: 20 });
      return table(t('overview.overdue'), [
        { label: t('col.report'), value: r => h('a', { href: `#/reports/${r.id}` }, `#${r.id}`) },
        { label: t('col.org'), value: r => r.org },
        { label: t('col.stage'), value: r => badge('stage', r.stage) },
        { label: t('col.due'), value: r => fmtTime(r.next_due) },
        { label: t('col.overdue_by'), value: r => fmtDuration(r.overdue_by_seconds) },
      ], page.reports, { empty: t('overview.none_overdue') });
    }),
    load(casesSec, async () => {
      const page = await api.get('/api/v1/cases', { state: 'active', limit: 20 });
      return h('div', null, table(t('overview.cases'), [
        { label: t('col.case'), value: c => h('a', { href: `#/cases/${c.id}` }, `#${c.id}`) },
        { label: t('col.action'), value: c => term('action', c.action) },
        { label: t('col.target'), value: c => h('code', null, c.target) },
        { label: t('col.expires'), value: c => countdown(c.expires) },
      ], page.cases, { empty: t('overview.no_cases') }), h('p', null, h('a', { href: '#/countermeasures' }, t('nav.countermeasures'))));
    }),
    load(sensorsSec, async () => {
      // The API has no sensor status yet: what the newest alerts say of
      // each sensor, and how far the source ranking is behind.
      const page = await alertsP;
      const last = new Map();
      for (const a of page.alerts) {
        const cur = last.get(a.sensor_id);
        if (!cur || a.received > cur.received) last.set(a.sensor_id, { received: a.received, n: (cur?.n || 0) + 1 });
        else cur.n += 1;
      }
      return table(t('overview.sensors'), [
        { label: t('col.sensor'), value: ([id]) => `#${id}` },
        { label: t('col.last_alert'), value: ([, v]) => fmtTime(v.received) },
        { label: t('col.alerts'), value: ([, v]) => fmtNumber(v.n), class: 'num' },
      ], [...last.entries()], { empty: t('overview.no_sensors') });
    }),
  ]);
}

// "in 2 d 3 h" until an instant, or how long ago it passed.
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
