// Live map: with the resident map open and no issue panel (so nothing
// polls), a status change made through the API recolours the issue's point:
// the server announces it on /api/v1/live and the map reloads its tiles.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, openPage } from './browser.mjs';
import { qala, startServer } from './server.mjs';

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function send(path, { method = 'GET', token, body } = {}) {
  const response = await fetch(new URL(path, server.url), {
    method,
    headers: {
      accept: 'application/json',
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json() };
}

/** The status the map draws for issue `id` (null while it is not drawn). */
function drawnStatus(page, id) {
  return page.evaluate(
    (issueId) =>
      window.qalaMap.queryRenderedFeatures({ layers: ['issue-points'] }).find((f) => f.id === issueId)?.properties.status ?? null,
    id,
  );
}

function waitForDrawnStatus(page, id, status) {
  return page.waitForFunction(
    ([issueId, wanted]) =>
      window.qalaMap.queryRenderedFeatures({ layers: ['issue-points'] }).some((f) => f.id === issueId && f.properties.status === wanted),
    [id, status],
    { timeout: 15_000, polling: 100 },
  );
}

describe('live map', () => {
  test('a status change made through the API recolours the map with no panel open', { skip: process.env.QALA_TEST_URL && !process.env.QALA_TEST_DATABASE ? 'needs QALA_TEST_DATABASE' : false }, async () => {
    const email = `live-${Date.now()}@example.kz`;
    await qala(server.database, 'user', 'add', email, '--role', 'staff', '--department', 'roads');
    const token = (await qala(server.database, 'user', 'token', email)).trim();

    const at = [76.9187, 43.2388];
    const created = await send('/api/v1/issues', {
      method: 'POST',
      body: {
        type: 'Feature',
        geometry: { type: 'Point', coordinates: at },
        properties: { category: 'pothole', description: 'A pothole the live map follows' },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;

    const { page, context, errors } = await openPage(browser, `${server.url}/?lang=en`);
    try {
      await page.evaluate((center) => window.qalaMap.jumpTo({ center, zoom: 17 }), at);
      await waitForDrawnStatus(page, id, 'open');
      assert.equal(await page.evaluate(() => document.getElementById('panel').hidden), true, 'no panel is open');

      const moved = await send(`/api/v1/issues/${id}/events`, { method: 'POST', token, body: { status: 'acknowledged', note: 'Seen' } });
      assert.equal(moved.status, 201, JSON.stringify(moved.body));
      await waitForDrawnStatus(page, id, 'acknowledged');

      const again = await send(`/api/v1/issues/${id}/events`, { method: 'POST', token, body: { status: 'in_progress', note: 'On it' } });
      assert.equal(again.status, 201, JSON.stringify(again.body));
      await waitForDrawnStatus(page, id, 'in_progress');

      assert.equal(await drawnStatus(page, id), 'in_progress');
      assert.equal(await page.evaluate(() => document.getElementById('panel').hidden), true, 'still no panel');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });
});
