// Staff → resident: a staff member (a user made with `qala user add`, acting
// through the API with the token `qala user token` printed) moves a pothole
// on to "in progress" with a note, and residents who keep the issue open in
// their own browser contexts see the new status, the note and the department
// in the public history without a reload, and the map's colour follows. The
// internal note never reaches them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, openPage, panelState, waitForBadge } from './browser.mjs';
import { NEEDS_DATABASE, getJson, qala, report, send, startServer } from './server.mjs';

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe('staff → resident', () => {
  test('a status change by staff reaches the resident\'s open panel and the map without a reload', { skip: NEEDS_DATABASE }, async () => {
    // The staff member, made with the real command line on the server's
    // database (a new address each run, for a server that outlives one).
    const email = `staff-${Date.now()}@example.kz`;
    await qala(server.database, 'user', 'add', email, '--role', 'staff', '--department', 'roads');
    const token = (await qala(server.database, 'user', 'token', email)).trim();
    assert.match(token, /^qala_\S+$/, 'user token prints the token');

    // A resident's pothole in the centre: routed to the roads department.
    const created = await report(server.url, { description: 'A deep pothole by the tram stop' });
    const id = created.id;
    assert.equal(created.properties.assigned_department, 'roads');
    const { departments } = await getJson(server.url, '/api/v1/departments');
    const roads = departments.find((d) => d.code === 'roads');
    assert.ok(roads?.names?.en && roads.names.ru, `the roads department has names: ${JSON.stringify(roads)}`);

    // Two residents keep the issue open: one reads English, one Russian.
    const residents = [
      { lang: 'en', inProgress: 'In progress', acknowledged: 'Acknowledged', ...(await openPage(browser, `${server.url}/?lang=en#issue=${id}`)) },
      { lang: 'ru', inProgress: 'В работе', acknowledged: 'Принято', ...(await openPage(browser, `${server.url}/?lang=ru#issue=${id}`, { locale: 'ru-RU' })) },
    ];
    try {
      for (const r of residents) {
        await waitForBadge(r.page, r.lang === 'en' ? 'Open' : 'Открыто');
        const state = await panelState(r.page);
        assert.equal(state.id, id);
        assert.equal(state.steps.length, 1, 'a new issue\'s history is its report');
        // The issue's department is named in the reader's language.
        assert.ok(state.text.includes(roads.names[r.lang]), `the ${r.lang} panel names ${roads.names[r.lang]}`);
      }

      // The staff member moves it on, through the API with the token.
      const internal = 'INTERNAL: contractor invoice 4471, do not publish';
      const acknowledged = await send(server.url, `/api/v1/issues/${id}/events`, {
        method: 'POST',
        token,
        body: { status: 'acknowledged', note: 'Seen by the roads department', internal_note: internal },
      });
      assert.equal(acknowledged.status, 201, JSON.stringify(acknowledged.body));
      const note = 'A crew repairs it on Thursday';
      const moved = await send(server.url, `/api/v1/issues/${id}/events`, {
        method: 'POST',
        token,
        body: { status: 'in_progress', note, internal_note: internal },
      });
      assert.equal(moved.status, 201, JSON.stringify(moved.body));

      for (const r of residents) {
        // No reload: the open panel follows on its own.
        await waitForBadge(r.page, r.inProgress);
        const state = await panelState(r.page);
        assert.deepEqual(
          state.steps.map((s) => s.status),
          ['open', 'acknowledged', 'in_progress'],
          `${r.lang}: the report, then each change, oldest first`,
        );
        const [, seen, inProgress] = state.steps;
        assert.equal(seen.step, r.acknowledged);
        assert.equal(seen.note, 'Seen by the roads department');
        assert.equal(inProgress.step, r.inProgress);
        assert.equal(inProgress.note, note);
        assert.equal(inProgress.by, roads.names[r.lang], `${r.lang}: the step names the department that acted`);
        assert.ok(!state.text.includes('INTERNAL') && !state.text.includes('4471'), `${r.lang}: the internal note is never shown`);

        // The map's colour follows: the issue's point on the tiles is now in progress.
        await r.page.waitForFunction(
          (issueId) =>
            window.qalaMap
              .queryRenderedFeatures({ layers: ['issue-points'] })
              .some((f) => f.id === issueId && f.properties.status === 'in_progress'),
          id,
          { timeout: 15_000, polling: 200 },
        );
        assert.deepEqual(r.errors, [], `${r.lang}: no console errors`);
      }

      // The public history the panel read has no internal note either.
      const history = await send(server.url, `/api/v1/issues/${id}/events`);
      assert.equal(history.status, 200);
      assert.deepEqual(
        history.body.events.map((e) => [e.to_status, e.note, e.by.department]),
        [
          ['acknowledged', 'Seen by the roads department', 'roads'],
          ['in_progress', note, 'roads'],
        ],
      );
      assert.ok(!JSON.stringify(history.body).includes('4471'), 'the public history has no internal note');
    } finally {
      for (const r of residents) await r.context.close();
    }
  });
});
