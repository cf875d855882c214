import { h, add } from '../dom.js';
import { t, fmtDuration } from '../i18n.js';
import { session } from '../session.js';
import { title, field, errorBox } from '../ui.js';

// Retry-After in seconds, in words ("15分").
const wait = s => (/^\d+$/.test(s || '') ? fmtDuration(Number(s)) : '—');

export async function loginPage(main, { query }) {
  const name = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true });
  const pw = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const msg = h('div', { 'aria-live': 'polite' });
  const btn = h('button', { type: 'submit' }, t('login.submit'));
  const form = h('form', { class: 'card narrow', 'aria-label': t('login.title'), novalidate: true }, msg,
    field(t('login.name'), name, { required: true }),
    field(t('login.password'), pw, { required: true }),
    h('div', { class: 'actions' }, btn));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    msg.textContent = '';
    if (!name.value || !pw.value) {
      add(msg, h('p', { class: 'error', role: 'alert' }, t('login.missing')));
      return;
    }
    btn.disabled = true;
    try {
      await session.login(name.value, pw.value);
      location.hash = '#/overview';
    } catch (e) {
      const text = e.status === 401 ? t('login.bad')
        : e.status === 429 ? t('login.too_many', { d: wait(e.retryAfter) }) : null;
      add(msg, text ? h('p', { class: 'error', role: 'alert' }, text) : errorBox(e));
      pw.value = '';
      pw.focus();
    } finally {
      btn.disabled = false;
    }
  });

  add(main, title(t('login.title')),
    query.get('expired') ? h('p', { class: 'notice', role: 'status' }, t('login.expired')) : null,
    form);
}
