// Browser test of the staff console (collector/console) with playwright-core and Debian's
// chromium, against a real collector started by tests/e2e/test_console.py (which also sets up
// the accounts and runs a control server that starts and stops one station's readings).
// Environment (all required, set by test_console.py):
//   CONSOLE_URL     http://127.0.0.1:<staff port>/console/
//   CONTROL_URL     http://127.0.0.1:<port>/  (POST stop/<id>, start/<id>)
//   CONSOLE_USERS   JSON {"viewer": [name, password], "operator": [...], "approver": [...]}
//   FLAKY           the station whose readings the control server stops and starts
//   CT_ARTIFACT_DIR where screenshots go
//   CHROMIUM        browser binary (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchChromium, openHanoiPage } from './browser.mjs';

const base = process.env.CONSOLE_URL;
const control = process.env.CONTROL_URL;
const users = JSON.parse(process.env.CONSOLE_USERS ?? '{}');
const flaky = process.env.FLAKY;
const artifacts = process.env.CT_ARTIFACT_DIR ?? 'console-artifacts';
let browser;

before(async () => {
  assert.ok(base && control && flaky, 'CONSOLE_URL, CONTROL_URL and FLAKY are required');
  mkdirSync(artifacts, { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

async function open() {
  const { context, page, problems } = await openHanoiPage(browser);
  page.on('console', (m) => {
    // The API's refusals (401/403) are logged by Chromium as failed loads: expected here.
    if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) problems.push(m.text());
  });
  await page.goto(base, { waitUntil: 'load' });
  return { context, page, problems };
}

async function signIn(page, role) {
  const [name, password] = users[role];
  await page.fill('#user', name);
  await page.fill('#password', password);
  await page.click('#signin');
  await page.waitForSelector('#app:not([hidden])', { timeout: 20000 });
  assert.equal(await page.textContent('#who-role'), role);
  await page.waitForSelector(`#stations tbody tr[data-id="${flaky}"]`, { timeout: 10000 });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `console-${name}.png`), fullPage: true });
}

async function message(page, re) {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('msg')
    .textContent), re.source, { timeout: 15000 });
  return page.textContent('#msg');
}

async function ctl(what) {
  const r = await fetch(`${control}${what}/${flaky}`, { method: 'POST' });
  assert.equal(r.status, 200, `control ${what}`);
}

test('a wrong password is refused with a clear message', async () => {
  const { context, page, problems } = await open();
  await page.fill('#user', users.viewer[0]);
  await page.fill('#password', 'not-the-password');
  await page.click('#signin');
  assert.match(await message(page, /Wrong user name or password/), /Wrong user name/);
  assert.ok(await page.isHidden('#app'));
  await shot(page, 'login-refused');
  assert.deepEqual(problems, []);
  await context.close();
});

test('each role signs in and sees the station states', async () => {
  for (const role of ['viewer', 'operator', 'approver']) {
    const { context, page, problems } = await open();
    await signIn(page, role);
    const states = await page.$$eval('#stations tbody td.state', (tds) => tds.map((t) => t.textContent));
    assert.ok(states.length >= 3, `${role}: every station listed`);
    await shot(page, `stations-${role}`);
    assert.deepEqual(problems, []);
    await context.close();
  }
});

test('a viewer trying to approve is refused', async () => {
  const { context, page } = await open();
  await signIn(page, 'viewer');
  await page.click('nav .tab[data-tab="decisions"]');
  await page.selectOption('#ap-id', flaky);
  await page.fill('#ap-day', '2026-12-01');
  await page.fill('#ap-why', 'checked');
  await page.click('#ap-go');
  assert.match(await message(page, /needs the approver role/), /viewer/);
  await shot(page, 'viewer-approve-refused');
  await context.close();
});

