// The API client's writes, against a stubbed fetch (no server, no browser):
// every write carries an Idempotency-Key, and a report whose answer was lost
// or was a 503 is sent again with the same key, never with a new one.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import * as api from '../src/api.js';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** Answers fetches from `script` in turn, recording each request. */
function stubFetch(script) {
  const seen = [];
  globalThis.fetch = async (path, options) => {
    seen.push({ path, options });
    const next = script[seen.length - 1];
    if (next === 'network') throw new TypeError('Failed to fetch');
    const [status, body, headers = {}] = next;
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  };
  return seen;
}

const report = { lon: 76.95, lat: 43.25, category: 'pothole', description: 'Deep hole' };
const unavailable = [503, { error: { code: 'database_unavailable', message: 'try again shortly' } }, { 'retry-after': '1' }];
const created = [201, { type: 'Feature', id: 7 }];
const noDelays = [0, 0, 0];

test('a report answered 503 or lost is retried with the same key', async () => {
  const seen = stubFetch([unavailable, 'network', created]);
  const issue = await api.createIssue(report, 'form-key-1', noDelays);
  assert.equal(issue.id, 7);
  assert.equal(seen.length, 3);
  for (const { options } of seen) assert.equal(options.headers['idempotency-key'], 'form-key-1');
  assert.equal(seen[0].options.body, seen[2].options.body);
});

test('a report always carries a key, even when the caller gives none', async () => {
  const seen = stubFetch([created]);
  await api.createIssue(report, undefined, noDelays);
  assert.match(seen[0].options.headers['idempotency-key'], /^[0-9a-f-]{32,36}$/);
});

test('refusals are not retried, and retries stop', async () => {
  for (const [status, code] of [[409, 'duplicate_report'], [429, 'rate_limited'], [422, 'outside_city']]) {
    const seen = stubFetch([[status, { error: { code, message: code } }, { 'retry-after': '30' }], created]);
    await assert.rejects(api.createIssue(report, 'k', noDelays), (e) => e.status === status && e.code === code);
    assert.equal(seen.length, 1, code);
  }
  const seen = stubFetch([unavailable, unavailable, unavailable, unavailable, created]);
  await assert.rejects(api.createIssue(report, 'k', noDelays), (e) => e.status === 503 && e.retryAfter === 1);
  assert.equal(seen.length, 4, 'the first try and three retries');
  // A server asking for a long wait is not kept waiting on: the resident is told.
  const slow = stubFetch([[503, { error: { code: 'overloaded', message: 'busy' } }, { 'retry-after': '120' }], created]);
  await assert.rejects(api.createIssue(report, 'k', noDelays), (e) => e.retryAfter === 120);
  assert.equal(slow.length, 1);
});

test('staff writes carry a fresh key each', async () => {
  const seen = stubFetch([[200, { id: 1 }], [200, { id: 1 }]]);
  await api.addEvent(5, { status: 'acknowledged' });
  await api.moderate(5, { action: 'hide', reason: 'spam' });
  const keys = seen.map(({ options }) => options.headers['idempotency-key']);
  assert.ok(keys.every(Boolean));
  assert.notEqual(keys[0], keys[1]);
});
