// citytel public map of Hanoi: one layer at a time, fetched from the collector
// (layers/<layer>.geojson, relative to this page) and refreshed every 60 s. Works without base-map
// tiles; config.json may give {"tile_url": "...", "attribution": "..."}.
//
// Markers and legend come from the same table: each feature carries its band (colour, radius,
// label) and the layer carries "legend.bands"; this page copies neither. The URL hash names the
// layer and the open station ("#air/hn-air-0001"), so links can be shared and Back works.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import districtsUrl from './districts.geojson';
import {
  FIELDS, LAYERS, circleStyle, dominantName, formatHash, formatTime, formatValue, headline,
  nearSentence, nearest, parseHash, validatedNote, withheldNote,
} from './present.js';

const REFRESH_MS = 60_000;
const HANOI = [21.0285, 105.8542];

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** "Tiếng Việt <span class=en>English</span>" as DOM. */
const bilingual = (tag, cls, vi, en) => {
  const e = el(tag, cls, vi);
  if (en) {
    e.append(' ');
    e.append(el('span', 'en', en));
  }
  return e;
};

const map = L.map('map', { zoomControl: true, preferCanvas: false, attributionControl: true })
  .setView(HANOI, 12);
map.attributionControl.setPrefix('citytel · Leaflet');
// At city scale only the urban districts are labelled, so the centre stays readable.
const zoomClass = () => map.getContainer().classList.toggle('z-low', map.getZoom() < 12);
map.on('zoomend', zoomClass);
zoomClass();

const state = {
  layer: null, station: null, fc: null, group: L.layerGroup().addTo(map), markers: new Map(),
  loaded: {}, seq: 0, near: null,
};
const statusEl = document.getElementById('status');

function setStatus(vi, en, error = false) {
  statusEl.replaceChildren(bilingual('span', '', vi, en));
  statusEl.classList.toggle('error', error);
}

// ---- base map: tiles when configured, district labels always ----
async function loadConfig() {
  try {
    const r = await fetch(new URL('config.json', document.baseURI), { cache: 'no-store' });
    if (!r.ok) return {};
    return await r.json();
  } catch {
    return {};
  }
}

async function drawDistricts() {
  const r = await fetch(new URL(districtsUrl, document.baseURI));
  if (!r.ok) return;
  const fc = await r.json();
  const labels = L.layerGroup();
  // Below the markers (overlay pane 400, marker pane 600) so labels never cover data.
  map.createPane('districts').style.zIndex = '350';
  for (const f of fc.features) {
    const [lon, lat] = f.geometry.coordinates;
    const rural = f.properties.type_vi !== 'Quận';
    const span = el('span', '', f.properties.name);
    const icon = L.divIcon({ className: `district-label${rural ? ' rural' : ''}`, html: span, iconSize: null });
    L.marker([lat, lon], { icon, interactive: false, keyboard: false, pane: 'districts' }).addTo(labels);
  }
  labels.addTo(map);
}

// ---- popups ----
function badge(layer, p) {
  const h = headline(layer, p);
  const b = bilingual('div', 'badge', h.vi, h.en);
  b.dataset.label = h.label;
  b.style.background = h.color;
  b.style.color = h.text; // black or white, whichever reaches WCAG AA on this colour
  return b;
}