test('the operator sees a station go silent and come back, and sets calibrating', async () => {
  const { context, page, problems } = await open();
  await signIn(page, 'operator');
  const row = `#stations tbody tr[data-id="${flaky}"]`;
  await page.waitForSelector(`${row}[data-state="measuring"]`, { timeout: 30000 });
  await ctl('stop');
  await page.waitForSelector(`${row}[data-state="silent"]`, { timeout: 30000 });
  await page.click('nav .tab[data-tab="silent"]');
  await page.waitForSelector(`#silent tbody tr[data-id="${flaky}"]`, { timeout: 10000 });
  await shot(page, 'silent');
  await ctl('start');
  await page.click('nav .tab[data-tab="stations"]');
  await page.waitForSelector(`${row}[data-state="measuring"]`, { timeout: 30000 });
  assert.equal(await page.$(`#silent tbody tr[data-id="${flaky}"]`), null);
  // Its stale alert is listed; the operator acknowledges it with a note.
  await page.click('nav .tab[data-tab="alerts"]');
  await page.selectOption('#af-type', 'stale');
  await page.click('#af-go');
  const alertRow = `#alerts tbody tr[data-device="${flaky}"][data-type="stale"]`;
  await page.waitForSelector(`${alertRow}[data-acked="no"]`, { timeout: 20000 });
  await page.fill(`${alertRow} .ack-note`, 'power cut at the site, restored');
  await page.click(`${alertRow} .ack-go`);
  await message(page, /Acknowledged the stale alert/);
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.acked === 'yes',
    alertRow, { timeout: 20000 });
  assert.match(await page.textContent(`${alertRow} td:nth-child(8)`), /power cut/);
  await shot(page, 'alerts');
  await page.click('nav .tab[data-tab="stations"]');
  await page.selectOption('#ss-id', flaky);
  await page.selectOption('#ss-state', 'calibrating');
  await page.fill('#ss-why', 'monthly calibration');
  await page.click('#ss-go');
  await page.waitForSelector(`${row}[data-state="calibrating"]`, { timeout: 10000 });
  await shot(page, 'calibrating');
  await page.selectOption('#ss-state', 'measuring');
  await page.fill('#ss-why', 'calibration done');
  await page.click('#ss-go');
  await page.waitForSelector(`${row}[data-state="measuring"]`, { timeout: 10000 });
  assert.deepEqual(problems, []);
  await context.close();
});

test('a viewer sees the completeness table and downloads the same numbers as CSV', async () => {
  const { context, page, problems } = await open();
  await signIn(page, 'viewer');
  await page.click('nav .tab[data-tab="completeness"]');
  await page.selectOption('#cp-id', flaky);
  await page.click('#cp-go');
  await page.waitForFunction(() => /expected readings accepted/.test(
    document.getElementById('cp-summary').textContent), null, { timeout: 15000 });
  const table = await page.$$eval('#completeness tbody tr', (trs) => trs.map((tr) =>
    [...tr.children].map((x) => x.textContent)));
  assert.equal(table.length, 24);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#cp-csv')]);
  const csv = (await (await import('node:fs/promises')).readFile(await download.path(), 'utf8'))
    .trim().split('\r\n');
  assert.equal(csv[0], 'station,hour_start_local,expected,received,accepted,completeness_pct,hour_valid');
  assert.equal(csv.length, 26);
  for (let h = 0; h < 24; h++) {
    const f = csv[h + 1].split(',');
    assert.equal(f[0], flaky);
    assert.equal(f[2], table[h][1], `expected, hour ${h}`);
    // Readings go on arriving: the CSV (fetched later) has at least the table's numbers.
    assert.ok(Number(f[4]) >= Number(table[h][3]), `accepted, hour ${h}`);
  }
  assert.ok(await page.$$eval('#disconnects tbody tr', (t) => t.length) >= 1,
    'the silent period is a disconnect');
  await shot(page, 'completeness');
  // The monthly report: today's row says what the day's table says in total.
  await page.click('#mo-go');
  await page.waitForSelector('#month-table tbody tr', { timeout: 15000 });
  const days = await page.$$eval('#month-table tbody tr', (trs) => trs.map((tr) =>
    [...tr.children].map((x) => x.textContent)));
  assert.ok(days.length >= 28 && days.length <= 31, 'one row per day of the month');
  await page.emulateMedia({ media: 'print' });
  await shot(page, 'monthly-print');
  await page.emulateMedia({ media: 'screen' });
  assert.deepEqual(problems, []);
  await context.close();
});

