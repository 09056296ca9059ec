// browser.mjs - the one way the browser tests start Debian's chromium through playwright-core
// (map.test.mjs, console.test.mjs, validated.test.mjs): headless, no sandbox (root in CI), no
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
