// Accessibility: axe-core (the npm package, injected into the page) finds
// no violation on the resident map, the planner and the staff view, in
// English and Kazakh, in the states a visitor sees (an issue open, the
// report form, the list, a district's table). One more page is one more
// line in PAGES.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { PHONE, launchBrowser, openPage } from './browser.mjs';
import { NEEDS_DATABASE, getJson, makeUser, startServer } from './server.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const LANGS = ['en', 'kk'];

/**
 * The pages and states to check: `path` (`{issue}` is an open issue's id),
 * `login` (the role to sign in as), `state` (the `body[data-state]` to
 * wait for; null for a page rendered by the server), and `then`, what a
 * visitor does first; `status` 404 for a page that is meant to be one.
 */
const PAGES = [
  { name: 'resident map', path: '/' },
  { name: 'resident map, an issue open', path: '/#issue={issue}', then: (page) => page.locator('#panel article').waitFor() },
  { name: 'resident map, the report form', path: '/', then: (page) => page.locator('#report-button').click().then(() => page.locator('#report-form').waitFor()) },
  { name: 'resident map, the list of issues', path: '/', then: (page) => page.locator('#list-button').click().then(() => page.locator('.issue-list-view[data-state="ready"]').waitFor()) },
  { name: 'planner, sign-in form', path: '/planner', state: 'signin' },
  { name: 'planner with a district', path: '/planner?district=2', login: 'planner', then: (page) => page.locator('#issues-table[data-state="ready"]').waitFor() },
  { name: 'staff view', path: '/staff', login: 'staff' },
  { name: 'staff view, an issue open', path: '/staff#issue={issue}', login: 'staff', then: (page) => page.locator('#issue-detail .issue').waitFor() },
  { name: 'resident map, places found', path: '/', then: (page) => page.locator('#place-search-input').fill('Абай').then(() => page.locator('#place-search-results li[role="option"]').first().waitFor()) },
  { name: 'issue page', path: '/issues/{issue}', state: null },
  { name: 'issue page, not found', path: '/issues/999999999', state: null, status: 404 },
];

/**
 * Nothing is excluded: every rule runs on the whole page, MapLibre's
 * canvas and controls included. Should a rule ever have to be left out,
 * name the narrowest selector here and say why.
 */
const EXCLUDE = [];

let server;
let browser;
const users = {};
let issue;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  [issue] = (await getJson(server.url, '/api/v1/issues?limit=1&status=open')).features;
  if (!NEEDS_DATABASE) {
    users.planner = await makeUser(server, 'planner');
    users.staff = await makeUser(server, 'staff', { department: issue.properties.assigned_department ?? 'roads' });
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** axe-core's violations on the page as it is, one line each. */
async function violations(page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate((exclude) => window.axe.run(exclude.length ? { exclude: exclude.map((s) => [s]) } : document, { resultTypes: ['violations'] }), EXCLUDE);
  return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(' ')} — ${n.failureSummary?.split('\n').slice(1).join(' ')}`));
}

describe('accessibility (axe-core)', () => {
  for (const spec of PAGES) {
    for (const lang of LANGS) {
      for (const [deviceName, device] of [['desk', undefined], ['phone', PHONE]]) {
        const skip = spec.login && NEEDS_DATABASE;
        test(`${spec.name} (${lang}, ${deviceName}) has no violations`, { skip }, async () => {
          const path = spec.path.replace('{issue}', issue.id);
          const url = `${server.url}${path.includes('?') ? path.replace('?', `?lang=${lang}&`) : path.replace(/(#|$)/, `?lang=${lang}$1`)}`;
          const { page, context, errors } = await openPage(browser, url, {
            ...(device ? { device } : {}),
            login: spec.login ? users[spec.login] : null,
            state: spec.state === undefined ? 'ready' : spec.state,
          });
          try {
            await spec.then?.(page);
            assert.deepEqual(await violations(page), [], `${spec.name} in ${lang} on a ${deviceName}`);
            // A page answered 404 on purpose logs that status, and only that.
            const expected = spec.status === 404 ? errors.filter((e) => !e.includes(`404 (Not Found) (${url})`)) : errors;
            assert.deepEqual(expected, [], 'no console errors');
          } finally {
            await context.close();
          }
        });
      }
    }
  }
});
