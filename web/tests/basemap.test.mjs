// The basemap in headless Chromium: `qala serve --basemap` with a small
// vector archive (streets over central Almaty, written by the
// `qala-basemap-fixture` test binary) draws its streets under the issue
// layers with its attribution shown; without a basemap the district names
// are drawn, in the interface language. In both, nothing is asked of any
// host but the server under test, and the console stays clean.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, EXPECTED_401, PHONE, launchBrowser, mapIdle, screenshot } from './browser.mjs';
import { QALA_BIN, startServer } from './server.mjs';

/**
 * The fixture writer: $QALA_BASEMAP_FIXTURE, else beside the binary under
 * test, else in the debug build of the same target directory (`cargo test`
 * builds it; scripts/test builds it explicitly).
 */
function fixtureBinary() {
  const candidates = [
    process.env.QALA_BASEMAP_FIXTURE,
    join(dirname(QALA_BIN), 'qala-basemap-fixture'),
    join(dirname(QALA_BIN), '..', 'debug', 'qala-basemap-fixture'),
  ].filter(Boolean);
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(`qala-basemap-fixture not found (${candidates.join(', ')}): cargo build -p qala-tests --bin qala-basemap-fixture`);
  }
  return found;
}

const ATTRIBUTION = 'OpenStreetMap contributors (Qala test basemap)';
const SKIP = process.env.QALA_TEST_URL ? 'starts servers of its own: not with QALA_TEST_URL' : false;

/**
 * Opens a page that records console errors, and flags and blocks every
 * request to a host other than the server under test (set up before the
 * page loads, so the very first request is seen).
 */
async function openLocal(browser, url, { alsoAllowed = [], device = DESKTOP } = {}) {
  const context = await browser.newContext({ ...device, locale: 'en-GB' });
  const origins = [new URL(url).origin, ...alsoAllowed];
  const offsite = [];
  const requests = [];
  await context.route('**/*', (route) => {
    const target = route.request().url();
    if (origins.some((o) => target.startsWith(`${o}/`)) || target.startsWith('data:') || target.startsWith('blob:')) {
      requests.push(target);
      return route.continue();
    }
    offsite.push(target);
    return route.abort();
  });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (message) => {
    const line = `console: ${message.text()} (${message.location().url})`;
    if (message.type() === 'error' && !EXPECTED_401.test(line)) errors.push(line);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
  await mapIdle(page);
  return { page, context, errors, offsite, requests };
}

/**
 * A stand-in for an online basemap style (another origin on this machine):
 * a background and a land polygon over Almaty, no glyphs.
 */
function startOnlineStyle() {
  const style = {
    version: 8,
    sources: {
      land: {
        type: 'geojson',
        data: { type: 'Polygon', coordinates: [[[76.6, 43.0], [77.3, 43.0], [77.3, 43.5], [76.6, 43.5], [76.6, 43.0]]] },
      },
    },
    layers: [
      { id: 'online-background', type: 'background', paint: { 'background-color': '#eef2f7' } },
      { id: 'online-land', type: 'fill', source: 'land', paint: { 'fill-color': '#dfe3ea' } },
    ],
  };
  const server = createServer((request, response) => {
    // The page is on another origin: the style is fetched with CORS.
    response.setHeader('access-control-allow-origin', '*');
    if (request.url !== '/online-style.json') {
      response.writeHead(404).end();
      return;
    }
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(style));
  });
  return new Promise((resolveServer) => {
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      resolveServer({ url, stop: () => new Promise((r) => server.close(r)) });
    });
  });
}