function popupContent(layer, p, coords) {
  const legend = state.fc?.legend ?? {};
  const box = el('div', 'popup');
  box.append(el('h3', '', p.name || p.id));
  const where = [p.ward, p.district].filter(Boolean).join(', ');
  box.append(el('p', 'where', where));
  box.append(badge(layer, p));
  const table = el('table');
  const dom = p.dominant;
  for (const [key, vi, en] of FIELDS[layer] ?? []) {
    const text = formatValue(p, key);
    if (text === null) continue;
    const tr = el('tr');
    const k = bilingual('td', 'k', vi, en === vi ? '' : en);
    if (key === dom) {
      tr.className = 'dominant';
      k.append(' ', bilingual('span', 'dom', '★ chính', 'dominant'));
    }
    tr.append(k, el('td', 'v', text));
    table.append(tr);
  }
  if (table.childElementCount) box.append(table);
  if (layer === 'air' && dominantName(p)) {
    box.append(bilingual('p', 'meta', `Chất quyết định chỉ số: ${dominantName(p)}`, 'sets the index'));
  }
  const t = formatTime(p.time);
  box.append(bilingual('p', 'time', t ? `Cập nhật ${t} (giờ Hà Nội)` : 'Chưa có số liệu', t ? 'Updated, Hanoi time' : 'No data yet'));
  if (p.stale) {
    box.append(bilingual('p', 'stale-note', '⚠ Số liệu cũ, trạm có thể mất kết nối.', 'Stale data: the station may be offline.'));
  }
  const held = withheldNote(layer, p);
  if (held) box.append(bilingual('p', 'withheld-note', `⚠ ${held.vi}`, held.en));
  const checked = validatedNote(layer, p);
  if (checked) box.append(bilingual('p', 'validated-note', `✓ ${checked.vi}`, checked.en));
  const chart = el('div', 'chart');
  chart.append(bilingual('p', 'chart-title', 'Đang tải lịch sử 24 giờ…', 'Loading the last 24 h…'));
  box.append(chart);
  const [lon, lat] = coords;
  const meta = el('dl', 'meta');
  const row = (vi, en, value) => {
    meta.append(bilingual('dt', '', vi, en), el('dd', '', value));
  };
  row('Tọa độ', 'Coordinates', `${lat.toFixed(5)}° B, ${lon.toFixed(5)}° Đ`);
  if (legend.method_vi) row('Phương pháp', 'Method', `${legend.method_vi} · ${legend.method_en}`);
  if (legend.source_vi) row('Nguồn', 'Source', `${legend.source_vi} · ${legend.source_en} (${p.id})`);
  box.append(meta);
  const link = el('a', 'share', 'Liên kết tới trạm này · Link to this station');
  link.href = formatHash(layer, p.id);
  box.append(link);
  return box;
}

// ---- markers ----
function parkingMarker(latlng, p) {
  const box = el('div', `ct-park${p.stale ? ' stale' : ''}`, typeof p.free === 'number' ? String(p.free) : '–');
  box.style.background = p.color ?? '#9E9E9E';
  box.style.color = p.text_color ?? '#000000';
  const icon = L.divIcon({ className: 'ct-park-icon', html: box, iconSize: [46, 28], iconAnchor: [23, 14] });
  return L.marker(latlng, { icon, title: p.name, alt: p.name, riseOnHover: true });
}

function drawLayer(layer, fc) {
  state.group.clearLayers();
  state.markers.clear();
  const feats = Array.isArray(fc?.features) ? fc.features : [];
  // Draw the worst last so it sits on top (deep flooding, high AQI); no data first.
  const rank = (f) => (f.properties?.nodata ? -1 : f.properties?.band ?? 0);
  for (const f of [...feats].sort((a, b) => rank(a) - rank(b))) {
    if (f?.geometry?.type !== 'Point') continue;
    const [lon, lat] = f.geometry.coordinates;
    const p = f.properties ?? {};
    const m = layer === 'parking' ? parkingMarker([lat, lon], p) : L.circleMarker([lat, lon], circleStyle(layer, p));
    m.bindPopup(() => popupContent(layer, p, f.geometry.coordinates), { maxWidth: 300, autoPanPaddingTopLeft: [52, 16], autoPanPaddingBottomRight: [16, 16] });
    m.bindTooltip(p.name || p.id, { direction: 'top', offset: [0, -8] });
    m.on('popupopen', (e) => {
      setStation(p.id);
      drawChart(e.popup, layer, p);
    });
    m.on('popupclose', () => { if (state.station === p.id) setStation(null); });
    m.addTo(state.group);
    state.markers.set(String(p.id), m);
    // A stable handle for tests and assistive tools: the station id on the marker element.
    m.getElement?.()?.setAttribute('data-id', String(p.id ?? ''));
  }
  return feats.length;
}

// ---- 24-hour history in the popup (uPlot, bundled) ----
const histCache = {};

/** The layer's history document, fetched at most once a minute (the collector caches it like
 * the layers). */
async function layerHistory(layer) {
  const c = histCache[layer];
  if (c && Date.now() - c.at < REFRESH_MS) return c.doc;
  const r = await fetch(new URL(`layers/${layer}.history.json`, document.baseURI), { cache: 'no-store' });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  const doc = await r.json();
  histCache[layer] = { at: Date.now(), doc };
  return doc;
}

