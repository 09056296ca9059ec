// Pure presentation rules of the public map: labels, units, marker styles, links, distances.
// No DOM and no Leaflet here, so node --test can check them (test/present.test.mjs).
//
// There is no copy of the category tables here: every feature of a layer carries its band
// (band, band_vi, band_en, color, text_color, radius, shape, emphasis, nodata) and the layer
// carries the legend ("legend.bands"), both from the collector's one table (col_layers.h).

export const LAYERS = [
  { id: 'air', vi: 'Không khí', en: 'Air' },
  { id: 'water', vi: 'Nước', en: 'Water' },
  { id: 'rain', vi: 'Mưa', en: 'Rain' },
  { id: 'flood', vi: 'Ngập', en: 'Flooding' },
  { id: 'parking', vi: 'Bãi đỗ xe', en: 'Parking' },
];

/** Readable units for the wire units of ct/schema.h. */
const UNIT_TEXT = { 'ug/m3': 'µg/m³', degC: '°C', '%': '%', 'mg/L': 'mg/L', NTU: 'NTU', 'uS/cm': 'µS/cm', pH: '', mm: 'mm', cm: 'cm', spaces: 'chỗ', 1: '' };

/** Members shown in popups, per layer, in order: [property, Vietnamese label, English label]. */
export const FIELDS = {
  air: [
    ['pm25', 'Bụi mịn PM2.5', 'PM2.5'], ['pm10', 'Bụi PM10', 'PM10'], ['no2', 'NO₂', 'NO₂'],
    ['so2', 'SO₂', 'SO₂'], ['o3', 'O₃', 'O₃'], ['co', 'CO', 'CO'],
    ['t', 'Nhiệt độ', 'Temperature'], ['rh', 'Độ ẩm', 'Humidity'], ['aqi_us', 'AQI (Mỹ)', 'US AQI'],
  ],
  water: [
    ['wqi_vn', 'VN_WQI', 'VN_WQI'], ['ph', 'Độ pH', 'pH'], ['do', 'Oxy hòa tan', 'Dissolved O₂'],
    ['turb', 'Độ đục', 'Turbidity'], ['ec', 'Độ dẫn điện', 'Conductivity'],
    ['t', 'Nhiệt độ nước', 'Water temp.'], ['nh4', 'Amoni', 'NH₄⁺'], ['cod', 'COD', 'COD'], ['tss', 'TSS', 'TSS'],
  ],
  rain: [['mm_1h', 'Mưa 1 giờ', 'Rain 1 h'], ['mm_24h', 'Mưa 24 giờ', 'Rain 24 h']],
  flood: [['depth_cm', 'Độ sâu ngập', 'Water depth']],
  parking: [
    ['free', 'Chỗ trống', 'Free'], ['occupied', 'Đã đỗ', 'Occupied'], ['capacity', 'Sức chứa', 'Capacity'],
  ],
};

const DOMINANT = { pm25: 'PM2.5', pm10: 'PM10', no2: 'NO₂', so2: 'SO₂', o3: 'O₃', co: 'CO' };
const NODATA = '#9E9E9E';

/** Number with Vietnamese decimal comma, at most 'digits' decimals. */
export function formatNumber(v, digits = 1) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  return v.toLocaleString('vi-VN', { maximumFractionDigits: digits });
}

export function formatValue(props, key) {
  const v = props[key];
  if (typeof v !== 'number') return null;
  const unit = props.units?.[key];
  const text = unit !== undefined ? (UNIT_TEXT[unit] ?? unit) : '';
  const digits = key === 'ratio' || key === 'ph' ? 2 : key.startsWith('aqi') || key === 'wqi_vn' ? 0 : 1;
  return text ? `${formatNumber(v, digits)} ${text}` : formatNumber(v, digits);
}