describe('basemap', { skip: SKIP }, () => {
  let dir;
  let withBasemap;
  let plain;
  let online;
  let withOnlineStyle;
  let browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qala-basemap-'));
    const archive = join(dir, 'almaty.mbtiles');
    if (SKIP) return;
    execFileSync(fixtureBinary(), [archive]);
    online = await startOnlineStyle();
    [withBasemap, plain, withOnlineStyle, browser] = await Promise.all([
      startServer({ args: ['--basemap', archive] }),
      startServer(),
      startServer({ args: ['--basemap-style', `${online.url}/online-style.json`, '--demo-issues', '100'] }),
      launchBrowser(),
    ]);
  });

  after(async () => {
    await browser?.close();
    await withBasemap?.stop();
    await plain?.stop();
    await withOnlineStyle?.stop();
    await online?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the server's basemap draws its streets under the issues, with its attribution", async () => {
    const { page, context, errors, offsite, requests } = await openLocal(browser, `${withBasemap.url}/`);
    try {
      // Street zoom over Abay Avenue × Dostyk Avenue.
      await page.evaluate(() => window.qalaMap.jumpTo({ center: [76.9555, 43.2405], zoom: 13 }));
      await mapIdle(page);
      const drawn = await page.evaluate(() => {
        const map = window.qalaMap;
        const style = map.getStyle();
        const basemapLayers = style.layers.filter((l) => l.source === 'basemap').map((l) => l.id);
        const roads = map
          .queryRenderedFeatures({ layers: basemapLayers })
          .filter((f) => f.sourceLayer === 'roads')
          .map((f) => f.properties.name);
        return { ids: style.layers.map((l) => l.id), sources: style.layers.map((l) => l.source ?? null), roads };
      });
      for (const street of ['Abay Avenue', 'Dostyk Avenue', 'Tole Bi Street']) {
        assert.ok(drawn.roads.includes(street), `${street} not drawn: ${JSON.stringify([...new Set(drawn.roads)])}`);
      }
      const lastBasemap = drawn.sources.lastIndexOf('basemap');
      for (const qala of ['districts-fill', 'district-labels', 'issue-clusters', 'issue-points']) {
        assert.ok(drawn.ids.indexOf(qala) > lastBasemap, `${qala} is under the basemap: ${drawn.ids.join(' ')}`);
      }

      // The archive's attribution, shown by MapLibre's (compact) control.
      const button = page.locator('.maplibregl-ctrl-attrib-button');
      const inner = page.locator('.maplibregl-ctrl-attrib-inner');
      if (!(await inner.isVisible())) await button.click();
      await page.waitForFunction((text) => document.querySelector('.maplibregl-ctrl-attrib-inner')?.textContent.includes(text), ATTRIBUTION);
      assert.ok(await inner.isVisible(), 'the attribution is not visible');
      await screenshot(page, 'basemap-streets');

      // Tiles and glyphs came from the server itself.
      assert.ok(requests.some((r) => new URL(r).pathname.startsWith('/basemap/13/')), 'no basemap tile was requested');
      assert.ok(requests.some((r) => new URL(r).pathname.startsWith('/fonts/')), 'no glyphs were requested');
      assert.deepEqual(offsite, [], 'requests to other hosts');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('without a basemap the district names are drawn, in the interface language', async () => {
    const { page, context, errors, offsite } = await openLocal(browser, `${plain.url}/?lang=ru`);
    try {
      const names = await page.evaluate(() =>
        window.qalaMap.queryRenderedFeatures({ layers: ['district-labels'] }).map((f) => f.properties.name_ru),
      );
      assert.ok(names.length >= 3, `district labels drawn: ${JSON.stringify(names)}`);
      assert.ok(names.includes('Алмалинский'), JSON.stringify(names));
      await screenshot(page, 'basemap-none-district-labels');
      const textField = () => page.evaluate(() => JSON.stringify(window.qalaMap.getLayoutProperty('district-labels', 'text-field')));
      assert.match(await textField(), /name_ru/);
      // Switching the language relabels the map without a reload.
      await page.selectOption('#lang', 'kk');
      await page.waitForFunction(() => JSON.stringify(window.qalaMap.getLayoutProperty('district-labels', 'text-field')).includes('name_kk'));
      await mapIdle(page);
      const after = await page.evaluate(() => window.qalaMap.queryRenderedFeatures({ layers: ['district-labels'] }).length);
      assert.ok(after >= 3, `district labels after the switch: ${after}`);
      assert.deepEqual(offsite, [], 'requests to other hosts');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test("the server's --basemap-style is the online style Qala's layers are laid over", async () => {
    const { page, context, errors, offsite, requests } = await openLocal(browser, `${withOnlineStyle.url}/`, { alsoAllowed: [online.url] });
    try {
      const drawn = await page.evaluate(() => {
        const map = window.qalaMap;
        const ids = map.getStyle().layers.map((l) => l.id);
        return {
          ids,
          sources: Object.keys(map.getStyle().sources),
          land: map.queryRenderedFeatures({ layers: ['online-land'] }).length,
          districts: map.queryRenderedFeatures({ layers: ['districts-fill'] }).length,
        };
      });
      assert.ok(requests.includes(`${online.url}/online-style.json`), 'the online style was not fetched');
      assert.ok(drawn.land > 0 && drawn.districts > 0, JSON.stringify(drawn));
      assert.equal(drawn.ids[0], 'online-background');
      assert.ok(drawn.ids.indexOf('online-land') < drawn.ids.indexOf('districts-fill'), drawn.ids.join(' '));
      // Qala's own base gives way: no second background, no server basemap,
      // no labels needing glyphs the online style does not have.
      assert.ok(!drawn.ids.includes('background') && !drawn.ids.includes('district-labels'), drawn.ids.join(' '));
      assert.ok(!drawn.sources.includes('basemap'));
      assert.deepEqual(offsite, [], 'requests to other hosts');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  // The pictures in docs/screenshots/: the resident map over the test
  // archive at city and street zoom, in Russian on a desk and Kazakh on a
  // phone; each also checks the streets are drawn at that zoom.
  for (const [lang, deviceName, device] of [['ru', 'desktop', DESKTOP], ['kk', 'phone', PHONE]]) {
    for (const [zoomName, zoom] of [['city', 11], ['street', 15]]) {
      test(`screenshot: the resident map with a basemap at ${zoomName} zoom (${lang}, ${deviceName})`, async () => {
        const { page, context, errors, offsite } = await openLocal(browser, `${withBasemap.url}/?lang=${lang}`, { device });
        try {
          await page.evaluate((z) => window.qalaMap.jumpTo({ center: [76.9555, 43.2405], zoom: z }), zoom);
          await mapIdle(page);
          const roads = await page.evaluate(() => {
            const map = window.qalaMap;
            const layers = map.getStyle().layers.filter((l) => l.source === 'basemap').map((l) => l.id);
            return map.queryRenderedFeatures({ layers }).filter((f) => f.sourceLayer === 'roads').length;
          });
          assert.ok(roads > 0, 'no basemap street drawn');
          await screenshot(page, `resident-basemap-${zoomName}-${lang}-${deviceName}`);
          assert.deepEqual(offsite, [], 'requests to other hosts');
          assert.deepEqual(errors, []);
        } finally {
          await context.close();
        }
      });
    }
  }
});
