// Pure presentation rules of the public map: labels, units, colours, marker styles.
// No DOM and no Leaflet here, so node --test can check them (test/present.test.mjs).

/** VN_AQI categories, Decision 1459/QD-TCMT Bang 1 (same as the collector's table). */
export const AQI_CATEGORIES = [
  { level: 1, lo: 0, hi: 50, vi: 'Tốt', en: 'Good', color: '#00E400' },
  { level: 2, lo: 51, hi: 100, vi: 'Trung bình', en: 'Moderate', color: '#FFFF00' },
  { level: 3, lo: 101, hi: 150, vi: 'Kém', en: 'Poor', color: '#FF7E00' },
  { level: 4, lo: 151, hi: 200, vi: 'Xấu', en: 'Bad', color: '#FF0000' },
  { level: 5, lo: 201, hi: 300, vi: 'Rất xấu', en: 'Very bad', color: '#8F3F97' },
  { level: 6, lo: 301, hi: 500, vi: 'Nguy hại', en: 'Hazardous', color: '#7E0023' },
];

/** VN_WQI categories, Decision 1460/QD-TCMT. */
export const WQI_CATEGORIES = [
  { lo: 91, vi: 'Rất tốt', en: 'Very good', color: '#3333FF' },
  { lo: 76, vi: 'Tốt', en: 'Good', color: '#00E400' },
  { lo: 51, vi: 'Trung bình', en: 'Medium', color: '#FFFF00' },
  { lo: 26, vi: 'Xấu', en: 'Poor', color: '#FF7E00' },
  { lo: 10, vi: 'Kém', en: 'Bad', color: '#FF0000' },
  { lo: -Infinity, vi: 'Ô nhiễm rất nặng', en: 'Heavily polluted', color: '#7E0023' },
];

/** Flood depth bands as published by the collector (the project's own choice of bands). */
export const FLOOD_BANDS = [
  { band: 0, vi: 'Không ngập', en: 'No flooding', color: '#2B83BA' },
  { band: 1, vi: 'Ngập nhẹ', en: 'Shallow flooding', color: '#FDD835' },
  { band: 2, vi: 'Ngập vừa', en: 'Moderate flooding', color: '#FB8C00' },
  { band: 3, vi: 'Ngập sâu', en: 'Deep flooding', color: '#E53935' },
  { band: 4, vi: 'Ngập rất sâu', en: 'Very deep flooding', color: '#6A1B9A' },
];

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

export function aqiCategory(aqi) {
  if (typeof aqi !== 'number' || !Number.isFinite(aqi) || aqi < 0) return null;
  const v = Math.round(aqi);
  return AQI_CATEGORIES.find((c) => v <= c.hi) ?? AQI_CATEGORIES[5];
}

export function wqiCategory(wqi) {
  if (typeof wqi !== 'number' || !Number.isFinite(wqi)) return null;
  return WQI_CATEGORIES.find((c) => wqi >= c.lo);
}

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

/** The headline of a feature: { vi, en, color } or null. */
export function headline(layer, p) {
  switch (layer) {
    case 'air': {
      const c = aqiCategory(p.aqi_vn);
      if (!c) return null;
      const dom = DOMINANT[p.dominant];
      return {
        vi: `VN_AQI ${Math.round(p.aqi_vn)} · ${p.aqi_vn_category_vi ?? c.vi}`,
        en: `${p.aqi_vn_category_en ?? c.en}${dom ? ` · ${dom}` : ''}`,
        color: p.aqi_vn_color ?? c.color,
      };
    }
    case 'water': {
      const c = wqiCategory(p.wqi_vn);
      return c ? { vi: `VN_WQI ${Math.round(p.wqi_vn)} · ${c.vi}`, en: c.en, color: c.color } : null;
    }
    case 'rain':
      return p.rain_term_vi ? { vi: p.rain_term_vi, en: p.rain_term_en ?? '', color: '#90CAF9' } : null;
    case 'flood': {
      const b = FLOOD_BANDS[p.flood_band];
      return b ? { vi: p.flood_band_vi ?? b.vi, en: p.flood_band_en ?? b.en, color: p.flood_color ?? b.color } : null;
    }
    case 'parking':
      return typeof p.free === 'number'
        ? { vi: `Còn ${formatNumber(p.free, 0)} chỗ trống`, en: `${formatNumber(p.free, 0)} free spaces`, color: parkingColor(p) }
        : null;
    default:
      return null;
  }
}

const STALE_GREY = '#9E9E9E';

export function parkingColor(p) {
  if (typeof p.free !== 'number') return STALE_GREY;
  const ratio = typeof p.ratio === 'number' ? p.ratio : 1 - p.free / Math.max(1, p.capacity ?? 1);
  if (p.free <= 0 || ratio >= 0.95) return '#C62828';
  if (ratio >= 0.8) return '#EF6C00';
  return '#2E7D32';
}

/** Leaflet circleMarker options for a feature of a circle layer. */
export function circleStyle(layer, p) {
  const stale = p.stale === true;
  const base = { weight: 1.5, color: '#263238', fillOpacity: stale ? 0.45 : 0.9, opacity: stale ? 0.7 : 1 };
  let cls = `ct-marker ct-${layer}${stale ? ' stale' : ''}`;
  switch (layer) {
    case 'air': {
      const c = aqiCategory(p.aqi_vn);
      return { ...base, radius: 11, fillColor: p.aqi_vn_color ?? c?.color ?? STALE_GREY, className: cls };
    }
    case 'water': {
      const c = wqiCategory(p.wqi_vn);
      return { ...base, radius: 10, fillColor: c?.color ?? '#4FC3F7', className: cls };
    }
    case 'rain': {
      const mm = typeof p.mm_1h === 'number' ? p.mm_1h : 0;
      // Area grows with the hourly amount: 5 px dry, 28 px at 50 mm/h and above.
      const radius = 5 + Math.min(23, Math.sqrt(Math.max(0, mm)) * 3.3);
      return { ...base, radius, color: '#0D47A1', fillColor: mm > 0 ? '#1E88E5' : '#BBDEFB', fillOpacity: stale ? 0.3 : 0.6, className: cls };
    }
    case 'flood': {
      const band = typeof p.flood_band === 'number' ? p.flood_band : -1;
      const b = FLOOD_BANDS[band];
      const deep = band >= 3;
      if (deep && !stale) cls += ' ct-flood-deep';
      return {
        ...base,
        radius: band < 0 ? 7 : [7, 10, 13, 18, 22][band],
        fillColor: b?.color ?? STALE_GREY,
        color: deep ? '#000000' : '#263238',
        weight: deep ? 3 : band >= 2 ? 2 : 1.5,
        className: cls,
      };
    }
    default:
      return { ...base, radius: 8, fillColor: STALE_GREY, className: cls };
  }
}
