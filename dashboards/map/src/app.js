// citytel public map of Hanoi: one layer at a time, fetched from the collector
// (layers/<layer>.geojson, relative to this page) and refreshed every 60 s. Works without base-map
// tiles; config.json may give {"tile_url": "...", "attribution": "..."}.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import './style.css';
import districtsUrl from './districts.geojson';
import {
  AQI_CATEGORIES, FIELDS, FLOOD_BANDS, LAYERS, WQI_CATEGORIES,
  circleStyle, formatTime, formatValue, headline, parkingColor,
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

const state = { layer: 'air', group: L.layerGroup().addTo(map), timer: null, loaded: {} };
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
function popupContent(layer, p) {
  const box = el('div', 'popup');
  box.append(el('h3', '', p.name || p.id));
  const where = [p.ward, p.district].filter(Boolean).join(', ');
  box.append(el('p', 'where', where));
  const h = headline(layer, p);
  if (h) {
    const badge = bilingual('div', 'badge', h.vi, h.en);
    badge.style.background = h.color;
    badge.style.color = ['#7E0023', '#8F3F97', '#6A1B9A', '#C62828', '#E53935', '#3333FF', '#2E7D32', '#2B83BA', '#FF0000'].includes(h.color) ? '#fff' : '#1d2b36';
    box.append(badge);
  }
  const table = el('table');
  for (const [key, vi, en] of FIELDS[layer] ?? []) {
    const text = formatValue(p, key);
    if (text === null) continue;
    const tr = el('tr');
    tr.append(bilingual('td', 'k', vi, en === vi ? '' : en), el('td', 'v', text));
    table.append(tr);
  }
  if (table.childElementCount) box.append(table);
  const t = formatTime(p.time);
  box.append(bilingual('p', 'time', t ? `Cập nhật ${t} (giờ Hà Nội)` : 'Chưa có số liệu', t ? 'Updated, Hanoi time' : 'No data yet'));
  if (p.stale) {
    box.append(bilingual('p', 'stale-note', '⚠ Số liệu cũ, trạm có thể mất kết nối.', 'Stale data: the station may be offline.'));
  }
  return box;
}

// ---- markers ----
function parkingMarker(latlng, p) {
  const box = el('div', `ct-park${p.stale ? ' stale' : ''}`, typeof p.free === 'number' ? String(p.free) : '–');
  box.style.background = parkingColor(p);
  const icon = L.divIcon({ className: 'ct-park-icon', html: box, iconSize: [46, 28], iconAnchor: [23, 14] });
  return L.marker(latlng, { icon, title: p.name, alt: p.name, riseOnHover: true });
}

function drawLayer(layer, fc) {
  state.group.clearLayers();
  const feats = Array.isArray(fc?.features) ? fc.features : [];
  // Draw the worst last so it sits on top (deep flooding, high AQI).
  const rank = (f) => f.properties?.flood_band ?? f.properties?.aqi_vn ?? f.properties?.mm_1h ?? 0;
  for (const f of [...feats].sort((a, b) => rank(a) - rank(b))) {
    if (f?.geometry?.type !== 'Point') continue;
    const [lon, lat] = f.geometry.coordinates;
    const p = f.properties ?? {};
    const m = layer === 'parking' ? parkingMarker([lat, lon], p) : L.circleMarker([lat, lon], circleStyle(layer, p));
    m.bindPopup(() => popupContent(layer, p), { maxWidth: 300, autoPanPadding: [16, 16] });
    m.bindTooltip(p.name || p.id, { direction: 'top', offset: [0, -8] });
    m.addTo(state.group);
    // A stable handle for tests and assistive tools: the station id on the marker element.
    m.getElement?.()?.setAttribute('data-id', String(p.id ?? ''));
  }
  return feats.length;
}

async function refresh() {
  const layer = state.layer;
  try {
    const r = await fetch(new URL(`layers/${layer}.geojson`, document.baseURI), { cache: 'no-store' });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const fc = await r.json();
    if (layer !== state.layer) return;
    const n = drawLayer(layer, fc);
    if (!state.loaded[layer] && n > 0) {
      // First view of a layer: frame its stations (kept on later refreshes).
      const b = state.group.getLayers().map((m) => m.getLatLng());
      const narrow = map.getSize().x < 640;
      map.fitBounds(L.latLngBounds(b), {
        paddingTopLeft: [56, 40],
        paddingBottomRight: [narrow ? 40 : 300, 60], // keep clear of the legend
        maxZoom: 14,
      });
    }
    state.loaded[layer] = true;
    const t = formatTime(new Date().toISOString());
    setStatus(`${n} điểm · cập nhật ${t.slice(11)}`, `${n} sites · updated ${t.slice(11)}`);
    document.body.dataset.layer = layer;
    document.body.dataset.loaded = String(n);
  } catch (e) {
    setStatus('Không tải được dữ liệu, sẽ thử lại.', `Could not load data (${e.message}); retrying.`, true);
  }
}

// ---- legend ----
const legend = L.control({ position: 'bottomright' });
legend.onAdd = () => {
  const div = el('div', 'legend');
  L.DomEvent.disableClickPropagation(div);
  L.DomEvent.disableScrollPropagation(div);
  return div;
};
legend.addTo(map);
// On a phone the legend starts folded to its title; the ▾ button opens it.
if (window.matchMedia?.('(max-width: 640px)').matches) legend.getContainer().classList.add('collapsed');

function legendRow(color, vi, en, range, shape = '') {
  const li = el('li');
  const sw = el('span', `sw ${shape}`);
  if (color) sw.style.background = color;
  li.append(sw);
  if (range) li.append(el('span', 'range', range));
  li.append(bilingual('span', '', vi, en));
  return li;
}

function renderLegend(layer) {
  const div = legend.getContainer();
  div.replaceChildren();
  const ul = el('ul');
  let title;
  let note = null;
  if (layer === 'air') {
    title = ['Chỉ số VN_AQI', 'Air quality index'];
    for (const c of AQI_CATEGORIES) ul.append(legendRow(c.color, c.vi, c.en, `${c.lo}–${c.hi}`));
    note = ['Bảng 1, QĐ 1459/QĐ-TCMT', ''];
    div.dataset.legend = 'aqi';
  } else if (layer === 'water') {
    title = ['Chỉ số VN_WQI', 'Water quality index'];
    for (const c of WQI_CATEGORIES) ul.append(legendRow(c.color, c.vi, c.en, Number.isFinite(c.lo) ? `≥ ${c.lo}` : '< 10'));
    note = ['QĐ 1460/QĐ-TCMT', ''];
  } else if (layer === 'rain') {
    title = ['Lượng mưa 1 giờ', 'Rain in the last hour'];
    for (const [mm, vi] of [[0, 'Không mưa'], [2, '2 mm'], [10, '10 mm'], [30, '≥ 30 mm (ngập úng)']]) {
      const li = legendRow(mm ? '#1E88E5' : '#BBDEFB', vi, mm === 0 ? 'No rain' : mm >= 30 ? 'flooding risk' : '');
      const sz = 2 * (5 + Math.min(23, Math.sqrt(mm) * 3.3));
      li.firstChild.style.width = li.firstChild.style.height = `${Math.min(28, sz)}px`;
      ul.append(li);
    }
  } else if (layer === 'flood') {
    title = ['Độ sâu ngập', 'Street flooding depth'];
    const ranges = ['< 10 cm', '10–30 cm', '30–50 cm', '≥ 50 cm', ''];
    for (const b of FLOOD_BANDS.slice(0, 4)) ul.append(legendRow(b.color, b.vi, b.en, ranges[b.band]));
    note = ['Ngưỡng mặc định, từng trạm có thể khác.', 'Default bands; stations may differ.'];
  } else {
    title = ['Chỗ trống', 'Free spaces'];
    ul.append(legendRow('#2E7D32', 'Còn nhiều chỗ', 'Available', '', 'square'));
    ul.append(legendRow('#EF6C00', 'Sắp đầy (≥ 80%)', 'Filling up', '', 'square'));
    ul.append(legendRow('#C62828', 'Gần hết / hết chỗ (≥ 95%)', 'Full or nearly', '', 'square'));
  }
  ul.append(legendRow(null, 'Số liệu cũ', 'Stale', '', 'dashed'));
  const h = bilingual('h2', '', title[0], title[1]);
  const toggle = el('button', 'legend-toggle', '▾');
  toggle.type = 'button';
  toggle.setAttribute('aria-label', 'Chú giải / Legend');
  toggle.addEventListener('click', () => div.classList.toggle('collapsed'));
  h.append(toggle);
  div.append(h, ul);
  if (note) div.append(bilingual('p', 'note', note[0], note[1]));
}

// ---- layer switcher ----
const switcher = document.getElementById('switcher');
for (const l of LAYERS) {
  const b = bilingual('button', '', l.vi, l.en);
  b.type = 'button';
  b.dataset.layer = l.id;
  b.setAttribute('aria-pressed', String(l.id === state.layer));
  b.addEventListener('click', () => selectLayer(l.id));
  switcher.append(b);
}

function selectLayer(id) {
  state.layer = id;
  for (const b of switcher.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.layer === id));
  map.closePopup();
  state.group.clearLayers();
  renderLegend(id);
  if (history.replaceState) history.replaceState(null, '', `#${id}`);
  refresh();
}

async function start() {
  const cfg = await loadConfig();
  if (typeof cfg.tile_url === 'string' && cfg.tile_url) {
    L.tileLayer(cfg.tile_url, { attribution: String(cfg.attribution ?? ''), maxZoom: 19 }).addTo(map);
    document.body.classList.add('tiles');
  }
  drawDistricts().catch(() => {});
  const fromHash = location.hash.slice(1);
  selectLayer(LAYERS.some((l) => l.id === fromHash) ? fromHash : 'air');
  state.timer = setInterval(refresh, REFRESH_MS);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
}

start();
