// Unit tests of the map's pure presentation rules. Run: npm run check
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AQI_CATEGORIES, aqiCategory, circleStyle, formatTime, formatValue, headline, parkingColor, wqiCategory,
} from '../src/present.js';

test('VN_AQI categories follow Bang 1 of QD 1459 (boundaries and colours)', () => {
  const cases = [[0, 'Tốt', '#00E400'], [50, 'Tốt'], [51, 'Trung bình', '#FFFF00'], [100, 'Trung bình'],
    [101, 'Kém', '#FF7E00'], [150, 'Kém'], [151, 'Xấu', '#FF0000'], [200, 'Xấu'], [201, 'Rất xấu', '#8F3F97'],
    [300, 'Rất xấu'], [301, 'Nguy hại', '#7E0023'], [500, 'Nguy hại'], [812, 'Nguy hại'], [50.4, 'Tốt'], [50.5, 'Trung bình']];
  for (const [aqi, vi, color] of cases) {
    const c = aqiCategory(aqi);
    assert.equal(c.vi, vi, `AQI ${aqi}`);
    if (color) assert.equal(c.color, color);
  }
  assert.equal(aqiCategory(-1), null);
  assert.equal(aqiCategory(undefined), null);
  assert.equal(AQI_CATEGORIES.length, 6);
});

test('VN_WQI categories', () => {
  assert.equal(wqiCategory(95).vi, 'Rất tốt');
  assert.equal(wqiCategory(76).vi, 'Tốt');
  assert.equal(wqiCategory(75).vi, 'Trung bình');
  assert.equal(wqiCategory(9).vi, 'Ô nhiễm rất nặng');
  assert.equal(wqiCategory(null), null);
});

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

test('deep flooding is bigger, bolder and pulses; stale markers are dashed', () => {
  const shallow = circleStyle('flood', { flood_band: 1 });
  const deep = circleStyle('flood', { flood_band: 3 });
  const veryDeep = circleStyle('flood', { flood_band: 4 });
  assert.ok(deep.radius > shallow.radius && veryDeep.radius > deep.radius);
  assert.ok(deep.weight > shallow.weight);
  assert.match(deep.className, /ct-flood-deep/);
  assert.doesNotMatch(shallow.className, /ct-flood-deep/);
  assert.equal(veryDeep.fillColor, '#6A1B9A');
  assert.match(circleStyle('air', { stale: true }).className, /stale/);
});

test('rain circles grow with mm per hour; air uses the category colour', () => {
  const r0 = circleStyle('rain', { mm_1h: 0 }).radius;
  const r10 = circleStyle('rain', { mm_1h: 10 }).radius;
  const r100 = circleStyle('rain', { mm_1h: 100 }).radius;
  assert.ok(r0 < r10 && r10 < r100 && r100 <= 28);
  assert.equal(circleStyle('air', { aqi_vn: 82, aqi_vn_color: '#FFFF00' }).fillColor, '#FFFF00');
  assert.equal(circleStyle('air', { aqi_vn: 170 }).fillColor, '#FF0000');
});

test('parking headline and colour from free spaces', () => {
  assert.equal(headline('parking', { free: 33, capacity: 120, ratio: 0.725 }).vi, 'Còn 33 chỗ trống');
  assert.equal(parkingColor({ free: 33, ratio: 0.725 }), '#2E7D32');
  assert.equal(parkingColor({ free: 20, ratio: 0.85 }), '#EF6C00');
  assert.equal(parkingColor({ free: 0, ratio: 1 }), '#C62828');
  assert.equal(headline('air', { aqi_vn: 82, dominant: 'pm25' }).en, 'Moderate · PM2.5');
});
