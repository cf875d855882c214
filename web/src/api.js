// Every call to the tower. People sign in with a session cookie
// (yagura_session: HttpOnly, SameSite=Strict, which no script here can
// read) and send the session's CSRF token with every change.
const state = { csrf: null };

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

let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

// request('GET', '/api/v1/reports', {query: {limit: 50}})
// -> the parsed JSON (or text for text/plain), or throws ApiError.
export async function request(method, path, { body, query, accept, raw, quiet401, retried } = {}) {
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
    // A CSRF token from before the session was renewed: fetch the current
    // one and send the change once more.
    if (res.status === 403 && !retried && /csrf_failed/.test(text)) {
      try {
        const cur = await request('GET', '/api/v1/session', { quiet401: true });
        setCsrf(cur.csrf);
        return request(method, path, { body, query, accept, raw, quiet401, retried: true });
      } catch { /* fall through to the refusal */ }
    }
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
