import { h, add } from '../dom.js';
import { t, lang, zone, setPrefs, validZone, fmtTime } from '../i18n.js';
import * as api from '../api.js';
import { title, section, field, select, errorBox, showFieldErrors, dl } from '../ui.js';
import { session } from '../session.js';

const ZONES = ['Asia/Tokyo', 'UTC', 'Europe/London', 'Europe/Paris', 'America/New_York', 'America/Los_Angeles', 'Asia/Singapore', 'Australia/Sydney'];

export async function settingsPage(main) {
  add(main, title(t('settings.title')));
  const u = session.user;
  if (u) {
    add(main, dl([[t('settings.user'), u.name], [t('col.role'), t(`role.${u.role}`)], u.org ? [t('col.org'), `${u.org.name} (${t(`sector.${u.org.sector}`)})`] : null,
      u.sectors?.length ? [t('col.sectors'), u.sectors.map(s => t(`sector.${s}`)).join(', ')] : null,
      session.expires ? [t('settings.expires'), fmtTime(session.expires)] : null]));
  }
  const language = select([['ja', '日本語'], ['en', 'English']], lang(), { name: 'language' });
  const zones = ZONES.includes(zone()) ? ZONES : [zone(), ...ZONES];
  const tz = select(zones.map(z => [z, z]), zone(), { name: 'time_zone' });
  const msg = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card narrow', novalidate: true, 'aria-labelledby': 'prefs-h' },
    h('h2', { id: 'prefs-h' }, t('settings.prefs')), msg,
    field(t('settings.language'), language, { field: 'language' }),
    field(t('settings.zone'), tz, { field: 'time_zone' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('form.save'))));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    msg.textContent = '';
    const prefs = { language: language.value, time_zone: tz.value };
    if (!validZone(prefs.time_zone)) return;
    try {
      if (u) session.user = await api.put('/api/v1/session/preferences', prefs).then(r => r.user || r);
      else localStorage.setItem('yagura.prefs', JSON.stringify(prefs));
      setPrefs(u ? session.user : prefs);
      window.dispatchEvent(new Event('yagura:prefs'));
    } catch (e) {
      add(msg, errorBox(e, showFieldErrors(form, e.fields)));
    }
  });
  add(main, form);

  if (u) {
    const cur = h('input', { type: 'password', name: 'current', autocomplete: 'current-password' });
    const nw = h('input', { type: 'password', name: 'new', autocomplete: 'new-password', minlength: 12 });
    const pmsg = h('div', { 'aria-live': 'polite' });
    const pform = h('form', { class: 'card narrow', novalidate: true, 'aria-labelledby': 'pw-h' },
      h('h2', { id: 'pw-h' }, t('settings.password')), pmsg,
      field(t('settings.current'), cur, { field: 'current', required: true }),
      field(t('settings.new'), nw, { field: 'new', required: true }),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('settings.change'))));
    pform.addEventListener('submit', async ev => {
      ev.preventDefault();
      pmsg.textContent = '';
      const local = [];
      if (!cur.value) local.push({ field: 'current', reason: t('v.required') });
      if (nw.value.length < 12) local.push({ field: 'new', reason: t('v.password') });
      if (local.length) { showFieldErrors(pform, local); return; }
      try {
        await api.post('/api/v1/session/password', { current: cur.value, new: nw.value });
        // The tower ended the sessions opened before and gave this browser a
        // new one, whose CSRF token is not the old one's.
        await session.restore();
        cur.value = ''; nw.value = '';
        showFieldErrors(pform, []);
        add(pmsg, h('p', { class: 'ok', role: 'status' }, t('settings.changed')));
      } catch (e) {
        add(pmsg, errorBox(e, showFieldErrors(pform, e.fields)));
      }
    });
    add(main, section(t('settings.security'), pform));
  }
}
