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
import { launchChromium } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const dist = process.env.MAP_DIST ?? path.join(repo, 'dashboards/map/dist');
const fixtures = path.join(here, 'fixtures');
const artifacts = process.env.CT_ARTIFACT_DIR ?? path.join(repo, 'build-map/e2e-map');
const LAYERS = ['air', 'water', 'rain', 'flood', 'parking'];
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
    const layer = /^\/layers\/([a-z]+)(\.geojson|\.history\.json)$/.exec(url.pathname);
    if (layer && LAYERS.includes(layer[1])) file = path.join(fixtures, `${layer[1]}${layer[2]}`);
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
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (server) await new Promise((r) => server.close(r));
});

/** Opens the page; collects page errors, console errors (CSP violations included) and any
 * request that leaves the page's origin. */
async function open(viewport = { width: 1280, height: 800 }, extra = {}, hash = '') {
  const context = await browser.newContext({ viewport, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh', ...extra });
  const page = await context.newPage();
  const problems = [];
  const foreign = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  // Every request of the page is answered (no favicon 404, no missing asset).
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  const origin = new URL(base).origin;
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (!u.startsWith(origin) && !u.startsWith('data:')) {
      foreign.push(u);
      return route.abort();
    }
    return route.continue();
  });
  await page.goto(base + hash, { waitUntil: 'load' });
  return { context, page, problems, foreign };
}

async function expected(page, layer) {
  if (!process.env.MAP_URL) {
    return JSON.parse(readFileSync(path.join(fixtures, `${layer}.geojson`), 'utf8'));
  }
  return page.evaluate(async (l) => (await fetch(`layers/${l}.geojson`)).json(), layer);
}

async function showLayer(page, layer) {
  if (await page.getAttribute(`#switcher button[data-layer="${layer}"]`, 'aria-pressed') !== 'true') {
    await page.click(`#switcher button[data-layer="${layer}"]`);
  }
  await waitLayer(page, layer);
}

async function waitLayer(page, layer) {
  await page.waitForFunction((l) => document.body.dataset.layer === l
    && document.querySelector(`.legend[data-legend="${l}"]`), layer, { timeout: 15000 });
  await page.waitForTimeout(200);
}


const markerSel = (layer) => (layer === 'parking' ? '.ct-park-icon' : `path.ct-marker.ct-${layer}`);

/** What the page shows, read from the page only: each marker's colour and size, the label of
 * its popup badge (and the badge's contrast), and the legend's rows. */
