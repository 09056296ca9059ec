// Browser test of the public map after staff marked a range invalid (issue 15), with
// playwright-core and Debian's chromium, against the real collector of tests/e2e/test_console.py
// (which marks three PM2.5 spikes invalid and waits until the console recomputed the hour).
// Environment (set by test_console.py --browser):
//   MAP_URL         http://127.0.0.1:<public port>/
//   STATION         the air station whose hour was recomputed
//   EXPECT_AQI      the VN_AQI recomputed from the validated data
//   CT_ARTIFACT_DIR where the screenshot goes
//   CHROMIUM        browser binary (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchChromium, openHanoiPage } from './browser.mjs';

const base = (process.env.MAP_URL ?? '').replace(/\/?$/, '/');
const station = process.env.STATION;
const expectAqi = process.env.EXPECT_AQI;
const artifacts = process.env.CT_ARTIFACT_DIR ?? 'console-artifacts';
let browser;

before(async () => {
  assert.ok(process.env.MAP_URL && station && expectAqi, 'MAP_URL, STATION and EXPECT_AQI are required');
  mkdirSync(artifacts, { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

test('the popup shows the VN_AQI recomputed from validated data and says so', async () => {
  const { context, page, problems } = await openHanoiPage(browser);
  try {
    await page.goto(`${base}#air/${station}`, { waitUntil: 'load' });
    await page.waitForSelector('.leaflet-popup-content .validated-note', { timeout: 20000 });
    const text = await page.locator('.leaflet-popup-content').last().innerText();
    assert.match(text, new RegExp(`VN_AQI ${expectAqi}\\b`), text);
    const note = await page.locator('.leaflet-popup-content .validated-note').last().innerText();
    // Vietnamese first, then English.
    const vi = note.indexOf('được tính từ số liệu đã kiểm tra');
    const en = note.indexOf('computed from validated data');
    assert.ok(vi >= 0 && en > vi, note);
    assert.equal(await page.locator('.leaflet-popup-content .withheld-note').count(), 0);
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(artifacts, 'console-map-validated.png') });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
