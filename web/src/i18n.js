// Japanese and English, chosen per user (the office works in Japanese:
// the default). Dates and times are shown in the user's time zone
// (default Asia/Tokyo) with Intl.DateTimeFormat; the API speaks UTC RFC 3339.
import { M } from './messages.js';

const prefs = { language: 'ja', timeZone: 'Asia/Tokyo' };

export function setPrefs({ language, time_zone: timeZone } = {}) {
  if (language === 'ja' || language === 'en') prefs.language = language;
  if (timeZone && validZone(timeZone)) prefs.timeZone = timeZone;
  document.documentElement.lang = prefs.language;
}

export function lang() { return prefs.language; }
export function zone() { return prefs.timeZone; }

export function validZone(z) {
  try { new Intl.DateTimeFormat('en', { timeZone: z }); return true; } catch { return false; }
}

// t('key', {n: 3}) -> the message in the user's language, {n} replaced.
export function t(key, params) {
  const m = M[key];
  let s = m ? (prefs.language === 'en' ? m[1] : m[0]) : key;
  if (params) s = s.replace(/\{(\w+)\}/g, (_, k) => (params[k] ?? ''));
  return s;
}

// A value the API gives as a code (stage, severity, state, role...), in words.
export function term(kind, code) {
  if (code === null || code === undefined || code === '') return '—';
  const m = M[`${kind}.${code}`];
  return m ? (prefs.language === 'en' ? m[1] : m[0]) : String(code);
}

const cache = new Map();
function dtf(opts) {
  const key = prefs.language + prefs.timeZone + JSON.stringify(opts);
  if (!cache.has(key)) {
    cache.set(key, new Intl.DateTimeFormat(prefs.language === 'en' ? 'en-GB' : 'ja-JP',
      { timeZone: prefs.timeZone, ...opts }));
  }
  return cache.get(key);
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return dtf({ year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit',
    minute: '2-digit', second: '2-digit', timeZoneName: 'short' }).format(d);
}

export function fmtHour(d) {
  return dtf({ month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(d);
}

export function fmtDay(d) {
  return dtf({ year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

export function fmtNumber(n) {
  if (n === null || n === undefined) return '—';
  return new Intl.NumberFormat(prefs.language === 'en' ? 'en-GB' : 'ja-JP').format(n);
}

// A span of seconds in words: "2日 3時間" / "2 d 3 h".
export function fmtDuration(sec) {
  const neg = sec < 0;
  let s = Math.abs(Math.round(sec));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const mm = Math.floor(s / 60); s -= mm * 60;
  const parts = [];
  if (d) parts.push(t('dur.d', { n: d }));
  if (hh) parts.push(t('dur.h', { n: hh }));
  if (mm && !d) parts.push(t('dur.m', { n: mm }));
  if (!d && !hh) parts.push(t('dur.s', { n: s }));
  return (neg ? '-' : '') + parts.join(' ');
}

// The wall-clock parts of instant d in the time zone, as a UTC Date.
function wallAsUTC(d, tz) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(d).map(p => [p.type, p.value]));
  return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
}

// "2026-11-22T06:00" typed in the user's zone -> "2026-11-21T21:00:00Z".
export function localInputToUTC(value, tz = prefs.timeZone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value || '');
  if (!m) return null;
  const naive = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  let guess = naive;
  for (let i = 0; i < 2; i++) guess = naive - (wallAsUTC(new Date(guess), tz) - guess);
  return new Date(guess).toISOString().replace(/\.000Z$/, 'Z');
}

// An instant (RFC 3339) -> the value of a datetime-local input in the zone.
export function utcToLocalInput(iso, tz = prefs.timeZone) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(wallAsUTC(d, tz)).toISOString().slice(0, 16);
}