async function markersAndLegend(page, layer) {
  const sel = markerSel(layer);
  const ids = await page.$$eval(sel, (els) => els.map((e) => e.getAttribute('data-id')));
  // Looks first, while the layer is framed (Leaflet empties the paths of markers panned out).
  const looks = [];
  for (const id of ids) {
    looks.push(await page.locator(`${sel}[data-id="${id}"]`).evaluate((e) => {
      if (e.tagName.toLowerCase() === 'path') {
        const b = e.getBBox();
        return { color: getComputedStyle(e).fill, size: Math.round(b.width), stale: e.classList.contains('stale') };
      }
      const box = e.querySelector('.ct-park');
      return { color: getComputedStyle(box).backgroundColor, size: null, stale: box.classList.contains('stale') };
    }));
  }
  // One popup per distinct look (colour, size): markers that look alike share its label, so
  // the check stays exact while a loaded machine opens a few popups per layer, not every one.
  const markers = [];
  const seen = new Map();
  for (const [k, id] of ids.entries()) {
    const look = looks[k];
    const key = `${look.color}|${look.size}`;
    if (seen.has(key)) {
      markers.push({ id, ...look, badge: seen.get(key).badge, popupText: seen.get(key).popupText });
      continue;
    }
    const m = page.locator(`${sel}[data-id="${id}"]`);
    await m.dispatchEvent('click');
    const popup = page.locator('.leaflet-popup-content .badge').last();
    await page.waitForFunction((i) => document.querySelector('.leaflet-popup-content')
      && location.hash.endsWith(`/${i}`), id, { timeout: 5000 });
    const badge = await popup.evaluate((b) => {
      const rgb = (c) => c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
      const lum = (c) => {
        const [r, g, bl] = rgb(c).map((v) => { const x = v / 255; return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
      };
      const bg = getComputedStyle(b).backgroundColor;
      const ratio = (x, y) => (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
      const en = b.querySelector('.en');
      return {
        label: b.dataset.label, text: b.innerText, bg,
        contrast: Math.min(ratio(lum(getComputedStyle(b).color), lum(bg)), en ? ratio(lum(getComputedStyle(en).color), lum(bg)) : 99),
      };
    });
    const popupText = await page.locator('.leaflet-popup-content').last().innerText();
    markers.push({ id, ...look, badge, popupText });
    seen.set(key, { badge, popupText });
  }
  await page.evaluate(() => document.querySelector('.leaflet-popup-close-button')?.click());
  const legend = await page.$$eval('.legend li', (lis) => lis.map((li) => {
    const sw = li.querySelector('.sw');
    return {
      color: getComputedStyle(sw).backgroundColor,
      size: Math.round(sw.getBoundingClientRect().width),
      label: li.querySelector('.label')?.dataset.label ?? null,
      text: li.innerText,
      stale: sw.classList.contains('dashed'),
    };
  }));
  return { markers, legend };
}

test('for every layer, each marker colour and size is in the legend with the popup label', async () => {
  const { context, page, problems, foreign } = await open();
  try {
    for (const layer of LAYERS) {
      await showLayer(page, layer);
      const fc = await expected(page, layer);
      await page.screenshot({ path: path.join(artifacts, `map-${layer}.png`) });
      const { markers, legend } = await markersAndLegend(page, layer);
      assert.equal(markers.length, fc.features.length, `${layer}: one marker per feature`);
      assert.ok(markers.length > 0, `${layer}: has markers`);
      for (const m of markers) {
        const row = legend.find((r) => !r.stale && r.color === m.color && r.label === m.badge.label
          && (m.size === null || Math.abs(r.size - m.size) <= 1));
        assert.ok(row, `${layer} ${m.id}: marker ${m.color} size ${m.size} labelled "${m.badge.label}" has no legend row: ${JSON.stringify(legend)}`);
        assert.equal(m.badge.bg, m.color, `${layer} ${m.id}: badge colour is the marker's`);
        assert.ok(m.badge.contrast >= 4.5, `${layer} ${m.id}: badge contrast ${m.badge.contrast.toFixed(2)} < 4.5`);
        assert.ok(/Tọa độ/.test(m.popupText) && /Nguồn/.test(m.popupText) && /Phương pháp/.test(m.popupText),
          `${layer} ${m.id}: popup lacks coordinates, method or source: ${m.popupText}`);
        if (m.stale) assert.ok(legend.some((r) => r.stale), `${layer}: stale marker without a stale legend entry`);
      }
      // The grey "not enough data yet" entry is always explained.
      assert.ok(legend.some((r) => r.label === 'Chưa đủ số liệu' && /Not enough data yet/.test(r.text)), `${layer}: no grey entry`);
      // The status line gives the data's own newest time, not the fetch time.
      if (fc.updated) {
        const t = new Date(Date.parse(fc.updated) + 7 * 3600e3).toISOString().slice(11, 16);
        assert.match(await page.locator('#status').innerText(), new RegExp(`số liệu mới nhất ${t}`), `${layer}: status time`);
      }
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(foreign, [], 'no request leaves the origin (no CDN, no tiles configured)');
  } finally {
    await context.close();
  }
});

test('the flood legend is the collector bands; air popups mark the dominant pollutant', async () => {
  const { context, page, problems } = await open();
  try {
    await showLayer(page, 'flood');
    const labels = await page.$$eval('.legend li .label', (els) => els.map((e) => e.dataset.label).filter(Boolean));
    assert.deepEqual(labels, ['Khô', 'Ngập nhẹ', 'Ngập', 'Ngập sâu', 'Nguy hiểm', 'Chưa đủ số liệu']);
    await showLayer(page, 'air');
    const fc = await expected(page, 'air');
    const f = fc.features.find((x) => x.properties.dominant && typeof x.properties[x.properties.dominant] === 'number');
    if (f) {
      await page.locator(`path.ct-air[data-id="${f.properties.id}"]`).dispatchEvent('click');
      await page.waitForSelector('.leaflet-popup-content tr.dominant');
      const text = await page.locator('.leaflet-popup-content').last().innerText();
      assert.ok(text.includes(f.properties.name), text);
      assert.match(text, /VN_AQI \d+/);
      assert.match(text, /QĐ 1459/);
      assert.match(await page.locator('.leaflet-popup-content tr.dominant').last().innerText(), /chính/);
      // The 24-hour history chart (uPlot) has one point per hour the collector has.
      const hist = await page.evaluate(async () => (await fetch('layers/air.history.json')).json());
      const n = (hist.series[f.properties.id] ?? []).length;
      await page.waitForFunction(() => [...document.querySelectorAll('.leaflet-popup-content .chart')].pop()?.dataset.points !== undefined);
      assert.equal(Number(await page.locator('.leaflet-popup-content .chart').last().getAttribute('data-points')), n);
      if (n > 0) assert.equal(await page.locator('.leaflet-popup-content .chart canvas').count() > 0, true, 'chart drawn');
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(artifacts, 'map-air-popup.png') });
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the URL hash and Back switch the layer; a shared link opens layer and station', async () => {
  const fcFlood = await (async () => {
    const { context, page } = await open();
    try { return await expected(page, 'flood'); } finally { await context.close(); }
  })();
  const st = fcFlood.features[0].properties;
  const { context, page, problems } = await open(undefined, {}, `#flood/${st.id}`);
  try {
    await waitLayer(page, 'flood');
    await page.waitForSelector('.leaflet-popup-content');
    assert.ok((await page.locator('.leaflet-popup-content').last().innerText()).includes(st.name), 'shared link opens the station');
    assert.equal(await page.getAttribute('#switcher button[data-layer="flood"]', 'aria-pressed'), 'true');
    await showLayer(page, 'rain');
    await showLayer(page, 'water');
    assert.match(page.url(), /#water$/);
    await page.goBack();
    await waitLayer(page, 'rain');
    await page.evaluate(() => { location.hash = '#parking'; });
    await waitLayer(page, 'parking');
    assert.equal(await page.getAttribute('#switcher button[data-layer="parking"]', 'aria-pressed'), 'true');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('Near me: the nearest station and its value in a sentence', async () => {
  const probe = await open();
  const fc = await expected(probe.page, 'air');
  await probe.context.close();
  const withData = fc.features.filter((f) => !f.properties.nodata && !f.properties.stale);
  const pool = withData.length ? withData : fc.features;
  const target = pool[pool.length - 1];
  const [lon, lat] = target.geometry.coordinates;
  const { context, page, problems } = await open(undefined, {
    geolocation: { latitude: lat + 0.001, longitude: lon + 0.001 }, permissions: ['geolocation'],
  });
  try {
    await showLayer(page, 'air');
    await page.click('.near-btn');
    await page.waitForFunction(() => document.getElementById('near')?.dataset.station);
    assert.equal(await page.getAttribute('#near', 'data-station'), target.properties.id);
    const text = await page.locator('#near').innerText();
    assert.match(text, /^Không khí gần bạn: .+, \d+ m/);
    assert.ok(text.includes(target.properties.band_vi), text);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('on a phone: layer buttons on one line, the legend covers no marker', async () => {
  const { context, page, problems } = await open({ width: 390, height: 844 });
  try {
    const vp = await page.getAttribute('meta[name="viewport"]', 'content');
    assert.match(vp, /width=device-width/);
    for (const layer of LAYERS) {
      await showLayer(page, layer);
      const boxes = [];
      for (const l of LAYERS) boxes.push(await page.locator(`#switcher button[data-layer="${l}"]`).boundingBox());
      for (const b of boxes) {
        assert.ok(b.x >= 0 && b.x + b.width <= 390 && b.height >= 36, `button fits: ${JSON.stringify(b)}`);
        assert.ok(Math.abs(b.y - boxes[0].y) < 2, `layer buttons on one line: ${JSON.stringify(boxes)}`);
      }
      const lg = await page.locator('.legend').boundingBox();
      const marks = await page.$$eval(markerSel(layer), (els) => els.map((e) => {
        const r = e.getBoundingClientRect();
        return { x: r.x, y: r.y, w: r.width, h: r.height, id: e.getAttribute('data-id') };
      }));
      const vis = marks.filter((m) => m.x + m.w > 0 && m.x < 390 && m.y + m.h > 0 && m.y < 844);
      for (const m of vis) {
        const overlap = m.x < lg.x + lg.width && m.x + m.w > lg.x && m.y < lg.y + lg.height && m.y + m.h > lg.y;
        assert.ok(!overlap, `${layer}: the legend covers ${m.id}`);
      }
      await page.screenshot({ path: path.join(artifacts, `map-phone-${layer}.png`) });
    }
    const scrollW = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollW <= 390, `no horizontal scrolling (${scrollW})`);
    await page.click('.legend-toggle');
    assert.equal(await page.locator('.legend li').first().isVisible(), true);
    await page.screenshot({ path: path.join(artifacts, 'map-phone-legend-open.png') });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
