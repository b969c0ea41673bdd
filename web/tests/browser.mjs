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
 * A fresh context and page that record every console error and uncaught
 * exception; `errors` is what the "no console errors" assertions read.
 */
export async function openPage(browser, url, { device = DESKTOP, locale = 'en-GB' } = {}) {
  const context = await browser.newContext({ ...device, locale, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  page.on('requestfailed', (request) => {
    // MapLibre cancels the tile requests a moving map no longer needs
    // (ERR_ABORTED), and a download's blob URL ends as a navigation: neither is an error.
    const reason = request.failure()?.errorText ?? '';
    if (reason !== 'net::ERR_ABORTED' && !request.url().startsWith('blob:')) errors.push(`request failed: ${request.url()} ${reason}`);
  });
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
  await mapIdle(page);
  return { page, context, errors };
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
