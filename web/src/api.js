// A thin client for Qala's JSON API. Every error the server sends has one
// shape ({"error": {code, message, field}}), so callers get an ApiError with
// the field to show the message next to.

export class ApiError extends Error {
  constructor(status, code, message, field, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field ?? null;
    /** Seconds the server asked to wait (`Retry-After` of a 429 or 503), or null. */
    this.retryAfter = retryAfter ?? null;
  }
}

/**
 * Waits before each retry of a write whose answer was lost or was a 503:
 * such a write may have been committed all the same, and its retry, with
 * the same Idempotency-Key, is answered with what the first one did.
 */
export const RETRY_DELAYS_MS = [500, 1500, 4000];
/** A 503's Retry-After is honoured up to this long; past it the resident is told instead. */
const MAX_RETRY_WAIT_MS = 5000;

/** Whether a failed write may be sent again with the same key. */
function retryable(error) {
  return error.code === 'network' || error.status === 503;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends `send()` and, while it fails as [`retryable`], again after each of
 * `delays` (or the server's Retry-After, if longer and not too long).
 * `send` must carry the same Idempotency-Key every time.
 */
export async function withRetries(send, delays = RETRY_DELAYS_MS) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await send();
    } catch (error) {
      if (!(error instanceof ApiError) || !retryable(error) || attempt >= delays.length) throw error;
      const asked = (error.retryAfter ?? 0) * 1000;
      if (asked > MAX_RETRY_WAIT_MS) throw error;
      await pause(Math.max(delays[attempt], asked));
    }
  }
}

/** Issue filters as the API spells them; empty values are left out (the server rejects none of them, but URLs stay short). */
export function filterQuery(filters = {}) {
  const query = new URLSearchParams();
  const list = (v) => (Array.isArray(v) ? v.filter(Boolean).join(',') : v || '');
  if (list(filters.status)) query.set('status', list(filters.status));
  if (list(filters.category)) query.set('category', list(filters.category));
  if (filters.district) query.set('district', String(filters.district));
  if (filters.since) query.set('since', filters.since);
  if (filters.until) query.set('until', filters.until);
  return query;
}

function withQuery(path, query) {
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function request(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { headers: { accept: 'application/json' }, ...options });
  } catch (cause) {
    throw new ApiError(0, 'network', cause.message || 'network error');
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page, say: report the status instead.
  }
  if (!response.ok) {
    const error = body?.error;
    const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
    throw new ApiError(
      response.status,
      error?.code ?? 'http_error',
      error?.message ?? `HTTP ${response.status}`,
      error?.field,
      Number.isFinite(retryAfter) ? retryAfter : null,
    );
  }
  return body;
}

export function categories() {
  return request('/api/v1/categories').then((body) => body.categories);
}

export function statuses() {
  return request('/api/v1/statuses').then((body) => body.statuses);
}

export function issue(id) {
  return request(`/api/v1/issues/${encodeURIComponent(id)}`);
}

/** An issue's public history, oldest first (status changes and merged duplicates). */
export function issueEvents(id, { signal } = {}) {
  return request(`/api/v1/issues/${encodeURIComponent(id)}/events`, { signal }).then((body) => body.events);
}

/** The city's departments: `{code, names: {kk, ru, en}}`. */
export function departments() {
  return request('/api/v1/departments').then((body) => body.departments);
}

/** Issues near a point, nearest first, each with `properties.distance_m`. */
export function nearby({ lon, lat, radius = 50, category, limit = 5 }) {
  const query = new URLSearchParams({ lon: String(lon), lat: String(lat), radius: String(radius), limit: String(limit) });
  if (category) query.set('category', category);
  return request(withQuery('/api/v1/issues/nearby', query));
}

/**
 * Files a report. The idempotency key is the form's, not the request's: a
 * double click, a retry after a lost answer or a 503 (retried here, with
 * the same key) returns the same issue instead of filing it twice.
 */
export function createIssue({ lon, lat, category, description, address, email, photos, lang }, idempotencyKey = randomKey(), delays = RETRY_DELAYS_MS) {
  const properties = { category, description };
  if (address) properties.address = address;
  if (email) properties.reporter_email = email;
  if (photos?.length) properties.photos = photos;
  if (lang) properties.lang = lang;
  const body = JSON.stringify({ type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties });
  return withRetries(
    () =>
      request('/api/v1/issues', {
        method: 'POST',
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
        },
        body,
      }),
    delays,
  );
}

// ---- a resident's follow-up: photos, "me too", comments, follow, reopen ----

/** A JSON write by anyone (no session needed), retried like a report. */
function residentWrite(path, body, headers = {}) {
  const key = randomKey();
  return withRetries(() =>
    request(path, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json', 'idempotency-key': key, ...headers },
      body: JSON.stringify(body),
    }),
  );
}

/**
 * Uploads one photo (the file's bytes as they are: the server checks the
 * type from the bytes, strips metadata and makes the thumbnail). Returns
 * `{id}`, which a report, a comment or a staff update then attaches.
 */
export function uploadPhoto(file) {
  return request('/api/v1/photos', {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': file.type || 'application/octet-stream' },
    body: file,
  });
}

const VOTER_KEY = 'qala.voter';

/** This browser's "me too" token: random, kept in localStorage, so one browser counts once per issue. */
export function voterToken() {
  try {
    let token = localStorage.getItem(VOTER_KEY);
    if (!token) {
      token = randomKey().replaceAll('-', '') + randomKey().replaceAll('-', '');
      localStorage.setItem(VOTER_KEY, token);
    }
    return token;
  } catch {
    return randomKey().replaceAll('-', '');
  }
}

