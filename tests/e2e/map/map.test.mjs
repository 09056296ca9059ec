// Browser test of the public map (dashboards/map/dist) with playwright-core and Debian's chromium.
// Run: (cd dashboards/map && npm ci && npm run build) && (cd tests/e2e/map && npm ci && npm test)
// Environment:
//   MAP_URL         test a running collector at this base URL instead of the fixture server
//   MAP_DIST        built page to serve (default dashboards/map/dist)
//   CHROMIUM        browser binary (default /usr/bin/chromium)
//   CT_ARTIFACT_DIR where screenshots go (default build-map/e2e-map under the repository)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const dist = process.env.MAP_DIST ?? path.join(repo, 'dashboards/map/dist');
const fixtures = path.join(here, 'fixtures');
const artifacts = process.env.CT_ARTIFACT_DIR ?? path.join(repo, 'build-map/e2e-map');
const LAYERS = ['air', 'water', 'rain', 'flood', 'parking'];
const AQI = ['Tốt', 'Trung bình', 'Kém', 'Xấu', 'Rất xấu', 'Nguy hại'];
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.json': 'application/json',
  '.geojson': 'application/geo+json', '.map': 'application/json', '.txt': 'text/plain; charset=utf-8',
};

/** The collector's static+layers surface in miniature: dist/, /layers/*.geojson, /config.json. */
function startServer() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file;
    const layer = /^\/layers\/([a-z]+)\.geojson$/.exec(url.pathname);
    if (layer && LAYERS.includes(layer[1])) file = path.join(fixtures, `${layer[1]}.geojson`);
    else if (url.pathname === '/config.json') file = path.join(fixtures, 'config.json');
    else {
      const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
      file = path.resolve(dist, rel);
      if (!file.startsWith(dist + path.sep)) file = null;
    }
    if (!file || !existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-security-policy': CSP,
      'cache-control': 'no-store',
    });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let server;
let browser;
let base;

before(async () => {
  if (process.env.MAP_URL) {
    base = process.env.MAP_URL.replace(/\/?$/, '/');
  } else {
    assert.ok(existsSync(path.join(dist, 'index.html')), `no built page at ${dist}: run npm run build in dashboards/map`);
    server = await startServer();
    base = `http://127.0.0.1:${server.address().port}/`;
  }
  mkdirSync(artifacts, { recursive: true });
  // playwright-core's launch() always gives the browser a new empty --user-data-dir of its own
  // (it refuses the flag), and deletes it on close.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (server) await new Promise((r) => server.close(r));
});

/** Opens the page; collects page errors, console errors (CSP violations included) and any
 * request that leaves the page's origin. */
async function open(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh' });
  const page = await context.newPage();
  const problems = [];
  const foreign = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  const origin = new URL(base).origin;
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (!u.startsWith(origin) && !u.startsWith('data:')) {
      foreign.push(u);
      return route.abort();
    }
    return route.continue();
  });
  await page.goto(base, { waitUntil: 'load' });
  return { context, page, problems, foreign };
}

async function expected(page, layer) {
  if (!process.env.MAP_URL) {
    return JSON.parse(readFileSync(path.join(fixtures, `${layer}.geojson`), 'utf8'));
  }
  return page.evaluate(async (l) => (await fetch(`layers/${l}.geojson`)).json(), layer);
}

async function showLayer(page, layer) {
  await page.click(`#switcher button[data-layer="${layer}"]`);
  await page.waitForSelector(`body[data-layer="${layer}"][data-loaded]`, { timeout: 10000 });
  await page.waitForTimeout(300);
}

const markerSel = (layer) => (layer === 'parking' ? '.ct-park-icon' : `path.ct-marker.ct-${layer}`);

