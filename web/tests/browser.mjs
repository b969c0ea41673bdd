// Headless Chromium from Debian (/usr/bin/chromium) through playwright-core:
// no browser is ever downloaded. WebGL runs on SwiftShader, so the map renders
// without a GPU.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const SCREENSHOTS = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');

export const DESKTOP = { viewport: { width: 1280, height: 800 } };
export const PHONE = { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-gl=angle',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
    ],
  });
}

/**
 * Chromium's console line for an API answer a page expects and handles:
 * `GET /api/v1/me` is 401 for a visitor who has not signed in (the pages
 * then show the login form), and a wrong password is a 401 login.
 */
export const EXPECTED_401 = /status of 401 .*\/api\/v1\/(me|login)\)$/;

/**
 * A fresh context and page that record every console error and uncaught
 * exception; `errors` is what the "no console errors" assertions read.
 * `login`: sign the context in first (see `signIn`); `state`: the
 * `body[data-state]` to wait for (`signin` for a login form; null: none);
 * `timezoneId`: the browser's own time zone (default: the machine's).
 */
export async function openPage(browser, url, { device = DESKTOP, locale = 'en-GB', login = null, state = 'ready', timezoneId } = {}) {
  const context = await browser.newContext({ ...device, locale, acceptDownloads: true, ...(timezoneId ? { timezoneId } : {}) });
  if (login) await signIn(context, new URL(url).origin, login);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (message) => {
    const line = `console: ${message.text()} (${message.location().url})`;
    if (message.type() === 'error' && !EXPECTED_401.test(line)) errors.push(line);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  page.on('requestfailed', (request) => {
    // MapLibre cancels the tile requests a moving map no longer needs
    // (ERR_ABORTED), and a download's blob URL ends as a navigation: neither is an error.
    const reason = request.failure()?.errorText ?? '';
    if (reason !== 'net::ERR_ABORTED' && !request.url().startsWith('blob:')) errors.push(`request failed: ${request.url()} ${reason}`);
  });
  await page.goto(url);
  // A page rendered by the server (no script to say it is ready) passes `state: null`.
  if (state) await page.waitForFunction((s) => document.body.dataset.state === s, state, { timeout: 60_000 });
  // The staff view draws its map only once an issue is open.
  if (await page.evaluate(() => Boolean(window.qalaMap))) await mapIdle(page);
  return { page, context, errors };
}

/**
 * Signs a browser context in through the API, as the login form would:
 * the context's cookie jar gets the session, its pages the CSRF token.
 * For the tests whose subject is not the login itself.
 */
export async function signIn(context, base, { email, password }) {
  const response = await context.request.post(`${base}/api/v1/login`, { data: { email, password } });
  if (!response.ok()) throw new Error(`login as ${email}: ${response.status()} ${await response.text()}`);
  const { csrf_token: token } = await response.json();
  // Before the first page runs, and only then: a later logout must stay a logout.
  await context.addInitScript((csrf) => {
    if (!sessionStorage.getItem('qala.test.signed_in')) {
      sessionStorage.setItem('qala.test.signed_in', '1');
      localStorage.setItem('qala.csrf', csrf);
    }
  }, token);
}

/** The text of the resident's open issue panel: its status badge, history steps and notes. */
export function panelState(page) {
  return page.evaluate(() => {
    const article = document.querySelector('#panel .issue');
    if (!article) return null;
    return {
      id: Number(article.dataset.issueId),
      status: article.querySelector('.issue-status')?.textContent.trim(),
      steps: [...article.querySelectorAll('.history li')].map((li) => ({
        status: li.dataset.status,
        step: li.querySelector('.history-step')?.textContent.trim(),
        by: li.querySelector('.history-by')?.textContent.trim() ?? null,
        note: li.querySelector('.note')?.textContent.trim() ?? null,
      })),
      text: document.getElementById('panel').textContent,
    };
  });
}

/** Waits (polling in the page, no fixed sleeps) until the resident's open panel shows `status` as its badge. */
export async function waitForBadge(page, status, timeout = 15_000) {
  await page.waitForFunction((s) => document.querySelector('#panel .issue .issue-status')?.textContent.trim() === s, status, {
    timeout,
    polling: 100,
  });
}

/** Resolves when the map has drawn everything it has asked for (MapLibre's `idle`). */
export function mapIdle(page) {
  return page.evaluate(
    () =>
      new Promise((resolveIdle) => {
        window.qalaMap.once('idle', resolveIdle);
        window.qalaMap.triggerRepaint();
      }),
  );
}

/** The viewport pixel of a [lon, lat] on the map, for clicking it. */
/** Puts the map at a place and zoom (test setup, the same as a user panning there) and waits until it is drawn. */
export async function jumpTo(page, center, zoom) {
  await page.evaluate(([c, z]) => window.qalaMap.jumpTo({ center: c, zoom: z }), [center, zoom]);
  await mapIdle(page);
}

export async function pixelOf(page, lonLat) {
  const { x, y } = await page.evaluate((ll) => window.qalaMap.project(ll), lonLat);
  const box = await page.locator('#map').boundingBox();
  return { x: box.x + x, y: box.y + y };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** Ids of the features MapLibre has drawn in these layers. */
export function renderedIds(page, layers) {
  return page.evaluate((ls) => window.qalaMap.queryRenderedFeatures({ layers: ls }).map((f) => f.id), layers);
}
