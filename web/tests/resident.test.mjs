// The resident map (`/`) in headless Chromium against the real server with
// the demo city: it loads cleanly, draws its layers, files a report that
// then exists in the API and on the map, warns of a nearby duplicate, and
// fits a phone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, PHONE, jumpTo, launchBrowser, mapIdle, openPage, pixelOf, renderedIds, screenshot } from './browser.mjs';
import { getJson, startServer } from './server.mjs';

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe('resident map', () => {
  test('the page loads with no console errors and draws every layer', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/`);
    try {
      const counts = await page.evaluate(() => {
        const map = window.qalaMap;
        const count = (layers) => map.queryRenderedFeatures({ layers }).length;
        return {
          districts: count(['districts-fill']),
          publicSpaces: count(['public-spaces', 'public-space-points']),
          greenCorridors: count(['green-corridors']),
          bikeRoutes: count(['bike-routes']),
          clusters: count(['issue-clusters']),
        };
      });
      for (const [layer, n] of Object.entries(counts)) assert.ok(n > 0, `${layer} drew nothing at the city view: ${JSON.stringify(counts)}`);

      // Cluster counts are labelled (HTML, as the style has no glyphs).
      const bubbles = await page.locator('.cluster-bubble').evaluateAll((els) => els.map((el) => Number(el.dataset.count)));
      assert.ok(bubbles.length > 0 && bubbles.every((n) => n >= 2), `cluster counts are shown: ${bubbles}`);
      const total = (await getJson(server.url, '/api/v1/stats/issues?group_by=status')).total;
      assert.ok(bubbles.reduce((a, b) => a + b, 0) <= total);

      // Closer in, single issues replace the clusters, coloured by status.
      const [issue] = (await getJson(server.url, '/api/v1/issues?limit=1')).features;
      await jumpTo(page, issue.geometry.coordinates, 16);
      const ids = await renderedIds(page, ['issue-points']);
      assert.ok(ids.includes(issue.id), `issue ${issue.id} is drawn at zoom 16`);

      // The legend's toggles switch layers off and on.
      await page.getByRole('checkbox', { name: 'Bike routes' }).uncheck();
      assert.equal(await page.evaluate(() => window.qalaMap.getLayoutProperty('bike-routes', 'visibility')), 'none');
      await page.getByRole('checkbox', { name: 'Bike routes' }).check();
      assert.equal(await page.evaluate(() => window.qalaMap.getLayoutProperty('bike-routes', 'visibility')), 'visible');

      // Clicking an issue opens its panel with the public history.
      const point = await pixelOf(page, issue.geometry.coordinates);
      await page.mouse.click(point.x, point.y);
      const panel = page.locator('#panel');
      await panel.locator(`article[data-issue-id="${issue.id}"]`).waitFor();
      assert.match(await panel.locator('.panel-title').innerText(), new RegExp(`#${issue.id}`));
      assert.ok((await panel.locator('.history li').count()) >= 1, 'the history lists the report');
      await page.keyboard.press('Escape');
      await panel.waitFor({ state: 'hidden' });

      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('a report filed through the form exists in the API and appears on the map without a reload', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/`);
    try {
      await page.getByRole('button', { name: 'Report a problem' }).click();
      await page.locator('#report-form').waitFor();

      // Tap the map well inside the Almaly district; the map zooms in on the pin.
      const target = [76.9135, 43.2455];
      await jumpTo(page, target, 14);
      const at = await pixelOf(page, target);
      await page.mouse.click(at.x, at.y);
      await page.waitForFunction(() => document.querySelector('#report-form')?.dataset.pinned === 'true');
      // The tiles around the pin are drawn (and cached by the browser) before the report exists.
      await page.waitForFunction(() => !window.qalaMap.isMoving());
      await mapIdle(page);
      assert.ok(await page.evaluate(() => window.qalaMap.getZoom()) >= 14, 'single issues are drawn at this zoom');

      await page.getByRole('radio', { name: 'Graffiti / vandalism' }).check();
      const description = `Browser test report ${Date.now()}: graffiti on the bus shelter`;
      await page.getByLabel('What is wrong?').fill(description);
      await page.getByLabel('Address or landmark (optional)').fill('Abay Ave bus stop');
      await page.getByLabel('Email for updates (optional)').fill('resident@example.org');
      await page.getByRole('button', { name: 'Send report' }).click();

      const success = page.locator('#report-success');
      await success.waitFor();
      const id = Number(await success.getAttribute('data-issue-id'));
      assert.ok(id > 0, 'the confirmation names the new issue');
      assert.match(await success.innerText(), new RegExp(`#${id}`));
      assert.match(await page.locator('#panel .status-badge').first().innerText(), /Open/);

      // It is in the API, where it was put, and without the private email.
      const issue = await getJson(server.url, `/api/v1/issues/${id}`);
      assert.equal(issue.properties.description, description);
      assert.equal(issue.properties.category, 'graffiti');
      assert.equal(issue.properties.status, 'open');
      const [lon, lat] = issue.geometry.coordinates;
      assert.ok(Math.abs(lon - target[0]) < 0.0005 && Math.abs(lat - target[1]) < 0.0005, `located at ${lon},${lat}`);
      assert.ok(!JSON.stringify(issue).includes('resident@example.org'));

      // And on the map where the resident is looking, from refreshed tiles, with no page reload.
      await page.waitForFunction((issueId) => window.qalaMap.queryRenderedFeatures({ layers: ['issue-points'] }).some((f) => f.id === issueId), id, { timeout: 30_000 });
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('the duplicate hint lists an issue of the same category already reported at the spot', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/`);
    try {
      const [existing] = (await getJson(server.url, '/api/v1/issues?limit=1&status=open')).features;
      const names = (await getJson(server.url, '/api/v1/categories')).categories;
      const categoryLabel = names.find((c) => c.code === existing.properties.category).names.en;

      await page.getByRole('button', { name: 'Report a problem' }).click();
      await jumpTo(page, existing.geometry.coordinates, 17);
      const at = await pixelOf(page, existing.geometry.coordinates);
      await page.mouse.click(at.x, at.y);
      await page.getByRole('radio', { name: categoryLabel, exact: true }).check();

      const hint = page.locator('#nearby');
      await hint.locator(`li[data-issue-id="${existing.id}"]`).waitFor();
      assert.equal(await hint.getAttribute('data-state'), 'found');
      assert.match(await hint.innerText(), /Already reported nearby/);

      // Opening it shows the existing issue instead of filing a new one.
      await hint.getByRole('button', { name: `Open #${existing.id}` }).click();
      await page.locator(`#panel article[data-issue-id="${existing.id}"]`).waitFor();
      assert.equal(await page.locator('#report-form').count(), 0, 'the report form gave way to the existing issue');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('a report can be filed with the keyboard alone, with the focus always visible', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/`);
    try {
      /** Presses Tab until the focused element matches, checking that each stop shows its focus. */
      const tabTo = async (matches) => {
        for (let i = 0; i < 40; i++) {
          await page.keyboard.press('Tab');
          const focus = await page.evaluate(() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return { id: el.id, name: el.getAttribute('name'), tag: el.tagName, outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
          });
          if (focus.tag !== 'BODY') assert.ok(focus.outline !== 'none' && focus.width > 0, `focus visible on ${JSON.stringify(focus)}`);
          if (matches(focus)) return;
        }
        assert.fail('the control was not reached with Tab');
      };
      await tabTo((f) => f.id === 'report-button');
      await page.keyboard.press('Enter');
      await page.locator('#report-form').waitFor();
      await tabTo((f) => f.id === 'use-centre');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelector('#report-form')?.dataset.pinned === 'true');
      await tabTo((f) => f.name === 'category');
      await page.keyboard.press('Space');
      const category = await page.evaluate(() => document.querySelector('input[name="category"]:checked')?.value);
      assert.ok(category, 'a category is chosen with the keyboard');
      await tabTo((f) => f.id === 'description');
      await page.keyboard.type('Typed with the keyboard only');
      await tabTo((f) => f.id === 'report-submit');
      await page.keyboard.press('Enter');
      const success = page.locator('#report-success');
      await success.waitFor();
      const id = Number(await success.getAttribute('data-issue-id'));
      const issue = await getJson(server.url, `/api/v1/issues/${id}`);
      assert.equal(issue.properties.description, 'Typed with the keyboard only');
      assert.equal(issue.properties.category, category);
      // Escape closes the panel and gives the focus back.
      await page.keyboard.press('Escape');
      await page.locator('#panel').waitFor({ state: 'hidden' });
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('the server\'s refusal is shown next to the field it concerns', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/`);
    try {
      await page.getByRole('button', { name: 'Report a problem' }).click();
      // Outside every district (the demo city ends at 76.75° E).
      const outside = [76.7, 43.3];
      await jumpTo(page, outside, 16);
      const at = await pixelOf(page, outside);
      await page.mouse.click(at.x, at.y);
      await page.getByRole('radio', { name: 'Other', exact: true }).check();
      await page.getByLabel('What is wrong?').fill('Somewhere beyond the city limits');
      await page.getByRole('button', { name: 'Send report' }).click();
      const error = page.locator('#geometry-error');
      await error.waitFor();
      assert.match(await error.innerText(), /outside/i);
      // The pin is flagged as it is placed, so the text above can show before
      // the server has answered: the form is idle again only after its 422.
      await page.locator('#report-form:not([aria-busy])').waitFor();
      assert.match(await error.innerText(), /outside/i);
      assert.equal(await page.locator('#report-success').count(), 0);
      // Missing fields are named before anything is sent.
      await page.getByLabel('What is wrong?').fill('');
      await page.getByRole('button', { name: 'Send report' }).click();
      const describe = page.locator('#description-error');
      await describe.waitFor();
      assert.equal(await describe.innerText(), 'Describe the problem.');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'description');
      // Chromium logs every 4xx response; the one this test provoked is the only one allowed.
      assert.deepEqual(errors.filter((e) => !/status of 422 .*\/api\/v1\/issues\)$/.test(e)), [], 'no other console errors');
      assert.equal(errors.length, 1);
    } finally {
      await context.close();
    }
  });

  test('the interface switches language, and Russian and Kazakh are complete', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/`, { locale: 'ru-RU' });
    try {
      // Chosen from the browser: a Russian browser gets Russian.
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'ru');
      assert.equal(await page.locator('#report-button').innerText(), 'Сообщить о проблеме');
      await page.getByLabel('Язык').selectOption('kk');
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'kk');
      assert.equal(await page.locator('#report-button').innerText(), 'Мәселе туралы хабарлау');
      await page.locator('#report-button').click();
      assert.ok(await page.getByRole('radio', { name: 'Жолдағы шұңқыр' }).isVisible(), 'category names follow the language');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('a configured basemap draws under Qala\'s layers; without one there is none', async () => {
    const basemap = {
      version: 8,
      sources: {},
      layers: [{ id: 'test-basemap-land', type: 'background', paint: { 'background-color': '#e8efe0' } }],
    };
    const url = `data:application/json,${encodeURIComponent(JSON.stringify(basemap))}`;
    const { page, context, errors } = await openPage(browser, `${server.url}/?basemap=${encodeURIComponent(url)}`);
    try {
      const layers = await page.evaluate(() => window.qalaMap.getStyle().layers.map((l) => l.id));
      assert.equal(layers[0], 'test-basemap-land', 'the basemap is at the bottom');
      assert.ok(!layers.includes('background'), 'Qala\'s plain background gives way');
      for (const id of ['districts-fill', 'bike-routes', 'issue-clusters', 'issue-points']) assert.ok(layers.includes(id), id);
      // Remembered for the next visit, and `?basemap=` forgets it.
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => document.body.dataset.state === 'ready');
      assert.equal(await page.evaluate(() => window.qalaMap.getStyle().layers[0].id), 'test-basemap-land');
      await page.goto(`${server.url}/?basemap=`);
      await page.waitForFunction(() => document.body.dataset.state === 'ready');
      assert.equal(await page.evaluate(() => window.qalaMap.getStyle().layers[0].id), 'background');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('screenshots of the resident map on a desktop', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/`, { device: DESKTOP });
    try {
      const [issue] = (await getJson(server.url, '/api/v1/issues?limit=1&status=in_progress')).features;
      await page.evaluate((id) => {
        location.hash = `#issue=${id}`;
      }, issue.id);
      await page.locator(`#panel article[data-issue-id="${issue.id}"]`).waitFor();
      // Back out to the city, with the issue's panel open beside it.
      await page.evaluate(() => window.qalaMap.stop());
      await page.evaluate(() => window.qalaMap.jumpTo({ center: [76.905, 43.262], zoom: 11.3 }));
      await mapIdle(page);
      await screenshot(page, 'resident-desktop');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('on a 375 px phone the page does not scroll sideways, with the report form open too', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/`, { device: PHONE });
    try {
      const scrollWidth = () => page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
      assert.ok((await scrollWidth()) <= 375, `scrollWidth ${await scrollWidth()}`);
      // The longest strings are Kazakh: they fit too.
      await page.getByLabel('Language').selectOption('kk');
      assert.ok((await scrollWidth()) <= 375, `scrollWidth in Kazakh ${await scrollWidth()}`);
      await page.getByLabel('Тіл').selectOption('en');

      await page.getByRole('button', { name: 'Report a problem' }).tap();
      await page.locator('#report-form').waitFor();
      const at = await pixelOf(page, [76.93, 43.255]);
      await page.touchscreen.tap(at.x, Math.min(at.y, 250));
      await page.waitForFunction(() => document.querySelector('#report-form')?.dataset.pinned === 'true');
      await page.getByRole('radio', { name: 'Road damage / pothole' }).check();
      await page.locator('#nearby').waitFor();
      await page.waitForFunction(() => ['found', 'none'].includes(document.querySelector('#nearby').dataset.state));
      await mapIdle(page);
      assert.ok((await scrollWidth()) <= 375, `scrollWidth with the form open: ${await scrollWidth()}`);
      await page.locator('#panel .panel-body').evaluate((el) => el.scrollTo(0, 0));
      await screenshot(page, 'resident-phone');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });
});