/** "23/11/2026 17:00" in Hanoi time (UTC+7, no DST), or null. */
export function formatTime(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  const t = new Date(d.getTime() + 7 * 3600 * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${p(t.getUTCDate())}/${p(t.getUTCMonth() + 1)}/${t.getUTCFullYear()} ${p(t.getUTCHours())}:${p(t.getUTCMinutes())}`;
}

/** The pollutant that sets the AQI, readable ("PM2.5"), or null. */
export const dominantName = (p) => DOMINANT[p?.dominant] ?? null;

/** Names of the values the collector withheld because staff marked them invalid (the feature's
 * "withheld", docs/console.md): { vi, en } sentences, or null when nothing is withheld. */
export function withheldNote(layer, p) {
  const list = Array.isArray(p?.withheld) ? p.withheld : [];
  if (!list.length) return null;
  const index = { aqi_vn: 'VN_AQI', wqi_vn: 'VN_WQI', aqi_us: null, dominant: null, preliminary: null,
    flood_band: 'Flood level', flood_band_vi: null, flood_band_en: null, flood_color: null, ratio: null };
  const names = list.map((k) => (k in index ? index[k]
    : (FIELDS[layer] ?? []).find(([key]) => key === k)?.[2] ?? k)).filter(Boolean);
  const text = [...new Set(names)].join(', ');
  return {
    vi: `Đang được cán bộ kiểm tra, tạm không hiển thị: ${text}.`,
    en: `Marked invalid by staff, not shown: ${text}.`,
  };
}

/** What each layer shows recomputed from validated data: [Vietnamese, English]. */
const RECOMPUTED = {
  air: ['VN_AQI', 'VN_AQI'], water: ['VN_WQI', 'VN_WQI'], rain: ['Lượng mưa', 'Rain sums'],
  flood: ['Mức ngập', 'Flood level'], parking: ['Số chỗ', 'Lot counts'],
};

/** The note of a value the collector recomputed from the data left after staff marked some
 * invalid (the feature's "validated": true, docs/console.md): { vi, en }, or null. */
export function validatedNote(layer, p) {
  if (p?.validated !== true) return null;
  const [vi, en] = RECOMPUTED[layer] ?? RECOMPUTED.air;
  return {
    vi: `${vi} được tính từ số liệu đã kiểm tra (bỏ số liệu cán bộ đánh dấu không hợp lệ).`,
    en: `${en} computed from validated data (values staff marked invalid left out).`,
  };
}

/** The main value of a feature as text ("VN_AQI 128"), or null. */
export function mainValue(layer, p) {
  switch (layer) {
    case 'air': return typeof p.aqi_vn === 'number' ? `VN_AQI ${Math.round(p.aqi_vn)}` : null;
    case 'water': return typeof p.wqi_vn === 'number' ? `VN_WQI ${Math.round(p.wqi_vn)}` : null;
    case 'rain': return typeof p.mm_1h === 'number' ? `${formatNumber(p.mm_1h)} mm/giờ` : null;
    case 'flood': return typeof p.depth_cm === 'number' ? `${formatNumber(p.depth_cm, 0)} cm` : null;
    case 'parking': return typeof p.free === 'number' ? `${formatNumber(p.free, 0)} chỗ trống` : null;
    default: return null;
  }
}

/** The badge of a feature, from its band: { vi, en, color, text }. The label is exactly the
 * band's label, which the legend shows too. */
export function headline(layer, p) {
  const v = mainValue(layer, p);
  const pre = layer === 'water' && p.preliminary === true;
  return {
    vi: `${v ? `${v} · ` : ''}${p.band_vi ?? 'Chưa đủ số liệu'}${pre ? ' (sơ bộ)' : ''}`,
    en: `${p.band_en ?? 'Not enough data yet'}${pre ? ' (preliminary)' : ''}`,
    label: p.band_vi ?? 'Chưa đủ số liệu',
    color: p.color ?? NODATA,
    text: p.text_color ?? '#000000',
  };
}

/** Leaflet circleMarker options for a feature of a circle layer: colour and size are the
 * band's; a stale station is dashed and faded, an emphasised band has a heavy outline. */
export function circleStyle(layer, p) {
  const stale = p.stale === true;
  const emphasis = p.emphasis === true;
  let cls = `ct-marker ct-${layer}${stale ? ' stale' : ''}`;
  if (emphasis && !stale) cls += ' ct-emphasis';
  return {
    radius: typeof p.radius === 'number' && p.radius > 0 ? p.radius : 8,
    fillColor: p.color ?? NODATA,
    color: emphasis ? '#000000' : '#263238',
    weight: emphasis ? 3 : 1.5,
    fillOpacity: stale ? 0.45 : 0.9,
    opacity: stale ? 0.7 : 1,
    className: cls,
  };
}

/** "#air", "#air/hn-air-0001": the layer and the open station of a shareable link. */
export function parseHash(hash) {
  const [layer, station] = String(hash ?? '').replace(/^#/, '').split('/');
  const ok = LAYERS.some((l) => l.id === layer);
  return { layer: ok ? layer : null, station: ok && station ? decodeURIComponent(station) : null };
}

export const formatHash = (layer, station) => `#${layer}${station ? `/${encodeURIComponent(station)}` : ''}`;

/** Great-circle distance in metres (haversine, mean Earth radius). */
export function distanceM(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** The nearest feature with data (not stale, not nodata if any has data) to a position. */
export function nearest(features, lat, lon) {
  let best = null;
  const usable = features.filter((f) => f?.geometry?.type === 'Point');
  const withData = usable.filter((f) => !f.properties?.nodata && !f.properties?.stale);
  for (const f of withData.length ? withData : usable) {
    const [flon, flat] = f.geometry.coordinates;
    const d = distanceM(lat, lon, flat, flon);
    if (!best || d < best.d) best = { f, d };
  }
  return best;
}

const SUBJECT = { air: ['Không khí', 'Air'], water: ['Nước', 'Water'], rain: ['Mưa', 'Rain'], flood: ['Ngập', 'Flooding'], parking: ['Bãi đỗ xe', 'Parking'] };

/** "Không khí gần bạn: Kém (VN_AQI 128), 1,2 km, cập nhật 14:05" and its English. */
export function nearSentence(layer, p, metres) {
  const km = metres < 1000 ? `${Math.round(metres)} m` : `${formatNumber(metres / 1000, 1)} km`;
  const v = mainValue(layer, p);
  const t = formatTime(p.time)?.slice(11);
  const [svi, sen] = SUBJECT[layer] ?? ['', ''];
  const vi = `${svi} gần bạn: ${p.band_vi ?? 'Chưa đủ số liệu'}${v ? ` (${v})` : ''}, ${km}${t ? `, cập nhật ${t}` : ''}`;
  const en = `${sen} near you: ${p.band_en ?? 'Not enough data yet'}, ${km} away (${p.name ?? p.id})`;
  return { vi, en };
}

/** WCAG 2 contrast ratio of two "#RRGGBB" colours. */
export function contrast(a, b) {
  const lum = (hex) => {
    const n = parseInt(hex.slice(1), 16);
    const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
      const s = c / 255;
      return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  };
  const [x, y] = [lum(a), lum(b)].sort((m, n) => n - m);
  return (x + 0.05) / (y + 0.05);
}
