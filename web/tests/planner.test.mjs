// The planner view (`/planner`) in headless Chromium against the real server
// with the demo city: the choropleth and the district's table follow the
// filters and agree with /api/v1/stats/issues, a row flies the map to its
// issue, the export holds exactly the selection, and a phone fits. The view
// is for signed-in planners: a planner made with the command line signs in
// (through the API; staff.test.mjs drives the form itself).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, PHONE, launchBrowser, mapIdle, openPage, screenshot } from './browser.mjs';
import { NEEDS_DATABASE, getJson, makeUser, startServer } from './server.mjs';

let server;
let browser;
/** The planner the tests sign in as. */
let planner;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  if (!NEEDS_DATABASE) planner = await makeUser(server, 'planner');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * The issue counts behind the choropleth, by district id: the GeoJSON
 * source's data, and what MapLibre actually drew (districts in view).
 */
async function choropleth(page) {
  await mapIdle(page);
  return page.evaluate(async () => {
    const map = window.qalaMap;
    const source = {};
    for (const f of (await map.getSource('district-counts').getData()).features) source[f.id] = f.properties.issue_count;
    const drawn = {};
    for (const f of map.queryRenderedFeatures({ layers: ['choropleth'] })) drawn[f.id] = f.properties.issue_count;
    return { source, drawn };
  });
}

function assertDrawn({ source, drawn }, expected) {
  assert.deepEqual(source, expected, 'the choropleth source holds the counts');
  assert.ok(Object.keys(drawn).length > 0, 'districts are drawn');
  for (const [id, count] of Object.entries(drawn)) assert.equal(count, expected[id], `district ${id} is drawn with its count`);
}

/** Waits for the planner to finish the refresh a control started. */
function settled(page) {
  return page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
}

async function chooseDistrict(page, name) {
  await page.locator('#district-list').getByRole('button', { name, exact: true }).click();
  await settled(page);
  await page.waitForFunction(() => document.querySelector('#issues-table')?.dataset.state === 'ready');
}