test('every layer draws one marker per feature', async () => {
  const { context, page, problems, foreign } = await open();
  try {
    for (const layer of LAYERS) {
      await showLayer(page, layer);
      const fc = await expected(page, layer);
      const n = await page.locator(markerSel(layer)).count();
      assert.equal(n, fc.features.length, `${layer}: markers drawn`);
      assert.ok(n > 0, `${layer}: has markers`);
      assert.equal(await page.getAttribute(`#switcher button[data-layer="${layer}"]`, 'aria-pressed'), 'true');
      // Only the selected layer is on the map.
      for (const other of LAYERS.filter((l) => l !== layer)) {
        assert.equal(await page.locator(markerSel(other)).count(), 0, `${other} hidden while ${layer} shown`);
      }
    }
    await showLayer(page, 'flood');
    await page.screenshot({ path: path.join(artifacts, 'map-flood.png') });
    await showLayer(page, 'parking');
    await page.screenshot({ path: path.join(artifacts, 'map-parking.png') });
    if (!process.env.MAP_URL) {
      // Deep flooding is emphasised: the 62 cm station pulses, the 4 cm one does not.
      assert.equal(await page.locator('path.ct-flood-deep').count(), 0);
      await showLayer(page, 'flood');
      assert.equal(await page.locator('path.ct-flood-deep').count(), 1);
      assert.equal(await page.getAttribute('path.ct-flood-deep', 'data-id'), 'hn-flood-0002');
      await showLayer(page, 'parking');
      const labels = await page.locator('.ct-park').allTextContents();
      assert.deepEqual(labels.sort(), ['33', '4', '50'].sort());
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(foreign, [], 'no request leaves the origin (no CDN, no tiles configured)');
  } finally {
    await context.close();
  }
});

test('legend shows the six VN_AQI categories with their colours', async () => {
  const { context, page, problems } = await open();
  try {
    await showLayer(page, 'air');
    const legend = page.locator('.legend[data-legend="aqi"]');
    const text = await legend.innerText();
    for (const c of AQI) assert.ok(text.includes(c), `legend lacks ${c}`);
    for (const en of ['Good', 'Moderate', 'Poor', 'Bad', 'Very bad', 'Hazardous']) assert.ok(text.includes(en), `legend lacks ${en}`);
    const colours = await page.$$eval('.legend li .sw', (els) => els.map((e) => getComputedStyle(e).backgroundColor));
    for (const rgb of ['rgb(0, 228, 0)', 'rgb(255, 255, 0)', 'rgb(255, 126, 0)', 'rgb(255, 0, 0)', 'rgb(143, 63, 151)', 'rgb(126, 0, 35)']) {
      assert.ok(colours.includes(rgb), `legend lacks colour ${rgb}`);
    }
    // Markers carry the category colours of their stations.
    const fc = await expected(page, 'air');
    const f = fc.features.find((x) => typeof x.properties.aqi_vn_color === 'string');
    if (f) {
      const fill = await page.getAttribute(`path.ct-air[data-id="${f.properties.id}"]`, 'fill');
      assert.equal(fill.toUpperCase(), f.properties.aqi_vn_color.toUpperCase());
    }
    assert.equal(await page.getAttribute('html', 'lang'), 'vi');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('clicking a marker opens a popup with the Vietnamese name and the value', async () => {
  const { context, page, problems } = await open();
  try {
    await showLayer(page, 'air');
    const fc = await expected(page, 'air');
    const f = fc.features.find((x) => typeof x.properties.pm25 === 'number') ?? fc.features[0];
    await page.click(`path.ct-air[data-id="${f.properties.id}"]`);
    const popup = page.locator('.leaflet-popup-content');
    await popup.waitFor({ timeout: 5000 });
    const text = await popup.innerText();
    assert.ok(text.includes(f.properties.name), `popup lacks the name ${f.properties.name}: ${text}`);
    if (typeof f.properties.pm25 === 'number') {
      const v = f.properties.pm25.toLocaleString('vi-VN', { maximumFractionDigits: 1 });
      assert.ok(text.includes(`${v} µg/m³`), `popup lacks PM2.5 ${v} µg/m³: ${text}`);
    }
    if (!process.env.MAP_URL) {
      assert.ok(text.includes('Trạm Hồ Gươm – Đinh Tiên Hoàng'));
      assert.ok(text.includes('41,2 µg/m³'));
      assert.ok(text.includes('VN_AQI 82 · Trung bình'));
      assert.ok(text.includes('23/11/2026 16:55'), 'time shown in Hanoi time');
    }
    await page.waitForTimeout(400); // popup fade-in
    await page.screenshot({ path: path.join(artifacts, 'map-air-popup.png') });
    if (!process.env.MAP_URL) {
      // A stale station says so.
      await page.click('path.ct-air[data-id="hn-air-0002"]');
      await page.waitForFunction(() => document.querySelector('.leaflet-popup-content')?.textContent.includes('Trạm Cầu Giấy'));
      assert.ok((await popup.innerText()).includes('Số liệu cũ'));
      // Parking popups show free spaces.
      await showLayer(page, 'parking');
      await page.click('.ct-park-icon[data-id="hn-park-0001"]');
      await page.waitForSelector('.leaflet-popup-content');
      const ptext = await popup.innerText();
      assert.ok(ptext.includes('Bãi đỗ xe Nguyễn Công Trứ') && ptext.includes('Còn 33 chỗ trống'), ptext);
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('readable on a phone', async () => {
  const { context, page, problems } = await open({ width: 390, height: 844 });
  try {
    await showLayer(page, 'air');
    const vp = await page.getAttribute('meta[name="viewport"]', 'content');
    assert.match(vp, /width=device-width/);
    // Every layer button is on screen and large enough to tap.
    for (const layer of LAYERS) {
      const box = await page.locator(`#switcher button[data-layer="${layer}"]`).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390 && box.height >= 36, `${layer} button fits: ${JSON.stringify(box)}`);
    }
    const scrollW = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollW <= 390, `no horizontal scrolling (${scrollW})`);
    // The legend starts folded on a phone and opens with its button.
    assert.equal(await page.locator('.legend.collapsed').count(), 1);
    assert.equal(await page.locator('.legend li').first().isVisible(), false);
    await page.screenshot({ path: path.join(artifacts, 'map-phone.png') });
    await page.click('.legend-toggle');
    assert.equal(await page.locator('.legend li').first().isVisible(), true);
    assert.ok((await page.locator('.legend').innerText()).includes('Nguy hại'));
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
