// browser.mjs - the one way the browser tests start Debian's chromium through playwright-core
// (map.test.mjs, console.test.mjs, validated.test.mjs, alerts_invalid.test.mjs): headless, no sandbox (root in CI), no
// network of its own. playwright-core's launch() always gives the browser a new empty
// --user-data-dir of its own (it refuses the flag), and deletes it on close.
import { chromium } from 'playwright-core';

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A page as a Hanoi desktop user sees it (Vietnamese locale, Asia/Ho_Chi_Minh, 1366 x 900 unless
// told), in a context of its own; 'problems' collects the page's uncaught errors for the test to
// assert empty. Close the context when done.
export async function openHanoiPage(browser, viewport = { width: 1366, height: 900 }) {
  const context = await browser.newContext({ viewport, locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { context, page, problems };
}
