// The dashboard's shell: who is signed in, the navigation, the router.
import './style.css';
import { h, clear, add } from './dom.js';
import { t, term, setPrefs, lang } from './i18n.js';
import * as api from './api.js';
import { session } from './session.js';
import { routes } from './routes.js';

const banner = document.getElementById('banner');
const main = document.getElementById('main');
const footer = document.getElementById('footer');

// What each role finds in the navigation. This is convenience only: the
// API decides what each caller may read, and a page shows what it answers.
const NAV = [
  ['#/overview', 'nav.overview', null],
  ['#/reports', 'nav.reports', ['operator', 'regulator', 'analyst', 'overseer']],
  ['#/sources', 'nav.sources', ['analyst', 'overseer']],
  ['#/alerts', 'nav.alerts', ['analyst', 'overseer', 'operator', 'regulator']],
  ['#/intel', 'nav.intel', ['operator', 'regulator', 'analyst']],
  ['#/cases', 'nav.cases', ['analyst', 'overseer', 'auditor']],
  ['#/monitoring', 'nav.monitoring', ['analyst', 'overseer', 'auditor']],
  ['#/audit', 'nav.audit', ['auditor', 'overseer']],
  ['#/settings', 'nav.settings', null],
];

function renderBanner() {
  clear(banner);
  const u = session.user;
  const here = location.hash.split('?')[0] || '#/overview';
  add(banner, h('div', { class: 'brand' }, h('span', { 'aria-hidden': 'true' }, '櫓 '), 'yagura',
    h('span', { class: 'sub' }, t('app.subtitle'))));
  if (session.signedIn) {
    const items = NAV.filter(([, , roles]) => !roles || !u || roles.includes(u.role));
    add(banner, h('nav', { 'aria-label': t('nav.label') }, h('ul', null, items.map(([href, key]) => {
      const cur = here === href || here.startsWith(`${href}/`);
      return h('li', null, h('a', { href, 'aria-current': cur ? 'page' : null }, t(key)));
    }))));
    add(banner, h('div', { class: 'who' },
      h('span', { 'data-testid': 'whoami' }, u ? `${u.name} (${term('role', u.role)}${u.org ? ` · ${u.org.name}` : ''})` : ''),
      h('button', { type: 'button', class: 'link', onclick: logout }, t('nav.logout'))));
  }
  clear(footer).append(h('p', null, t('app.footer')));
}

async function logout() {
  await session.logout();
  location.hash = '#/login';
}

// The skip link moves the focus to the page's content; the hash is the
// router's, so it must not change.
document.querySelector('.skip').addEventListener('click', ev => {
  ev.preventDefault();
  main.focus();
});

let seq = 0;
let firstRoute = true;
async function route() {
  const my = ++seq;
  const hash = location.hash || '#/overview';
  const [path, qs] = hash.slice(1).split('?');
  const query = new URLSearchParams(qs || '');
  if (!session.signedIn && path !== '/login') {
    location.hash = '#/login';
    return;
  }
  if (session.signedIn && path === '/login') {
    location.hash = '#/overview';
    return;
  }
  let page = null, params = [];
  for (const [re, fn] of routes) {
    const m = re.exec(path);
    if (m) { page = fn; params = m.slice(1).map(decodeURIComponent); break; }
  }
  renderBanner();
  clear(main);
  main.setAttribute('aria-busy', 'true');
  if (!page) {
    add(main, h('h1', null, t('page.not_found')));
    main.removeAttribute('aria-busy');
    return;
  }
  // Each navigation renders into a view of its own: what a slow answer for
  // a page already left adds goes to a view no longer in the document.
  const view = h('div', { class: 'view' });
  add(main, view);
  try {
    await page(view, { params, query });
  } catch (e) {
    if (my !== seq) return;
    add(view, h('p', { class: 'error', role: 'alert' }, t('error.load', { msg: e.message })));
  }
  if (my !== seq) return;
  main.removeAttribute('aria-busy');
  main.dataset.route = hash; // what is shown now (tests wait for it)
  const h1 = main.querySelector('h1');
  document.title = `${h1 ? h1.textContent : ''} — yagura`;
  // After a navigation inside the page, the focus goes to the new content
  // (as a page load would put it at the top); on the first load it stays
  // where the browser puts it, so the first Tab reaches the skip link.
  if (!firstRoute) main.focus({ preventScroll: true });
  firstRoute = false;
}

api.whenUnauthorized(() => {
  if (session.signedIn) {
    session.expired();
    location.hash = '#/login?expired=1';
  }
});

window.addEventListener('hashchange', route);
window.addEventListener('yagura:prefs', () => { renderBanner(); route(); });

(async () => {
  setPrefs({ language: 'ja' });
  await session.restore();
  document.documentElement.lang = lang();
  route();
})();
