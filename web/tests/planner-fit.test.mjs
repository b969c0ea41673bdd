// The planner (`/planner`) as a new user met it, in headless Chromium
// against the real server: its sidebar and issues table fit at 375 px and
// 1366 px in all three languages (no sideways scrolling, no clipped text),
// groups of issues on its map carry their counts, and the issue card's
// close button does not cover its title.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { STRINGS } from '../src/i18n.js';
import { PHONE, jumpTo, launchBrowser, mapIdle, openPage } from './browser.mjs';
import { NEEDS_DATABASE, makeUser, startServer } from './server.mjs';

let server;
let browser;
let planner;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  if (!NEEDS_DATABASE) planner = await makeUser(server, 'planner');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const LAPTOP = { viewport: { width: 1366, height: 768 } };

/** The planner with a district's table showing (Almaly: `district=2`, hundreds of issues). */
async function openDistrict(device, lang) {
  const opened = await openPage(browser, `${server.url}/planner?district=2&lang=${lang}`, { device, login: planner });
  await opened.page.waitForFunction(() => document.querySelector('#issues-table')?.dataset.state === 'ready');
  return opened;
}

describe('planner fit and map', { skip: NEEDS_DATABASE }, () => {
  test('the sidebar and the issues table fit at 375 px and 1366 px in English, Russian and Kazakh', async () => {
    for (const [device, width] of [[PHONE, 375], [LAPTOP, 1366]]) {
      for (const lang of ['en', 'ru', 'kk']) {
        const { page, context, errors } = await openDistrict(device, lang);
        try {
          const fit = await page.evaluate(() => {
            const wide = (el) => el.scrollWidth > el.clientWidth + 1;
            return {
              page: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
              wide: [...document.querySelectorAll('.sidebar, .sidebar section, .table-scroll, .issues-table, .counts table, .district-list, .status-filters, .filter-row')]
                .filter(wide)
                .map((el) => `${el.className || el.tagName} ${el.scrollWidth}>${el.clientWidth}`),
            };
          });
          assert.ok(fit.page <= width, `${lang} at ${width}: the page is ${fit.page} wide`);
          assert.deepEqual(fit.wide, [], `${lang} at ${width}: nothing scrolls sideways`);
          assert.ok((await page.locator('#issues-table tbody tr').count()) > 0);
          assert.deepEqual(errors, [], 'no console errors');
        } finally {
          await context.close();
        }
      }
    }
  });

  test('groups of issues show their counts; the issue card\'s close button keeps clear of its title', async () => {
    const { page, context, errors } = await openDistrict(LAPTOP, 'ru');
    try {
      await jumpTo(page, [76.93, 43.26], 12);
      const bubbles = await page.locator('.cluster-bubble').evaluateAll((els) => els.map((el) => ({ text: el.textContent, count: Number(el.dataset.count) })));
      assert.ok(bubbles.length > 0, 'groups are drawn with counts');
      for (const b of bubbles) assert.equal(b.text.replace(/\s/g, ''), String(b.count), JSON.stringify(b));

      await page.locator('#issues-table tbody tr button').first().click();
      const popup = page.locator('.maplibregl-popup');
      await popup.waitFor();
      await page.waitForFunction(() => !window.qalaMap.isMoving());
      await mapIdle(page);
      const close = await popup.locator('.maplibregl-popup-close-button').boundingBox();
      const title = await popup.locator('.issue-card strong').evaluate((el) => {
        // The text itself, not its padded box.
        const range = document.createRange();
        range.selectNodeContents(el);
        const r = range.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
      });
      const overlap = close.x < title.x + title.width && title.x < close.x + close.width && close.y < title.y + title.height && title.y < close.y + close.height;
      assert.equal(overlap, false, `close ${JSON.stringify(close)} and title ${JSON.stringify(title)} do not overlap`);
      assert.equal(await popup.locator('.maplibregl-popup-close-button').getAttribute('aria-label'), STRINGS.ru['panel.close']);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });
});