async function drawChart(popup, layer, p) {
  const holder = popup.getElement()?.querySelector('.chart');
  if (!holder) return;
  try {
    const doc = await layerHistory(layer);
    const pts = doc.series?.[p.id] ?? [];
    holder.dataset.points = String(pts.length);
    if (pts.length === 0) {
      holder.replaceChildren(bilingual('p', 'chart-title', 'Chưa có số liệu 24 giờ qua.', 'No data in the last 24 h yet.'));
    } else {
      holder.replaceChildren(bilingual('p', 'chart-title', doc.title_vi, doc.title_en));
      const data = [pts.map(([t]) => t / 1000), pts.map(([, v]) => v)];
      // eslint-disable-next-line no-new
      new uPlot({
        width: 260,
        height: 110,
        legend: { show: false },
        cursor: { show: false },
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Asia/Ho_Chi_Minh'),
        scales: { x: { time: true } },
        series: [{}, { label: doc.title_en, stroke: '#0b3d5c', width: 2, points: { show: true, size: 5, fill: '#0b3d5c' } }],
        axes: [
          { size: 24, font: '10px system-ui', values: (u, splits) => splits.map((t) => formatTime(new Date(t * 1000).toISOString())?.slice(11) ?? '') },
          { size: 34, font: '10px system-ui' },
        ],
      }, data, holder);
    }
  } catch (e) {
    holder.replaceChildren(bilingual('p', 'chart-title', 'Không tải được lịch sử.', `No history (${e.message}).`));
  }
  // Re-lay the popup around its grown content. The content becomes this element (update() of
  // a function content would build a new one without the chart).
  const content = holder.closest('.popup');
  if (content && popup.isOpen()) popup.setContent(content);
}

/** Keeps the hash in step with the open popup, without a history entry per click. */
function setStation(id) {
  state.station = id;
  const h = formatHash(state.layer, id);
  if (location.hash !== h) history.replaceState(null, '', h);
}

async function refresh() {
  const layer = state.layer;
  const seq = ++state.seq;
  try {
    const r = await fetch(new URL(`layers/${layer}.geojson`, document.baseURI), { cache: 'no-store' });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const fc = await r.json();
    if (layer !== state.layer || seq !== state.seq) return;
    const open = state.station;
    state.fc = fc;
    renderLegend(fc.legend);
    const n = drawLayer(layer, fc);
    if (!state.loaded[layer] && n > 0 && !open) {
      // First view of a layer: frame its stations (kept on later refreshes).
      const b = state.group.getLayers().map((m) => m.getLatLng());
      const narrow = map.getSize().x < 640;
      map.fitBounds(L.latLngBounds(b), {
        paddingTopLeft: [40, 40],
        paddingBottomRight: [narrow ? 40 : 300, narrow ? 60 : 40], // keep clear of the legend
        maxZoom: 14,
      });
    }
    state.loaded[layer] = true;
    if (open && state.markers.has(open)) state.markers.get(open).openPopup();
    // The data's own time (its newest reading), not the time of this fetch.
    const t = formatTime(fc.updated);
    setStatus(`${n} điểm · ${t ? `số liệu mới nhất ${t.slice(11)}` : 'chưa có số liệu'}`,
      `${n} sites · ${t ? `newest reading ${t.slice(11)}` : 'no data yet'}`);
    statusEl.dataset.updated = fc.updated ?? '';
    if (state.near) showNear();
    document.body.dataset.layer = layer;
    document.body.dataset.loaded = String(n);
  } catch (e) {
    setStatus('Không tải được dữ liệu, sẽ thử lại.', `Could not load data (${e.message}); retrying.`, true);
  }
}

// ---- legend: drawn from the layer's own table ----
const legend = L.control({ position: 'bottomright' });
legend.onAdd = () => {
  const div = el('div', 'legend');
  L.DomEvent.disableClickPropagation(div);
  L.DomEvent.disableScrollPropagation(div);
  return div;
};
legend.addTo(map);
// On a phone the legend starts folded to its title, so it does not cover markers; ▾ opens it.
const narrowScreen = window.matchMedia?.('(max-width: 640px)').matches;
let legendFolded = Boolean(narrowScreen);

function legendRow(b, boxWidth) {
  const li = el('li');
  const sw = el('span', `sw ${b.shape === 'square' ? 'square' : ''}${b.emphasis ? ' emphasis' : ''}`);
  sw.style.background = b.color;
  if (b.shape !== 'square' && b.radius > 0) sw.style.width = sw.style.height = `${2 * b.radius}px`;
  li.dataset.band = String(b.band);
  li.dataset.color = b.color;
  li.dataset.radius = String(b.radius);
  // Swatches as large as the markers, centred in one column so the labels line up.
  const box = el('span', 'swbox');
  box.style.width = `${boxWidth}px`;
  box.append(sw);
  li.append(box);
  if (b.range) li.append(el('span', 'range', b.range));
  const label = bilingual('span', 'label', b.vi, b.en);
  label.dataset.label = b.vi;
  li.append(label);
  return li;
}

