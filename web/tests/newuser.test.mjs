// What a new user hit on the resident map (issue 18), in headless Chromium
// against the real server with the demo city: the server's refusals next
// to their field in Kazakh and Russian; district names in the interface
// language; an issue opened on a phone is moved into view above the bottom
// sheet; long category names fit; "Pin at map centre" zooms in and a pin
// outside the city is flagged at once; and the list of issues with its
// filters, count and keyboard use; the bubbles count open problems.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { STRINGS } from '../src/i18n.js';
import { PHONE, jumpTo, launchBrowser, mapIdle, openPage, pixelOf } from './browser.mjs';
import { getJson, report, startServer } from './server.mjs';

let server;
let browser;
let categories;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  categories = (await getJson(server.url, '/api/v1/categories')).categories;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const REFUSED = /status of 422 .*\/api\/v1\/issues\)$/;
const categoryName = (code, lang) => categories.find((c) => c.code === code).names[lang];

/** Opens the report form and places the pin by a click at [lon, lat] (zoomed in there first). */
async function pinAt(page, lonLat) {
  await page.locator('#report-button').click();
  await page.locator('#report-form').waitFor();
  await jumpTo(page, lonLat, 16);
  const at = await pixelOf(page, lonLat);
  await page.mouse.click(at.x, at.y);
  await page.waitForFunction(() => document.querySelector('#report-form')?.dataset.pinned === 'true');
}

/** Waits until the map has stopped moving and drawn. */
async function settledMap(page) {
  await page.waitForFunction(() => !window.qalaMap.isMoving());
  await mapIdle(page);
}

