// Who is signed in. With the session API: POST/GET/DELETE /api/v1/session
// (a cookie and a CSRF token). With a bearer token (machines and
// development): GET /api/v1/session tells who, where the tower answers it.
import * as api from './api.js';
import { setPrefs } from './i18n.js';

export const session = {
  signedIn: false,
  user: null,
  expires: null,

  apply(body) {
    this.signedIn = true;
    this.user = body.user || null;
    this.expires = body.expires || null;
    api.setCsrf(body.csrf);
    const local = JSON.parse(localStorage.getItem('yagura.prefs') || '{}');
    setPrefs(this.user ? this.user : local);
  },

  async restore() {
    try {
      const body = await api.get('/api/v1/session', null, { quiet401: true });
      this.apply(body);
      return true;
    } catch (e) {
      if (api.hasToken() && e.status !== 401) {
        // A tower without the session API: the token alone.
        this.apply({});
        return true;
      }
      if (api.hasToken()) api.setToken(null);
      const local = JSON.parse(localStorage.getItem('yagura.prefs') || '{}');
      setPrefs(local);
      return false;
    }
  },

  async login(name, password) {
    const body = await api.post('/api/v1/session', { name, password }, { quiet401: true });
    this.apply(body);
  },

  async loginWithToken(token) {
    api.setToken(token);
    if (!(await this.restore())) throw new Error('token');
  },

  async logout() {
    if (!api.hasToken()) {
      try { await api.del('/api/v1/session', { quiet401: true }); } catch { /* gone already */ }
    }
    api.setToken(null);
    api.setCsrf(null);
    this.signedIn = false;
    this.user = null;
  },

  expired() {
    api.setToken(null);
    api.setCsrf(null);
    this.signedIn = false;
    this.user = null;
  },

  role() { return this.user ? this.user.role : null; },
};