function renderLegend(lg) {
  const div = legend.getContainer();
  div.replaceChildren();
  if (!lg) return;
  div.dataset.legend = lg.layer;
  const ul = el('ul');
  const boxWidth = Math.max(16, ...(lg.bands ?? []).map((b) => (b.shape === 'square' ? 16 : 2 * b.radius)));
  for (const b of lg.bands ?? []) ul.append(legendRow(b, boxWidth));
  const stale = el('li');
  const box = el('span', 'swbox');
  box.style.width = `${boxWidth}px`;
  box.append(el('span', 'sw dashed'));
  stale.append(box, bilingual('span', 'label', lg.stale_vi, lg.stale_en));
  ul.append(stale);
  const h = bilingual('h2', '', lg.title_vi, lg.title_en);
  const toggle = el('button', 'legend-toggle', '▾');
  toggle.type = 'button';
  toggle.setAttribute('aria-label', 'Chú giải / Legend');
  toggle.addEventListener('click', () => {
    legendFolded = !legendFolded;
    div.classList.toggle('collapsed', legendFolded);
  });
  h.append(toggle);
  div.append(h, ul);
  if (lg.note_vi) div.append(bilingual('p', 'note', lg.note_vi, lg.note_en));
  div.classList.toggle('collapsed', legendFolded);
}

// ---- near me ----
const nearBox = L.control({ position: 'topright' });
nearBox.onAdd = () => {
  const div = el('div', 'near');
  const b = bilingual('button', 'near-btn', '◎ Gần tôi', 'Near me');
  b.type = 'button';
  b.addEventListener('click', locate);
  const out = el('p', 'near-text');
  out.id = 'near';
  out.setAttribute('role', 'status');
  div.append(b, out);
  L.DomEvent.disableClickPropagation(div);
  return div;
};
nearBox.addTo(map);

function showNear() {
  const out = document.getElementById('near');
  const feats = state.fc?.features ?? [];
  const best = nearest(feats, state.near.lat, state.near.lon);
  if (!best) return;
  const s = nearSentence(state.layer, best.f.properties, best.d);
  out.replaceChildren(bilingual('span', '', s.vi, s.en));
  out.dataset.station = best.f.properties.id;
}

function locate() {
  const out = document.getElementById('near');
  if (!navigator.geolocation) {
    out.textContent = 'Trình duyệt không cho biết vị trí. · No location available.';
    return;
  }
  out.textContent = 'Đang tìm vị trí… · Locating…';
  navigator.geolocation.getCurrentPosition((pos) => {
    state.near = { lat: pos.coords.latitude, lon: pos.coords.longitude };
    L.circleMarker([state.near.lat, state.near.lon], { radius: 6, color: '#0b3d5c', fillColor: '#fff', fillOpacity: 1, weight: 3, className: 'ct-me', interactive: false }).addTo(map);
    showNear();
    const id = document.getElementById('near').dataset.station;
    const m = id && state.markers.get(id);
    if (m) {
      map.setView(m.getLatLng(), Math.max(map.getZoom(), 14));
      m.openPopup();
    }
  }, () => {
    out.textContent = 'Không lấy được vị trí (chưa cho phép?). · Location not allowed.';
  }, { timeout: 10000, maximumAge: 60000 });
}

// ---- layer switcher and navigation ----
const switcher = document.getElementById('switcher');
for (const l of LAYERS) {
  const b = bilingual('button', '', l.vi, l.en);
  b.type = 'button';
  b.dataset.layer = l.id;
  // A new history entry per layer, so Back returns to the previous one.
  b.addEventListener('click', () => { if (l.id !== state.layer) location.hash = formatHash(l.id, null); });
  switcher.append(b);
}

/** Shows what the hash names: the layer, and the station whose popup is open. */
function fromHash() {
  const { layer, station } = parseHash(location.hash);
  const want = layer ?? 'air';
  state.station = station;
  if (want !== state.layer) {
    state.layer = want;
    for (const b of switcher.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.layer === want));
    map.closePopup();
    state.station = station;
    state.group.clearLayers();
    state.fc = null;
    renderLegend(null);
    refresh();
  } else if (station && state.markers.has(station)) {
    state.markers.get(station).openPopup();
  } else if (!station) {
    map.closePopup();
  }
}

async function start() {
  const cfg = await loadConfig();
  if (typeof cfg.tile_url === 'string' && cfg.tile_url) {
    L.tileLayer(cfg.tile_url, { attribution: String(cfg.attribution ?? ''), maxZoom: 19 }).addTo(map);
    document.body.classList.add('tiles');
  }
  drawDistricts().catch(() => {});
  window.addEventListener('hashchange', fromHash);
  fromHash();
  setInterval(refresh, REFRESH_MS);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
}

start();