describe('planner', { skip: NEEDS_DATABASE }, () => {
  test('the status filter changes the choropleth and the district table, in step with the stats API', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/planner`, { login: planner });
    try {
      const districts = await getJson(server.url, '/api/v1/districts');
      const byName = Object.fromEntries(districts.features.map((f) => [f.properties.name, f.id]));

      // Unfiltered: every district drawn with its count.
      const before = await choropleth(page);
      const all = Object.fromEntries(districts.features.map((f) => [f.id, f.properties.issue_count]));
      assertDrawn(before, all);
      assert.equal(Object.keys(before.drawn).length, districts.features.length, 'the whole city is in view');

      await chooseDistrict(page, 'Almaly');
      const almaly = byName.Almaly;
      const rowsBefore = Number(await page.locator('#issues-table').getAttribute('data-count'));
      assert.equal(rowsBefore, all[almaly]);

      // Only resolved issues.
      await page.getByRole('checkbox', { name: 'Resolved' }).check();
      await settled(page);
      await page.waitForFunction(() => document.querySelector('#issues-table')?.dataset.state === 'ready');
      const after = await choropleth(page);
      const resolved = await getJson(server.url, '/api/v1/districts?status=resolved');
      const expected = Object.fromEntries(resolved.features.map((f) => [f.id, f.properties.issue_count]));
      assertDrawn(after, expected);
      assert.notDeepEqual(after.source, before.source, 'the filter changed the choropleth');
      // And they agree with the stats API.
      const byDistrict = await getJson(server.url, '/api/v1/stats/issues?group_by=district&status=resolved');
      for (const group of byDistrict.groups) assert.equal(after.source[group.district_id], group.count, group.district);

      const stats = await getJson(server.url, `/api/v1/stats/issues?group_by=category,status&district=${almaly}&status=resolved`);
      const rowsAfter = Number(await page.locator('#issues-table').getAttribute('data-count'));
      assert.equal(rowsAfter, stats.total, 'the table holds the district’s filtered issues');
      assert.ok(rowsAfter < rowsBefore);
      const statuses = await page.locator('#issues-table tbody tr .status-badge').allInnerTexts();
      assert.ok(statuses.length > 0 && statuses.every((s) => s === 'Resolved'), statuses.join());
      // The counts by category agree with the stats API too.
      const byCategory = {};
      for (const g of stats.groups) byCategory[g.category] = (byCategory[g.category] ?? 0) + g.count;
      for (const [category, count] of Object.entries(byCategory)) {
        assert.equal(await page.locator(`#district-counts .by-category tr[data-key="${category}"] td`).innerText(), String(count));
      }

      // Sorting: by status then by id; paging moves on.
      await page.locator('#issues-table th[data-key="id"] button').click();
      const ascending = (await page.locator('#issues-table tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.dataset.issueId))));
      assert.deepEqual(ascending, [...ascending].sort((a, b) => a - b));
      assert.equal(await page.locator('#issues-table th[data-key="id"]').getAttribute('aria-sort'), 'ascending');
      if (rowsAfter > 20) {
        await page.locator('.pager-next').click();
        const second = Number(await page.locator('#issues-table tbody tr').first().getAttribute('data-issue-id'));
        assert.ok(second > ascending[ascending.length - 1], 'the next page continues the order');
      }

      // A row flies the map to its issue.
      const row = page.locator('#issues-table tbody tr').first();
      const id = Number(await row.getAttribute('data-issue-id'));
      const issue = await getJson(server.url, `/api/v1/issues/${id}`);
      await row.getByRole('button').click();
      await page.waitForFunction(() => !window.qalaMap.isMoving());
      await mapIdle(page);
      const center = await page.evaluate(() => window.qalaMap.getCenter().toArray());
      const [lon, lat] = issue.geometry.coordinates;
      assert.ok(Math.abs(center[0] - lon) < 1e-4 && Math.abs(center[1] - lat) < 1e-4, `centred on ${center}, issue at ${lon},${lat}`);
      assert.ok(await page.evaluate(() => window.qalaMap.getZoom()) >= 16);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('the export downloads the selection as a FeatureCollection with the right count', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/planner?status=open,acknowledged`, { login: planner });
    try {
      await chooseDistrict(page, 'Bostandyk');
      const districts = await getJson(server.url, '/api/v1/districts');
      const bostandyk = districts.features.find((f) => f.properties.name === 'Bostandyk').id;
      const stats = await getJson(server.url, `/api/v1/stats/issues?group_by=status&district=${bostandyk}&status=open,acknowledged`);

      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download GeoJSON' }).click()]);
      assert.match(download.suggestedFilename(), /^qala-issues-bostandyk-\d{4}-\d{2}-\d{2}\.geojson$/);
      const collection = JSON.parse(await readFile(await download.path(), 'utf8'));
      assert.equal(collection.type, 'FeatureCollection');
      assert.equal(collection.features.length, stats.total);
      assert.ok(stats.total > 0);
      for (const feature of collection.features) {
        assert.equal(feature.type, 'Feature');
        assert.equal(feature.geometry.type, 'Point');
        assert.ok(['open', 'acknowledged'].includes(feature.properties.status));
        assert.equal(feature.properties.district_id, bostandyk);
      }

      // The CSV has the same rows.
      const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
      const lines = (await readFile(await csv.path(), 'utf8')).trim().split(/\r\n/);
      assert.match(lines[0], /^\uFEFF?id,category,status/);
      // Descriptions may hold line breaks inside quotes, so count ids, not lines.
      const ids = new Set(collection.features.map((f) => f.id));
      const csvIds = lines.slice(1).map((l) => Number(l.split(',')[0])).filter((n) => ids.has(n));
      assert.equal(new Set(csvIds).size, stats.total);

      // With no district, the export is every issue under the filters.
      await page.locator('#district-list').getByRole('button', { name: 'Bostandyk', exact: true }).click();
      await settled(page);
      const city = await getJson(server.url, '/api/v1/stats/issues?group_by=status&status=open,acknowledged');
      const [cityDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download GeoJSON' }).click()]);
      const cityCollection = JSON.parse(await readFile(await cityDownload.path(), 'utf8'));
      assert.equal(cityCollection.features.length, city.total);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('screenshots of the planner on a desktop and a phone; the phone does not scroll sideways', async () => {
    {
      const { page, context, errors } = await openPage(browser, `${server.url}/planner`, { device: DESKTOP, login: planner });
      try {
        await chooseDistrict(page, 'Medeu');
        await page.locator('#choropleth-title').evaluate((el) => el.scrollIntoView());
        await mapIdle(page);
        await screenshot(page, 'planner-desktop');
        assert.deepEqual(errors, [], 'no console errors');
      } finally {
        await context.close();
      }
    }
    {
      const { page, context, errors } = await openPage(browser, `${server.url}/planner`, { device: PHONE, login: planner });
      try {
        const width = () => page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
        assert.ok((await width()) <= 375, `scrollWidth ${await width()}`);
        await chooseDistrict(page, 'Medeu');
        await page.evaluate(() => window.scrollTo(0, 0));
        await mapIdle(page);
        assert.ok((await width()) <= 375, `scrollWidth with a district open: ${await width()}`);
        await screenshot(page, 'planner-phone');
        assert.deepEqual(errors, [], 'no console errors');
      } finally {
        await context.close();
      }
    }
  });
});