/** "Me too" on an issue: `{votes, voted, counted}`. */
export function vote(id) {
  return residentWrite(`/api/v1/issues/${encodeURIComponent(id)}/votes`, { voter: voterToken() });
}

/** A resident's comment on an issue, with photo ids if any. */
export function comment(id, { body, authorName, photos }) {
  const payload = { body };
  if (authorName) payload.author_name = authorName;
  if (photos?.length) payload.photos = photos;
  return residentWrite(`/api/v1/issues/${encodeURIComponent(id)}/comments`, payload);
}

/** Email alerts for an issue or a district, sent once the address confirms them by a link. */
export function subscribe({ email, issueId, districtId, lang }) {
  const payload = { email, lang };
  if (issueId) payload.issue_id = issueId;
  if (districtId) payload.district_id = districtId;
  return residentWrite('/api/v1/subscriptions', payload);
}

/** The reporter reopens their issue with the private link's token. */
export function reopen(id, token, note) {
  return residentWrite(`/api/v1/issues/${encodeURIComponent(id)}/reopen`, note ? { note } : {}, { 'x-issue-token': token });
}

/** Districts with `issue_count` under the filters (the choropleth's data). */
export function districts(filters) {
  const query = filterQuery({ ...filters, district: undefined });
  return request(withQuery('/api/v1/districts', query));
}

/** Counts grouped by any of district, category, status. */
export function stats(groupBy, filters) {
  const query = filterQuery(filters);
  query.set('group_by', groupBy.join(','));
  return request(withQuery('/api/v1/stats/issues', query));
}

/**
 * Every issue matching the filters, following `next` links page by page
 * (1000 per page, the server's most), so a selection is complete however large.
 */
export async function allIssues(filters, { signal } = {}) {
  const query = filterQuery(filters);
  query.set('limit', '1000');
  let url = withQuery('/api/v1/issues', query);
  const features = [];
  while (url) {
    const page = await request(url, { signal });
    features.push(...page.features);
    url = page.next ?? null;
  }
  return features;
}

/** A random key for Idempotency-Key; crypto.randomUUID needs a secure context, which a city intranet over http is not. */
export function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// ---- accounts and staff writes ----

const CSRF_KEY = 'qala.csrf';

/**
 * The session's CSRF token, which only the login answer carries (the server
 * keeps its hash). It is kept per browser, like the session cookie it goes
 * with, so a second tab does not have to sign in again (and leave a second
 * session behind). Script can read it, but it is worthless without the
 * HttpOnly cookie, which script cannot.
 */
export function csrfToken() {
  try {
    return localStorage.getItem(CSRF_KEY);
  } catch {
    return null;
  }
}

function setCsrfToken(token) {
  try {
    if (token) localStorage.setItem(CSRF_KEY, token);
    else localStorage.removeItem(CSRF_KEY);
  } catch {
    // Storage off: writes from this page then fail with the API's csrf_failed message.
  }
}

/**
 * A cookie-authenticated write: JSON body, the session's CSRF token and an
 * Idempotency-Key. Not retried: the server keeps keys for reports only, and
 * a status change sent twice would be refused the second time (its first
 * may have been applied).
 */
function write(path, body, method = 'POST') {
  const headers = { accept: 'application/json', 'content-type': 'application/json', 'idempotency-key': randomKey() };
  const token = csrfToken();
  if (token) headers['x-csrf-token'] = token;
  return request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** The signed-in user (`{user_id, role, departments, districts, public_name}`), or null when nobody is. */
export async function me() {
  try {
    return await request('/api/v1/me');
  } catch (error) {
    if (error.status === 401) {
      setCsrfToken(null);
      return null;
    }
    throw error;
  }
}

/** Signs in with email and password: the server sets the session cookie; the CSRF token is kept here. */
export async function login(email, password) {
  const body = await write('/api/v1/login', { email, password });
  setCsrfToken(body.csrf_token);
  return body.user;
}

/** Ends the session on the server (with the token it revokes it) and forgets the token. */
export async function logout() {
  try {
    await write('/api/v1/logout');
  } finally {
    setCsrfToken(null);
  }
}

/**
 * One page of a staff queue: `assigned_to` (a department code, or `me`) or
 * `district`, statuses, `sort` (oldest, newest, votes). The answer may carry
 * `counts: {total, by_status}`; `next` is the following page's URL.
 */
export function queue({ assignedTo, district, status, sort, limit = 50 } = {}) {
  const query = filterQuery({ status, district });
  if (assignedTo) query.set('assigned_to', assignedTo);
  if (sort) query.set('sort', sort);
  query.set('limit', String(limit));
  return request(withQuery('/api/v1/issues', query));
}

/** A page of public issues under `filters` (status, category), newest first; `next` is the following page's URL. */
export function issueList(filters, { limit = 25 } = {}) {
  const query = filterQuery(filters);
  query.set('sort', 'newest');
  query.set('limit', String(limit));
  return request(withQuery('/api/v1/issues', query));
}

/** The next page of a listing, by the `next` URL the server gave. */
export function page(url) {
  return request(url);
}

/**
 * A change to an issue by staff: a status change (`{status, note,
 * internal_note, duplicate_of}`) or a re-route (`{department, note}`);
 * resolves to the public event.
 */
export function addEvent(id, body) {
  return write(`/api/v1/issues/${encodeURIComponent(id)}/events`, body);
}

/** Hide, unhide or redact (`{action, reason, description}`): moderators and admins. */
export function moderate(id, body) {
  return write(`/api/v1/issues/${encodeURIComponent(id)}/moderation`, body);
}
