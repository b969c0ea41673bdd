// A resident's follow-up in headless Chromium against the real server: a
// report with a photo shows the photo in its panel and the private link;
// "me too" counts once; a comment joins the history; a report made
// elsewhere appears on an open map without a reload; a refusal is shown
// next to its field in Russian.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jumpTo, launchBrowser, openPage, pixelOf, renderedIds } from './browser.mjs';
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

/** A real JPEG (a 640×480 gradient), encoded by the browser's own encoder. */
async function jpeg(page) {
  const base64 = await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(640, 480);
    const g = canvas.getContext('2d');
    const gradient = g.createLinearGradient(0, 0, 640, 480);
    gradient.addColorStop(0, '#c62828');
    gradient.addColorStop(1, '#1565c0');
    g.fillStyle = gradient;
    g.fillRect(0, 0, 640, 480);
    const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let text = '';
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text);
  });
  return Buffer.from(base64, 'base64');
}

describe('a resident follows up', () => {
  test('a report with a photo shows the photo and the private link; me too counts once; a comment joins the history', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/`);
    try {
      await page.getByRole('button', { name: 'Report a problem' }).click();
      await page.locator('#report-form').waitFor();
      const target = [76.9142, 43.2461];
      await jumpTo(page, target, 16);
      const at = await pixelOf(page, target);
      await page.mouse.click(at.x, at.y);
      await page.waitForFunction(() => document.querySelector('#report-form')?.dataset.pinned === 'true');
      await page.getByRole('radio', { name: 'Road damage / pothole' }).check();
      const description = `Photo report ${Date.now()}: a deep pothole at the crossing`;
      await page.getByLabel('What is wrong?').fill(description);
      await page.getByLabel('Photos (optional, up to 3)').setInputFiles({ name: 'pothole.jpg', mimeType: 'image/jpeg', buffer: await jpeg(page) });
      await page.locator('#photo-previews img').waitFor();
      await page.getByRole('button', { name: 'Send report' }).click();

      const success = page.locator('#report-success');
      await success.waitFor();
      const id = Number(await success.getAttribute('data-issue-id'));
      // The private link is shown once, with what mail brings (no email: none).
      const link = await page.locator('#private-link').getAttribute('href');
      assert.match(link, new RegExp(`[?&]issue=${id}&token=[\\w-]{20,}`));
      assert.match(await page.locator('#mail-note').innerText(), /no email/i);

      // The photo is stored, listed and drawn from its thumbnail.
      const issue = await getJson(server.url, `/api/v1/issues/${id}`);
      assert.equal(issue.properties.photos?.length, 1, JSON.stringify(issue.properties));
      assert.ok(!JSON.stringify(issue).includes('token'), 'no private link in the public issue');
      await page.reload();
      await page.locator(`#panel article[data-issue-id="${id}"]`).waitFor();
      const thumbnail = page.locator('#panel .issue > .photos img').first();
      await thumbnail.waitFor();
      await page.waitForFunction(() => document.querySelector('#panel .issue > .photos img')?.naturalWidth > 0);
      assert.ok((await thumbnail.evaluate((img) => img.naturalWidth)) <= 320, 'a thumbnail, not the full photo');

      // Me too: once per browser.
      await page.locator('#me-too').click();
      await page.waitForFunction(() => document.querySelector('#me-too')?.getAttribute('aria-pressed') === 'true');
      assert.equal((await getJson(server.url, `/api/v1/issues/${id}`)).properties.votes, 1);
      assert.ok(await page.locator('#me-too').isDisabled(), 'no second vote from this browser');
      // The map draws an issue with votes larger (its radius reads the tiles' `votes`).
      const radius = await page.evaluate(() => JSON.stringify(window.qalaMap.getPaintProperty('issue-points', 'circle-radius')));
      assert.match(radius, /"votes"/);

      // A comment joins the public history.
      const words = `Still there on ${new Date().toISOString().slice(0, 10)}`;
      await page.getByLabel('Your comment').fill(words);
      await page.getByLabel('Your name (optional, shown publicly)').fill('Aigerim');
      await page.getByRole('button', { name: 'Send comment' }).click();
      await page.locator('#panel .history li', { hasText: words }).waitFor();
      assert.match(await page.locator('#panel .history li', { hasText: words }).innerText(), /Aigerim/);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('a report made elsewhere appears on an open map without a reload', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/`);
    try {
      const spot = [76.9301, 43.2519];
      await jumpTo(page, spot, 17);
      // Another resident, in a browser of their own, reports there.
      const other = await openPage(browser, `${server.url}/`);
      let created;
      try {
        created = await other.page.evaluate(async ([lon, lat]) => {
          const response = await fetch('/api/v1/issues', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
            body: JSON.stringify({ type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { category: 'pothole', description: 'Reported from another device' } }),
          });
          return response.json();
        }, spot);
      } finally {
        await other.context.close();
      }
      await page.waitForFunction((id) => window.qalaMap.queryRenderedFeatures({ layers: ['issue-points'] }).some((f) => f.id === id), created.id, { timeout: 15_000, polling: 100 });
      assert.ok((await renderedIds(page, ['issue-points'])).includes(created.id));
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('a refused email is shown next to its field, in Russian', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/?lang=ru`, { locale: 'ru-RU' });
    try {
      await page.getByRole('button', { name: 'Сообщить о проблеме' }).click();
      const target = [76.9142, 43.2461];
      await jumpTo(page, target, 16);
      const at = await pixelOf(page, target);
      await page.mouse.click(at.x, at.y);
      await page.waitForFunction(() => document.querySelector('#report-form')?.dataset.pinned === 'true');
      await page.getByRole('radio', { name: 'Яма или повреждение дороги' }).check();
      await page.getByLabel('Что случилось?').fill('Яма у перекрёстка');
      // Plausible to the browser's type=email, not to the server.
      await page.getByLabel('Email для уведомлений (необязательно)').fill('resident@localhost');
      await page.getByRole('button', { name: 'Отправить' }).click();
      const error = page.locator('#email-error');
      await error.waitFor();
      assert.equal(await error.innerText(), 'Это не адрес электронной почты.');
      assert.equal(await page.locator('#form-error').isHidden(), true, 'not above the Send button');
      assert.deepEqual(errors.filter((e) => !/status of 422 .*\/api\/v1\/issues\)$/.test(e)), []);
    } finally {
      await context.close();
    }
  });
});
