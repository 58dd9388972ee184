// The API client: one place that adds the token, parses the error shape and tells network
// failures (retry later) from refusals (show the server's reason).
import { kv } from './db.js';

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || 'http_' + status;
    this.details = error.details || {};
  }

  // Worth trying again later: the server or the network, not the request, was the problem.
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

let token = null;

export async function loadToken() {
  token = (await kv.get('token')) || null;
  return token;
}

export async function setSession(newToken, user) {
  token = newToken;
  await kv.set('token', newToken);
  await kv.set('me', user);
}

export async function clearSession() {
  token = null;
  await kv.del('token');
  await kv.del('me');
}

export function currentToken() {
  return token;
}

export async function request(method, path, { json, form, query } = {}) {
  const url = new URL('/api/v1' + path, self.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (Array.isArray(v)) v.forEach((item) => url.searchParams.append(k, item));
    else if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body });
  } catch (err) {
    throw new ApiError(0, { error: { code: 'offline', message: '网络不可用' } });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (err) {
    // Not our JSON (a proxy's error page): the status says what happened.
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  get: (path, query) => request('GET', path, { query }),
  post: (path, json) => request('POST', path, { json }),
  patch: (path, json) => request('PATCH', path, { json }),
  upload: (path, form) => request('POST', path, { form }),
};

// A file from the API (an export) saved by the browser under `filename`; the server's
// reason when it refuses.
export async function download(path, query, filename) {
  const url = new URL('/api/v1' + path, location.origin);
  for (const [k, v] of Object.entries(query)) if (v) url.searchParams.set(k, v);
  const response = await fetch(url, { headers: { Authorization: 'Bearer ' + token } });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new Error((body && body.error && body.error.message) || `HTTP ${response.status}`);
  }
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = filename;
  document.body.append(link);
  link.click();
  setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
}
