// Every call to the tower. People sign in with a session cookie
// (yagura_session, HttpOnly) and send its CSRF token on every change;
// a bearer token (machines, development) is kept for this tab only.
const state = { csrf: null, token: sessionStorage.getItem('yagura.token') };

export class ApiError extends Error {
  constructor(status, body, text) {
    const e = body && body.error;
    super(e ? e.message : `HTTP ${status}`);
    this.status = status;
    this.code = e ? e.code : `http_${status}`;
    this.fields = (e && Array.isArray(e.fields)) ? e.fields : [];
    this.retryAfter = null;
    this.text = text;
  }
}

export function setCsrf(csrf) { state.csrf = csrf || null; }
export function setToken(token) {
  state.token = token || null;
  if (token) sessionStorage.setItem('yagura.token', token);
  else sessionStorage.removeItem('yagura.token');
}
export function hasToken() { return !!state.token; }

let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

// request('GET', '/api/v1/reports', {query: {limit: 50}})
// -> the parsed JSON (or text for text/plain), or throws ApiError.
export async function request(method, path, { body, query, accept, raw, quiet401 } = {}) {
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') qs.append(k, String(v));
    }
    const s = qs.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const headers = { Accept: accept || 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (method !== 'GET' && method !== 'HEAD' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const res = await fetch(url, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (raw && res.ok) return res;
  const text = res.status === 204 ? '' : await res.text();
  const ctype = res.headers.get('Content-Type') || '';
  let data = text;
  if (/json/.test(ctype) && text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, typeof data === 'object' ? data : null, text);
    err.retryAfter = res.headers.get('Retry-After');
    if (res.status === 401 && !quiet401) onUnauthorized(err);
    throw err;
  }
  return data;
}

export const get = (path, query, opts) => request('GET', path, { query, ...opts });
export const post = (path, body, opts) => request('POST', path, { body, ...opts });
export const put = (path, body, opts) => request('PUT', path, { body, ...opts });
export const del = (path, opts) => request('DELETE', path, opts);

export const TAXII = 'application/taxii+json;version=2.1';
