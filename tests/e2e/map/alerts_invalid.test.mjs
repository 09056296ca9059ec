// Browser test of the staff console's alerts view after staff marked the data behind an alert
// invalid (issue 15), with playwright-core and Debian's chromium, against the real collector of
// tests/e2e/test_console.py (which publishes a flood spike that raises a flood alert, marks the
// spike invalid and waits until the alerts API marks the alert).
// Environment (set by test_console.py --browser):
//   CONSOLE_URL     http://127.0.0.1:<staff port>/console/
//   CONSOLE_USERS   JSON {"viewer": [name, password], ...}
//   STATION         the flood station whose alert was raised over data later marked invalid
//   CT_ARTIFACT_DIR where the screenshot goes
//   CHROMIUM        browser binary (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchChromium, openHanoiPage } from './browser.mjs';

const base = process.env.CONSOLE_URL;
const users = JSON.parse(process.env.CONSOLE_USERS ?? '{}');
const station = process.env.STATION;
const artifacts = process.env.CT_ARTIFACT_DIR ?? 'console-artifacts';
let browser;

before(async () => {
  assert.ok(base && station && users.viewer, 'CONSOLE_URL, CONSOLE_USERS and STATION are required');
  mkdirSync(artifacts, { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

test('the alerts view keeps an alert raised over invalid data and marks it, Vietnamese first', async () => {
  const { context, page, problems } = await openHanoiPage(browser);
  try {
    await page.goto(base, { waitUntil: 'load' });
    const [name, password] = users.viewer;
    await page.fill('#user', name);
    await page.fill('#password', password);
    await page.click('#signin');
    await page.waitForSelector('#app:not([hidden])', { timeout: 20000 });
    await page.click('nav .tab[data-tab="alerts"]');
    await page.selectOption('#af-type', 'flood');
    await page.click('#af-go');
    const row = `#alerts tbody tr[data-device="${station}"][data-type="flood"]`;
    await page.waitForSelector(`${row}[data-over-invalid="yes"]`, { timeout: 20000 });
    const mark = await page.locator(`${row} td.mark-invalid`).innerText();
    const vi = mark.indexOf('số liệu sau đó bị đánh dấu không hợp lệ');
    const en = mark.indexOf('Raised over data later marked invalid');
    assert.ok(vi >= 0 && en > vi, mark);
    await page.screenshot({ path: path.join(artifacts, 'console-alerts-invalid.png'),
      fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
