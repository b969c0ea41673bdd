// Dates and numbers in headless Chromium against the real server: Kazakh is
// written in Kazakh although Chromium has no Kazakh formatting data, and
// the planner's date filter and its table count days on the city's clock
// (Asia/Almaty) in a browser set to New York; the staff view writes Kazakh
// dates and district names through the same module. The expected texts come from
// Node's own ICU, which has full Kazakh data: an independent oracle.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, openPage } from './browser.mjs';
import { NEEDS_DATABASE, getJson, makeUser, startServer } from './server.mjs';

const CITY_ZONE = 'Asia/Almaty';

let server;
let browser;
let planner;
let staff;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  if (!NEEDS_DATABASE) {
    planner = await makeUser(server, 'planner');
    staff = await makeUser(server, 'staff', { department: 'roads' });
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Node's ICU: how `lang` writes this instant on the city's clock. */
const expectedDate = (lang, iso, withTime) =>
  new Intl.DateTimeFormat(lang, { dateStyle: 'medium', ...(withTime ? { timeStyle: 'short' } : {}), timeZone: CITY_ZONE }).format(new Date(iso));

/** The city's calendar day of an instant. */
const cityDay = (iso) => new Intl.DateTimeFormat('en-CA', { timeZone: CITY_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));

/** Every issue of the demo city, through the API's pages. */
async function allIssues(query = '') {
  const features = [];
  let next = `/api/v1/issues?limit=1000${query}`;
  while (next) {
    const page = await getJson(server.url, next);
    features.push(...page.features);
    next = page.next ? new URL(page.next, server.url).pathname + new URL(page.next, server.url).search : null;
  }
  return features;
}

describe('dates and numbers', () => {
  test('Kazakh dates and numbers are Kazakh even where Chromium has no Kazakh data; Russian as Intl writes it', async () => {
    const [issue] = (await getJson(server.url, '/api/v1/issues?limit=1')).features;
    const { page, context, errors } = await openPage(browser, `${server.url}/?lang=kk#issue=${issue.id}`, { locale: 'kk-KZ' });
    try {
      // What the bug was: Chromium claims `kk` and then writes the root locale's pattern.
      const raw = await page.evaluate(() => new Intl.DateTimeFormat('kk', { dateStyle: 'medium' }).format(Date.UTC(2026, 2, 23)));
      if (!/ж\./.test(raw)) assert.match(raw, /M03|03/, `Chromium's own kk date: ${raw}`);

      await page.locator(`#panel article[data-issue-id="${issue.id}"]`).waitFor();
      const shown = await page.locator('#panel .facts').evaluate((dl) => {
        const dts = [...dl.querySelectorAll('dt')];
        return Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent]));
      });
      const expected = expectedDate('kk', issue.properties.created_at, true);
      assert.ok(Object.values(shown).includes(expected), `the panel shows ${expected}: ${JSON.stringify(shown)}`);
      assert.ok(!Object.values(shown).some((v) => /M\d\d/.test(v)), 'no root-locale month');

      // Numbers: the characters-left count of the report form (4 000).
      await page.keyboard.press('Escape');
      await page.locator('#report-button').click();
      const left = await page.locator('#description-count').innerText();
      assert.ok(left.includes(new Intl.NumberFormat('kk').format(4000)), `Kazakh thousands: ${JSON.stringify(left)}`);

      // The same page in Russian: Chromium's own data, on the city's clock.
      await page.getByLabel('Тіл').selectOption('ru');
      await page.keyboard.press('Escape');
      await page.evaluate((id) => (location.hash = `#issue=${id}`), issue.id);
      await page.locator(`#panel article[data-issue-id="${issue.id}"]`).waitFor();
      assert.match(await page.locator('#panel .facts').innerText(), new RegExp(expectedDate('ru', issue.properties.created_at, true)));
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('the planner counts days on the city\'s clock, in filter and table alike, from a browser in New York', { skip: NEEDS_DATABASE }, async () => {
    // An issue reported in the city's evening-after-midnight window: after
    // 19:00 UTC (00:00 in Almaty, the next day) and before midnight UTC, so
    // its UTC day, New York day and city day are not all the same.
    const issues = await allIssues();
    const late = issues.find((f) => {
      const hour = new Date(f.properties.created_at).getUTCHours();
      return hour >= 19 && hour <= 22 && f.properties.district_id;
    });
    assert.ok(late, 'the demo city has an issue near midnight in Almaty');
    const day = cityDay(late.properties.created_at);
    assert.notEqual(day, late.properties.created_at.slice(0, 10), 'its city day is not its UTC day');
    const district = late.properties.district_id;
    const expectedIds = issues.filter((f) => f.properties.district_id === district && cityDay(f.properties.created_at) === day).map((f) => f.id).sort((a, b) => a - b);

    const { page, context, errors } = await openPage(browser, `${server.url}/planner?from=${day}&to=${day}&district=${district}`, {
      login: planner,
      timezoneId: 'America/New_York',
      locale: 'en-GB',
    });
    try {
      assert.equal(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone), 'America/New_York');
      await page.waitForFunction(() => document.querySelector('#issues-table')?.dataset.state === 'ready');
      const rows = await page.locator('#issues-table tbody tr').evaluateAll((trs) =>
        trs.map((tr) => ({ id: Number(tr.dataset.issueId), at: tr.querySelector('time').getAttribute('datetime'), text: tr.querySelector('time').textContent })),
      );
      assert.equal(Number(await page.locator('#issues-table').getAttribute('data-count')), expectedIds.length, 'the filter takes the city day');
      const row = rows.find((r) => r.id === late.id);
      assert.ok(row, `issue ${late.id} (${late.properties.created_at}) is in the table of ${day}`);
      assert.equal(row.text, expectedDate('en', late.properties.created_at, false), 'the table shows its city day');
      for (const r of rows) assert.equal(cityDay(r.at), day, `row ${r.id} (${r.at}) is of ${day}`);
      assert.ok(rows.every((r) => r.text === expectedDate('en', `${day}T12:00:00+05:00`, false)), 'every row shows the filtered day');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('the staff view writes an issue\'s dates and district in Kazakh through the same module', { skip: NEEDS_DATABASE }, async () => {
    const [target] = (await getJson(server.url, '/api/v1/issues?limit=1')).features;
    const district = (await getJson(server.url, '/api/v1/districts')).features.find((d) => d.id === target.properties.district_id).properties;
    const { page, context, errors } = await openPage(browser, `${server.url}/staff?lang=kk#issue=${target.id}`, { login: staff, locale: 'kk-KZ' });
    try {
      await page.locator(`#issue-detail .issue[data-issue-id="${target.id}"]`).waitFor();
      const facts = await page.locator('#issue-detail .facts').evaluate((dl) =>
        Object.fromEntries([...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
      );
      assert.ok(Object.values(facts).includes(expectedDate('kk', target.properties.created_at, true)), JSON.stringify(facts));
      assert.ok(Object.values(facts).includes(district.name_kk), `the district in Kazakh: ${JSON.stringify(facts)}`);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });
});
