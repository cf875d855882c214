// Who is signed in: POST, GET and DELETE /api/v1/session (a cookie the
// browser keeps and a CSRF token this page keeps in memory).
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
    } catch {
      const local = JSON.parse(localStorage.getItem('yagura.prefs') || '{}');
      setPrefs(local);
      return false;
    }
  },

  async login(name, password) {
    const body = await api.post('/api/v1/session', { name, password }, { quiet401: true });
    this.apply(body);
  },

  async logout() {
    try { await api.del('/api/v1/session', { quiet401: true }); } catch { /* gone already */ }
    api.setCsrf(null);
    this.signedIn = false;
    this.user = null;
  },

  expired() {
    api.setCsrf(null);
    this.signedIn = false;
    this.user = null;
  },

  role() { return this.user ? this.user.role : null; },
};
