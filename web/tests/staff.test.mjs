// The staff view (`/staff`) in headless Chromium against the real server:
// a staff member (made with `qala user add` and `qala user password`) signs
// in through the form, finds a resident's new pothole in their queue, is
// refused a rejection without a note (the API's message, in the page), then
// acknowledges it and moves it on to "in progress" with public and internal
// notes; a resident who keeps the issue open in another browser context sees
// each public note and the new status without a reload, never the internal
// note. Also: a re-route (the issue leaves the queue, the resident sees who
// has it now), a wrong password, a moderator hiding an issue and logging
// out, the planner's login, and a phone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, PHONE, launchBrowser, mapIdle, openPage, panelState, screenshot, waitForBadge } from './browser.mjs';
import { NEEDS_DATABASE, makeUser, report, send, startServer } from './server.mjs';

let server;
let browser;
let staff;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  if (!NEEDS_DATABASE) staff = await makeUser(server, 'staff', { department: 'roads' });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Signs in through the form on a page that shows it. */
async function signInThroughForm(page, { email, password }) {
  await page.locator('#signin-email').fill(email);
  await page.locator('#signin-password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Waits until the staff view's open issue is `id` with `status`, and its map is centred on it. */
async function detailStatus(page, id, status) {
  await page.waitForSelector(`#issue-detail .issue[data-issue-id="${id}"][data-status="${status}"]`, { timeout: 15_000 });
  await page.waitForSelector(`#staff-map[data-issue-id="${id}"]`, { timeout: 60_000 });
}

/** Chooses a status in the detail's form, writes the notes and saves. */
async function changeStatus(page, status, { note = '', internal = '' } = {}) {
  const form = page.locator('#status-form');
  await form.getByRole('radio', { name: status, exact: true }).check();
  await form.locator('#status-note').fill(note);
  await form.locator('#status-internal').fill(internal);
  await form.getByRole('button', { name: 'Save the change' }).click();
}

describe('staff view', { skip: NEEDS_DATABASE }, () => {
  test('staff sign in, work an issue from their queue, and the resident\'s open panel follows', async () => {
    const created = await report(server.url, { description: 'Staff view: a pothole by the bus shelter' });
    const id = created.id;
    assert.equal(created.properties.assigned_department, 'roads');

    const resident = await openPage(browser, `${server.url}/?lang=en#issue=${id}`);
    const desk = await openPage(browser, `${server.url}/staff?lang=en`, { state: 'signin' });
    const { page } = desk;
    try {
      await waitForBadge(resident.page, 'Open');

      // The login form, then the roads queue (the user's department), newest first.
      assert.ok(await page.locator('#staff-main').isHidden(), 'nothing but the form before signing in');
      await signInThroughForm(page, staff);
      await page.waitForFunction(() => document.body.dataset.state === 'ready');
      assert.equal(await page.locator('#queue-scope').inputValue(), 'me', 'their own queue first');
      assert.match(await page.locator('#account').textContent(), /Staff/);
      // The tabs count what the API counts for the queue (every status, whichever tab is shown).
      const apiCounts = () => page.evaluate(async () => (await (await fetch('/api/v1/issues?assigned_to=me&limit=1')).json()).counts.by_status);
      const tabCounts = () =>
        page.locator('.tab').evaluateAll((tabs) => Object.fromEntries(tabs.map((tab) => [tab.dataset.tab, Number(tab.querySelector('.tab-count')?.textContent.replace(/\D/g, ''))])));
      const before = await apiCounts();
      const shown = await tabCounts();
      for (const [status, n] of Object.entries(before)) assert.equal(shown[status], n, `the ${status} tab's count`);
      assert.equal(shown.active, before.open + before.acknowledged + before.in_progress, 'the active tab sums three statuses');

      // Most supported first: votes never grow down the list.
      await page.locator('#queue-sort').selectOption('votes');
      await page.waitForFunction(() => document.body.dataset.state === 'ready' && new URLSearchParams(location.search).get('sort') === 'votes');
      const votes = await page.locator('#queue-list li').evaluateAll((lis) => lis.map((li) => Number(li.querySelector('.votes')?.textContent.replace(/\D/g, '') ?? 0)));
      assert.ok(votes.length > 1 && votes.every((v, i) => i === 0 || v <= votes[i - 1]), `sorted by votes: ${votes}`);
      await page.locator('#queue-sort').selectOption('newest');
      const item = page.locator(`#queue-list li[data-issue-id="${id}"]`);
      await item.waitFor();
      assert.equal(await page.locator('#queue-list li').first().getAttribute('data-issue-id'), String(id), 'newest first');
      assert.match(await item.textContent(), /pothole/);
      assert.match(await item.locator('.age').textContent(), /^\d+ min$/, 'the age of a new report is in minutes');
      assert.equal(await page.locator('.tab[aria-pressed="true"]').getAttribute('data-tab'), 'active');

      // A resident reports while the queue is open: its counts follow without a reload (the live stream).
      const fresh = await report(server.url, { description: 'Staff view: reported while the queue is open' });
      await page.waitForFunction(
        (n) => Number(document.querySelector('.tab[data-tab="active"] .tab-count')?.textContent.replace(/\D/g, '')) === n,
        shown.active + 1,
        { timeout: 15_000, polling: 100 },
      );
      await page.locator(`#queue-list li[data-issue-id="${fresh.id}"]`).waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('#queue-list li').first().getAttribute('data-issue-id'), String(fresh.id), 'at the top, newest first');

      // Open it: details, the map, and only the moves the workflow allows from "open".
      await item.getByRole('link').click();
      await detailStatus(page, id, 'open');
      assert.match(await page.locator('#detail-title').textContent(), new RegExp(`#${id}`));
      assert.match(await page.locator('#issue-detail').textContent(), /by the bus shelter/);
      assert.deepEqual(
        await page.locator('#status-form input[name="status"]').evaluateAll((inputs) => inputs.map((i) => i.value)),
        ['acknowledged', 'rejected', 'duplicate'],
      );
      await mapIdle(page);

      // A rejection without a note: the server refuses it, the page says why, nothing changes.
      await changeStatus(page, 'Rejected');
      const error = page.locator('#status-error');
      await error.waitFor();
      assert.match(await error.textContent(), /rejection needs a public note/);
      assert.equal(await page.locator('#status-note').getAttribute('aria-invalid'), 'true');
      assert.equal((await send(server.url, `/api/v1/issues/${id}`)).body.properties.status, 'open');

      const internal = 'INTERNAL 9931: contractor quote, staff only';
      await changeStatus(page, 'Acknowledged', { note: 'Seen by the roads department', internal });
      await detailStatus(page, id, 'acknowledged');
      // The queue is read again after the change: one fewer open, one more acknowledged.
      await page.waitForFunction((n) => Number(document.querySelector('.tab[data-tab="acknowledged"] .tab-count')?.textContent.replace(/\D/g, '')) === n, before.acknowledged + 1);
      // (One fewer than before and the one reported while the queue was open.)
      assert.equal((await tabCounts()).open, before.open - 1 + 1);
      await changeStatus(page, 'In progress', { note: 'A crew repairs it on Thursday', internal });
      await detailStatus(page, id, 'in_progress');
      assert.match(await page.locator('#detail-flash').textContent(), /is now “In progress”/);
      // The staff view shows the same public history as the resident's panel.
      assert.deepEqual(
        await page.locator('#issue-detail .history li').evaluateAll((lis) => lis.map((li) => [li.dataset.status, li.querySelector('.note')?.textContent ?? null])),
        [
          ['open', null],
          ['acknowledged', 'Seen by the roads department'],
          ['in_progress', 'A crew repairs it on Thursday'],
        ],
      );
      // The queue follows: the item is in progress now.
      await page.waitForSelector(`#queue-list li[data-issue-id="${id}"][data-status="in_progress"]`);

      // The resident, in another browser context, without a reload.
      await waitForBadge(resident.page, 'In progress');
      const state = await panelState(resident.page);
      assert.deepEqual(
        state.steps.map((s) => [s.status, s.note]),
        [
          ['open', null],
          ['acknowledged', 'Seen by the roads department'],
          ['in_progress', 'A crew repairs it on Thursday'],
        ],
      );
      assert.ok(!state.text.includes('9931') && !state.text.includes('INTERNAL'), 'the internal note never reaches the resident');
      const history = await send(server.url, `/api/v1/issues/${id}/events`);
      assert.ok(!JSON.stringify(history.body).includes('9931'), 'nor the public history');
      assert.deepEqual(resident.errors, [], 'resident: no console errors');
      // Chromium logs the refused rejection (the one 422 the test asked for); nothing else.
      const refused = new RegExp(`status of 422 .*/api/v1/issues/${id}/events\\)$`);
      assert.equal(desk.errors.filter((e) => refused.test(e)).length, 1, desk.errors.join('\n'));
      assert.deepEqual(desk.errors.filter((e) => !refused.test(e)), [], 'staff: no other console errors');
    } finally {
      await resident.context.close();
      await desk.context.close();
    }
  });

  test('staff re-route an issue with a note: it leaves their queue, and the resident sees who has it now', async () => {
    const { departments } = (await send(server.url, '/api/v1/departments')).body;
    const green = departments.find((d) => d.code === 'green_spaces');
    assert.ok(green, 'the demo city has a green spaces department');
    const { id } = await report(server.url, { description: 'Staff view: a pothole on a park path' });
    const resident = await openPage(browser, `${server.url}/?lang=en#issue=${id}`);
    const desk = await openPage(browser, `${server.url}/staff?lang=en&sort=newest#issue=${id}`, { login: staff });
    const { page } = desk;
    try {
      await detailStatus(page, id, 'open');
      await page.locator(`#queue-list li[data-issue-id="${id}"]`).waitFor();
      const form = page.locator('#reroute-form');
      const options = await form.locator('#reroute-department option').evaluateAll((os) => os.map((o) => o.value));
      assert.ok(options.includes('green_spaces') && !options.includes('roads'), 'any department but its own');

      // Without a note the server refuses, and says so in the page.
      await form.locator('#reroute-department').selectOption('green_spaces');
      await form.getByRole('button', { name: 'Re-route' }).click();
      await form.locator('#reroute-error').waitFor();
      assert.equal(await form.locator('#reroute-error').getAttribute('data-code'), 'note_required');
      assert.equal((await send(server.url, `/api/v1/issues/${id}`)).body.properties.assigned_department, 'roads', 'nothing changed');

      const note = 'The path belongs to the park: the green spaces department mends it';
      await page.locator('#reroute-note').fill(note);
      await page.locator('#reroute-form').getByRole('button', { name: 'Re-route' }).click();
      await page.waitForFunction(
        (name) => document.querySelector('#detail-flash')?.textContent.includes(name) && document.querySelector('#issue-detail .facts')?.textContent.includes(name),
        green.names.en,
      );
      assert.equal((await send(server.url, `/api/v1/issues/${id}`)).body.properties.assigned_department, 'green_spaces');
      // It is no longer the roads department's: the queue, read again, has it no more.
      await page.waitForFunction((issueId) => !document.querySelector(`#queue-list li[data-issue-id="${issueId}"]`), id);

      // The resident's panel, without a reload: the step names the new department, with the note.
      await resident.page.waitForFunction(() => document.querySelectorAll('#panel .history li').length === 2, null, { timeout: 15_000, polling: 100 });
      const [, rerouted] = (await panelState(resident.page)).steps;
      assert.deepEqual(rerouted, { status: 'open', step: `Passed to ${green.names.en}`, by: departments.find((d) => d.code === 'roads').names.en, note });
      assert.deepEqual(resident.errors, [], 'resident: no console errors');
      const refused = new RegExp(`status of 422 .*/api/v1/issues/${id}/events\\)$`);
      assert.deepEqual(desk.errors.filter((e) => !refused.test(e)), [], 'staff: no console errors but the refusal');
    } finally {
      await resident.context.close();
      await desk.context.close();
    }
  });

  test('a wrong password shows the error and signs nobody in', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/staff?lang=en`, { state: 'signin' });
    try {
      await signInThroughForm(page, { email: staff.email, password: 'not the password at all' });
      const error = page.locator('#signin-error');
      await error.waitFor();
      assert.equal(await error.textContent(), 'Wrong email or password.');
      assert.equal(await page.evaluate(() => document.body.dataset.state), 'signin');
      assert.ok(await page.locator('#staff-main').isHidden());
      assert.equal(await page.evaluate(async () => (await fetch('/api/v1/me')).status), 401);
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('a moderator hides an issue from the public, then logs out', async () => {
    const moderator = await makeUser(server, 'moderator', { department: 'roads' });
    const { id } = await report(server.url, { description: 'A pothole with a phone number 8 701 000 00 00' });
    const { page, context, errors } = await openPage(browser, `${server.url}/staff?lang=en#issue=${id}`, { login: moderator });
    try {
      await detailStatus(page, id, 'open');
      assert.equal(await page.locator('#status-form').count(), 0, 'moderators do not change statuses');
      const form = page.locator('#moderation-form');
      await form.getByRole('radio', { name: 'Hide from the public' }).check();
      await form.locator('#moderation-reason').fill('Personal data in the description');
      await form.getByRole('button', { name: 'Apply' }).click();
      await page.waitForSelector(`#issue-detail .issue[data-issue-id="${id}"][data-hidden="true"]`);
      assert.match(await page.locator('#issue-detail').textContent(), /Hidden from the public/);
      assert.equal((await send(server.url, `/api/v1/issues/${id}`)).status, 404, 'gone for the public');

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForFunction(() => document.body.dataset.state === 'signin');
      assert.equal(await page.evaluate(async () => (await fetch('/api/v1/me')).status), 401, 'the session has ended');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('the planner page asks an anonymous visitor to sign in, and lets staff in', async () => {
    const { page, context, errors } = await openPage(browser, `${server.url}/planner?lang=en`, { state: 'signin' });
    try {
      assert.ok(await page.locator('#signin-form').isVisible(), 'the login form');
      assert.ok(await page.locator('#planner-main').isHidden(), 'no planner before signing in');
      await signInThroughForm(page, staff);
      await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
      assert.ok(await page.locator('#planner-main').isVisible());
      assert.ok(await page.locator('#signin-form').count() === 0, 'the form is gone');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });

  test('screenshots of the staff view on a desktop and a phone; the phone does not scroll sideways', async () => {
    const { id } = await report(server.url, { description: 'A pothole for the screenshots' });
    for (const [device, name] of [
      [DESKTOP, 'staff-desktop'],
      [PHONE, 'staff-phone'],
    ]) {
      const { page, context, errors } = await openPage(browser, `${server.url}/staff?lang=en&sort=newest`, { device, login: staff });
      try {
        const width = () => page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
        assert.ok((await width()) <= device.viewport.width, `queue: scrollWidth ${await width()}`);
        await page.locator(`#queue-list li[data-issue-id="${id}"] a`).click();
        await detailStatus(page, id, 'open');
        await mapIdle(page);
        assert.ok((await width()) <= device.viewport.width, `issue: scrollWidth ${await width()}`);
        if (device === PHONE) {
          assert.ok(await page.locator('#queue').isHidden(), 'on a phone the issue takes the screen');
          await page.getByRole('button', { name: 'Back to the queue' }).click();
          assert.ok(await page.locator('#queue').isVisible(), 'and gives it back');
          await page.locator(`#queue-list li[data-issue-id="${id}"] a`).click();
          await detailStatus(page, id, 'open');
          await mapIdle(page);
        }
        await screenshot(page, name);
        assert.deepEqual(errors, [], 'no console errors');
      } finally {
        await context.close();
      }
    }
  });
});