describe('what a new user hit', () => {
  test('refusals are shown next to their field in Kazakh and Russian, and follow a language switch', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/?lang=kk`, { locale: 'kk-KZ' });
    try {
      await pinAt(page, [76.9142, 43.2461]);
      await page.getByRole('radio', { name: categoryName('pothole', 'kk') }).check();
      await page.locator('#description').fill('Қиылыстағы шұңқыр');
      // Plausible to the browser's type=email, not to the server (`properties.reporter_email`).
      await page.locator('#email').fill('resident@localhost');
      await page.locator('#report-submit').click();
      const email = page.locator('#email-error');
      await email.waitFor();
      assert.equal(await email.innerText(), STRINGS.kk['apierror.invalid_email']);
      assert.equal(await page.locator('#form-error').isHidden(), true, 'not above the Send button');
      assert.equal(await page.locator('#email').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'email');

      // The same refusal in Russian after a switch, without sending again.
      await page.locator('#lang').selectOption('ru');
      assert.equal(await email.innerText(), STRINGS.ru['apierror.invalid_email']);

      // A description longer than the server takes (the page's own limit
      // lifted, as an older form might): its refusal goes under the description.
      await page.locator('#email').fill('');
      await page.locator('#description').evaluate((el) => el.removeAttribute('maxlength'));
      await page.locator('#description').fill('я'.repeat(4001));
      await page.locator('#report-submit').click();
      const description = page.locator('#description-error');
      await description.waitFor();
      assert.equal(await description.innerText(), STRINGS.ru['apierror.description_too_long']);
      assert.equal(await page.locator('#email-error').isHidden(), true, 'the fixed field is clear');
      assert.equal(await page.locator('#form-error').isHidden(), true);
      assert.deepEqual(errors.filter((e) => !REFUSED.test(e)), [], 'no console errors but the two refusals');
      assert.equal(errors.length, 2);
    } finally {
      await context.close();
    }
  });

  test('the issue panel names the district in the interface language', async () => {
    const districts = (await getJson(server.url, '/api/v1/districts')).features;
    const [issue] = (await getJson(server.url, '/api/v1/issues?limit=1')).features;
    const district = districts.find((d) => d.id === issue.properties.district_id).properties;
    const { page, context, errors } = await openPage(browser, `${server.url}/?lang=ru#issue=${issue.id}`, { locale: 'ru-RU' });
    try {
      await page.locator(`#panel article[data-issue-id="${issue.id}"]`).waitFor();
      const row = (label) => page.locator('#panel .facts dt', { hasText: label }).locator('xpath=following-sibling::dd[1]');
      assert.equal(await row(STRINGS.ru['issue.district']).innerText(), district.name_ru);
      await page.locator('#lang').selectOption('kk');
      assert.equal(await row(STRINGS.kk['issue.district']).innerText(), district.name_kk);
      assert.notEqual(district.name_kk, district.name);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('on a phone an issue opened by link or from the list is moved above the bottom sheet', async () => {
    const [issue] = (await getJson(server.url, '/api/v1/issues?limit=1&status=open')).features;
    const { page, context, errors } = await openPage(browser, `${server.url}/#issue=${issue.id}`, { device: PHONE });
    try {
      /** Where the issue is on screen against the sheet's top edge. */
      const placement = async (coordinates) => {
        await settledMap(page);
        const point = await pixelOf(page, coordinates);
        const sheet = await page.locator('#panel').boundingBox();
        const map = await page.locator('#map').boundingBox();
        return { point, sheetTop: sheet.y, mapTop: map.y, zoom: await page.evaluate(() => window.qalaMap.getZoom()) };
      };
      await page.locator(`#panel article[data-issue-id="${issue.id}"]`).waitFor();
      const linked = await placement(issue.geometry.coordinates);
      assert.ok(linked.point.y > linked.mapTop && linked.point.y < linked.sheetTop - 10, `the linked issue is above the sheet: ${JSON.stringify(linked)}`);
      assert.ok(linked.point.x > 0 && linked.point.x < 375);
      assert.ok(linked.zoom >= 16, `street zoom: ${linked.zoom}`);

      // From the list: back out to the city first.
      await page.keyboard.press('Escape');
      await jumpTo(page, [76.93, 43.25], 11);
      await page.locator('#list-button').tap();
      await page.locator('.issue-list-view[data-state="ready"]').waitFor();
      const item = page.locator('#issue-list button').nth(3);
      const id = Number(await item.getAttribute('data-issue-id'));
      await item.tap();
      await page.locator(`#panel article[data-issue-id="${id}"]`).waitFor();
      const listed = await placement((await getJson(server.url, `/api/v1/issues/${id}`)).geometry.coordinates);
      assert.ok(listed.point.y > listed.mapTop && listed.point.y < listed.sheetTop - 10, `the listed issue is above the sheet: ${JSON.stringify(listed)}`);
      assert.ok(listed.zoom >= 16);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('long category names fit the report form at 375 px and 1366 px in all three languages', async () => {
    for (const [device, width] of [[PHONE, 375], [{ viewport: { width: 1366, height: 768 } }, 1366]]) {
      const { page, context, errors } = await openPage(browser, `${server.url}/?lang=en`, { device });
      try {
        await page.locator('#report-button').click();
        await page.locator('#report-form').waitFor();
        for (const lang of ['en', 'ru', 'kk']) {
          await page.locator('#lang').selectOption(lang);
          const overflow = await page.evaluate(() => {
            const wide = (el) => el.scrollWidth > el.clientWidth + 1;
            return {
              page: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
              panel: wide(document.querySelector('#panel .panel-body')),
              names: [...document.querySelectorAll('.category-choice, .category-name, .group-name')].filter(wide).map((el) => el.textContent),
            };
          });
          assert.ok(overflow.page <= width, `${lang} at ${width}: the page is ${overflow.page} wide`);
          assert.equal(overflow.panel, false, `${lang} at ${width}: the panel does not scroll sideways`);
          assert.deepEqual(overflow.names, [], `${lang} at ${width}: no clipped category name`);
        }
        assert.deepEqual(errors, [], 'no console errors');
      } finally {
        await context.close();
      }
    }
  });

  test('"Pin at map centre" zooms in as a tap does; a pin outside the city is flagged when placed', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/?lang=kk`, { locale: 'kk-KZ' });
    try {
      const sent = [];
      page.on('request', (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/v1/issues') sent.push(request.url());
      });
      await page.locator('#report-button').click();
      await page.locator('#report-form').waitFor();
      await jumpTo(page, [76.93, 43.25], 11);
      await page.locator('#use-centre').focus();
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelector('#report-form')?.dataset.pinned === 'true');
      await settledMap(page);
      const { zoom, pin, centre } = await page.evaluate(() => ({
        zoom: window.qalaMap.getZoom(),
        centre: window.qalaMap.getCenter().toArray(),
        pin: window.qalaMap.project(window.qalaMap.getCenter()),
      }));
      assert.ok(zoom >= 15, `the map zoomed in to street level: ${zoom}`);
      assert.ok(Math.abs(centre[0] - 76.93) < 1e-3 && Math.abs(centre[1] - 43.25) < 1e-3, `around the old centre: ${centre} (${JSON.stringify(pin)})`);
      assert.equal(await page.locator('#geometry-error').isHidden(), true, 'inside the city');

      // Outside the city (it ends at 76.75° E): flagged next to the location, before Send.
      await jumpTo(page, [76.7, 43.3], 16);
      await page.locator('#use-centre').click();
      const error = page.locator('#geometry-error');
      await error.waitFor();
      assert.equal(await error.innerText(), STRINGS.kk['apierror.outside_city']);
      assert.equal(await page.locator('#report-form').getAttribute('data-outside'), 'true');
      assert.deepEqual(sent, [], 'nothing was sent');
      // Back inside, the flag goes.
      await jumpTo(page, [76.9142, 43.2461], 16);
      await page.locator('#use-centre').click();
      await error.waitFor({ state: 'hidden' });
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('the open list follows a report made elsewhere: the new issue on top, the count one up', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/?lang=ru`, { locale: 'ru-RU' });
    try {
      await page.locator('#list-button').click();
      const view = page.locator('.issue-list-view');
      await page.waitForFunction(() => document.querySelector('.issue-list-view')?.dataset.state === 'ready');
      const before = Number(await view.getAttribute('data-count'));
      const created = await report(server.url, { description: `Из другого браузера ${Date.now()}` });
      await page.waitForFunction((id) => Number(document.querySelector('#issue-list button')?.dataset.issueId) === id, created.id, { timeout: 15_000 });
      assert.equal(Number(await view.getAttribute('data-count')), before + 1);
      assert.equal(await page.locator('#list-count').innerText(), `${STRINGS.ru['list.count'].replace('{n}', (before + 1).toLocaleString('ru'))}`);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('residents list and filter issues beside the map, by keyboard, with a polite count; bubbles count open problems', async () => {
    const total = async (query) => (await getJson(server.url, `/api/v1/stats/issues?group_by=status${query}`)).total;
    const { page, context, errors } = await openPage(browser, `${server.url}/?lang=en`);
    try {
      // At the city view the bubbles count what is still open.
      const bubbles = await page.locator('.cluster-bubble').evaluateAll((els) => els.map((el) => ({ text: el.textContent, count: Number(el.dataset.count), open: Number(el.dataset.open) })));
      assert.ok(bubbles.length > 0);
      for (const b of bubbles) assert.equal(b.text, b.open ? b.open.toLocaleString('en') : '✓', JSON.stringify(b));
      assert.ok(bubbles.some((b) => b.open < b.count), 'resolved issues are not counted as open');
      assert.ok(bubbles.reduce((s, b) => s + b.open, 0) <= (await total('&status=open,acknowledged,in_progress')));

      // Reached with the keyboard.
      for (let i = 0; i < 30 && (await page.evaluate(() => document.activeElement.id)) !== 'list-button'; i++) await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'list-button');
      await page.keyboard.press('Enter');
      const view = page.locator('.issue-list-view');
      await view.locator('xpath=self::*[@data-state="ready"]').waitFor();
      const count = page.locator('#list-count');
      assert.equal(await count.getAttribute('aria-live'), 'polite');
      const unresolved = await total('&status=open,acknowledged,in_progress');
      assert.equal(await count.innerText(), `Issues found: ${unresolved.toLocaleString('en')}`);
      assert.equal(await page.locator('#issue-list > li > button').count(), Math.min(25, unresolved));
      assert.ok((await page.locator('#issue-list .status-badge').allInnerTexts()).every((s) => ['Open', 'Acknowledged', 'In progress'].includes(s)));

      // Filters are labelled controls.
      const ready = () => page.waitForFunction(() => document.querySelector('.issue-list-view').dataset.state === 'ready');
      await page.getByLabel('Status', { exact: true }).selectOption('resolved');
      await ready();
      assert.equal(await count.innerText(), `Issues found: ${(await total('&status=resolved')).toLocaleString('en')}`);
      assert.ok((await page.locator('#issue-list .status-badge').allInnerTexts()).every((s) => s === 'Resolved'));
      await page.getByLabel('Status', { exact: true }).selectOption('');
      await page.getByLabel('Category', { exact: true }).selectOption('bike_infrastructure');
      await ready();
      assert.equal(await count.innerText(), `Issues found: ${(await total('&status=open,acknowledged,in_progress&category=bike_infrastructure')).toLocaleString('en')}`);
      await page.getByLabel('Open problems only (not yet resolved)').uncheck();
      await ready();
      assert.equal(await count.innerText(), `Issues found: ${(await total('&category=bike_infrastructure')).toLocaleString('en')}`);

      // An issue from the list, and back to it with the focus where it was.
      const item = page.locator('#issue-list button').nth(1);
      const id = Number(await item.getAttribute('data-issue-id'));
      await item.focus();
      await page.keyboard.press('Enter');
      await page.locator(`#panel article[data-issue-id="${id}"]`).waitFor();
      await page.getByRole('button', { name: '← Back to the list' }).click();
      await view.waitFor();
      assert.equal(await page.evaluate(() => Number(document.activeElement.dataset.issueId)), id);
      assert.equal(await page.getByLabel('Category', { exact: true }).inputValue(), 'bike_infrastructure', 'the filters stayed');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
    // On a phone the list fits the bottom sheet.
    const phone = await openPage(browser, `${server.url}/?lang=kk`, { device: PHONE, locale: 'kk-KZ' });
    try {
      await phone.page.locator('#list-button').tap();
      await phone.page.locator('.issue-list-view[data-state="ready"]').waitFor();
      const fit = await phone.page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        body: document.querySelector('#panel .panel-body').scrollWidth - document.querySelector('#panel .panel-body').clientWidth,
      }));
      assert.ok(fit.page <= 375 && fit.body <= 1, JSON.stringify(fit));
      assert.deepEqual(phone.errors, [], 'no console errors');
    } finally {
      await phone.context.close();
    }
  });
});