test('the parking operators see free spaces per lot', async () => {
  const { context, page, problems } = await open();
  await signIn(page, 'viewer');
  await page.click('nav .tab[data-tab="parking"]');
  await page.waitForSelector('#park-now tbody tr[data-lot="hn-park-0001"]', { timeout: 15000 });
  const cells = await page.$$eval('#park-now tbody tr[data-lot="hn-park-0001"] td',
    (t) => t.map((x) => x.textContent));
  assert.deepEqual(cells.slice(1, 4), ['48', '60', '12']);
  assert.match(cells[4], /\d\d:00 \(20%\)/);
  await shot(page, 'parking');
  assert.deepEqual(problems, []);
  await context.close();
});

test('the operator marks a range invalid and the approver approves a day', async () => {
  let { context, page } = await open();
  await signIn(page, 'operator');
  await page.click('nav .tab[data-tab="decisions"]');
  await page.selectOption('#iv-id', flaky);
  await page.fill('#iv-param', 'pm25');
  await page.fill('#iv-from', '2026-12-01T08:00:00');
  await page.fill('#iv-to', '2026-12-01T09:30:00');
  await page.selectOption('#iv-reason', 'calibration');
  await page.fill('#iv-why', 'span gas check');
  await page.click('#iv-go');
  await message(page, /Marked pm25/);
  // This decision's row, found by its note: the HTTP checks before this test mark other
  // ranges of the same station invalid (with other reasons).
  await page.waitForFunction(() => [...document.querySelectorAll('#decisions tbody tr')]
    .some((tr) => tr.children[9]?.textContent === 'span gas check'), null, { timeout: 15000 });
  const cells = await page.$$eval('#decisions tbody tr', (trs) => [...trs]
    .map((tr) => [...tr.children].map((x) => x.textContent))
    .find((c) => c[9] === 'span gas check'));
  assert.equal(cells[1], 'invalid');
  assert.equal(cells[2], flaky);
  assert.equal(cells[3], 'pm25');
  assert.equal(cells[4], 'calibration');
  await shot(page, 'invalid');
  await context.close();
  ({ context, page } = await open());
  await signIn(page, 'approver');
  await page.click('nav .tab[data-tab="decisions"]');
  await page.selectOption('#ap-id', flaky);
  await page.fill('#ap-day', '2026-12-01');
  await page.fill('#ap-why', 'day checked');
  await page.click('#ap-go');
  await message(page, /Approved 2026-12-01/);
  await page.click('nav .tab[data-tab="audit"]');
  await page.waitForFunction(() => [...document.querySelectorAll('#audit tbody tr')]
    .some((tr) => tr.children[3].textContent === 'approve'), null, { timeout: 15000 });
  await shot(page, 'audit');
  await context.close();
});

test('the operator withdraws the range marked invalid, with a note', async () => {
  const { context, page, problems } = await open();
  await signIn(page, 'operator');
  await page.click('nav .tab[data-tab="decisions"]');
  // The row of the range marked invalid by the test before, found by its note.
  const row = '#decisions tbody tr:has(td:text-is("span gas check"))';
  await page.waitForSelector(`${row}[data-revoked="no"] .revoke-go`, { timeout: 15000 });
  await page.click(`${row} .revoke-go`);
  await page.waitForSelector('#revoke:not([hidden])');
  assert.match(await page.textContent('#rv-what'), /pm25.*calibration.*span gas check/);
  await page.fill('#rv-why', 'the check was on another station');
  await page.click('#rv-go');
  await message(page, /Withdrew the invalid decision of/);
  await page.waitForSelector(`${row}[data-revoked="yes"]`, { timeout: 15000 });
  const cells = await page.$$eval(`${row} td`, (tds) => tds.map((t) => t.textContent));
  assert.equal(cells[9], 'span gas check', 'the original note stays');
  assert.match(cells[10], /^oanh: the check was on another station \(/);
  assert.equal(await page.$(`${row} .revoke-go`), null, 'no Withdraw control once withdrawn');
  const struck = await page.$eval(`${row} td:nth-child(4)`,
    (td) => getComputedStyle(td).textDecorationLine);
  assert.equal(struck, 'line-through');
  await shot(page, 'revoked');
  assert.deepEqual(problems, []);
  await context.close();
});
