// Unit tests of the map's pure presentation rules. Run: npm run check
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  circleStyle, contrast, distanceM, formatHash, formatTime, formatValue, headline, nearSentence, nearest, parseHash,
  validatedNote, withheldNote,
} from '../src/present.js';

test('values carry readable units and Vietnamese decimal commas', () => {
  const p = { pm25: 41.25, t: 24.5, ph: 7.41, units: { pm25: 'ug/m3', t: 'degC', ph: 'pH' } };
  assert.equal(formatValue(p, 'pm25'), '41,3 µg/m³');
  assert.equal(formatValue(p, 't'), '24,5 °C');
  assert.equal(formatValue(p, 'ph'), '7,41');
  assert.equal(formatValue(p, 'no2'), null);
});

test('times are shown in Hanoi time', () => {
  assert.equal(formatTime('2026-11-23T09:55:00Z'), '23/11/2026 16:55');
  assert.equal(formatTime('2026-12-31T17:30:00Z'), '01/01/2027 00:30');
  assert.equal(formatTime(null), null);
  assert.equal(formatTime('nonsense'), null);
});

test('markers take colour, size and emphasis from the feature band; stale is dashed', () => {
  const deep = circleStyle('flood', { color: '#FF0000', radius: 19, emphasis: true });
  assert.equal(deep.fillColor, '#FF0000');
  assert.equal(deep.radius, 19);
  assert.match(deep.className, /ct-emphasis/);
  assert.ok(deep.weight > circleStyle('flood', { radius: 7 }).weight);
  assert.match(circleStyle('air', { stale: true }).className, /stale/);
  assert.equal(circleStyle('air', {}).fillColor, '#9E9E9E');
});

test('badges say the band label, the value and preliminary', () => {
  const h = headline('air', { aqi_vn: 128, band_vi: 'Kém', band_en: 'Poor', color: '#FF7E00', text_color: '#000000' });
  assert.equal(h.vi, 'VN_AQI 128 · Kém');
  assert.equal(h.label, 'Kém');
  const w = headline('water', { wqi_vn: 70, band_vi: 'Trung bình', band_en: 'Medium', preliminary: true });
  assert.match(w.vi, /sơ bộ/);
  assert.match(w.en, /preliminary/);
  assert.equal(headline('air', {}).vi, 'Chưa đủ số liệu');
  assert.ok(contrast('#000000', '#FF0000') >= 4.5);
  assert.ok(contrast('#FFFFFF', '#7E0023') >= 4.5);
});

test('links carry layer and station', () => {
  assert.deepEqual(parseHash('#flood/hn-flood-0002'), { layer: 'flood', station: 'hn-flood-0002' });
  assert.deepEqual(parseHash('#nonsense'), { layer: null, station: null });
  assert.equal(formatHash('air', 'hn-air-0001'), '#air/hn-air-0001');
  assert.equal(formatHash('air', null), '#air');
});

test('near me: the nearest station with data, in a sentence', () => {
  // Hoàn Kiếm lake to Hàng Bông: about 0.6 km.
  const d = distanceM(21.0287, 105.8524, 21.0305, 105.847);
  assert.ok(d > 500 && d < 700, String(d));
  const feats = [
    { geometry: { type: 'Point', coordinates: [105.847, 21.0305] }, properties: { id: 'a', nodata: true } },
    { geometry: { type: 'Point', coordinates: [105.80, 21.03] }, properties: { id: 'b', name: 'Trạm B', aqi_vn: 128, band_vi: 'Kém', band_en: 'Poor', time: '2026-11-23T07:05:00Z' } },
  ];
  const best = nearest(feats, 21.0287, 105.8524);
  assert.equal(best.f.properties.id, 'b');
  assert.equal(nearSentence('air', best.f.properties, 1200).vi, 'Không khí gần bạn: Kém (VN_AQI 128), 1,2 km, cập nhật 14:05');
});

test('an index recomputed from validated data says so, Vietnamese first', () => {
  const n = validatedNote('air', { aqi_vn: 82, validated: true });
  assert.equal(n.en, 'VN_AQI computed from validated data (values staff marked invalid left out).');
  assert.match(n.vi, /^VN_AQI được tính từ số liệu đã kiểm tra/);
  assert.equal(validatedNote('air', { aqi_vn: 82 }), null);
  assert.equal(validatedNote('air', { validated: 'true' }), null);
  const r = validatedNote('rain', { mm_1h: 0.6, validated: true });
  assert.equal(r.en, 'Rain sums computed from validated data (values staff marked invalid left out).');
  assert.match(r.vi, /^Lượng mưa được tính từ số liệu đã kiểm tra/);
});

test('values staff marked invalid are named as withheld', () => {
  const n = withheldNote('air', { withheld: ['pm25', 'aqi_vn', 'aqi_us', 'dominant'] });
  assert.equal(n.en, 'Marked invalid by staff, not shown: PM2.5, VN_AQI.');
  assert.match(n.vi, /tạm không hiển thị: PM2\.5, VN_AQI\.$/);
  assert.equal(withheldNote('flood', { withheld: ['depth_cm'] }).en, 'Marked invalid by staff, not shown: Water depth.');
  assert.equal(withheldNote('flood', { withheld: ['depth_cm', 'flood_band', 'flood_band_vi',
    'flood_band_en', 'flood_color'] }).en, 'Marked invalid by staff, not shown: Water depth, Flood level.');
  assert.equal(withheldNote('rain', { withheld: ['mm_1h', 'mm_24h'] }).en,
    'Marked invalid by staff, not shown: Rain 1 h, Rain 24 h.');
  assert.equal(withheldNote('air', {}), null);
  assert.equal(withheldNote('air', { withheld: [] }), null);
});
