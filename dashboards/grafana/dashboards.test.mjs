// Static checks of the Grafana dashboards. Run: node --test dashboards/grafana/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((f) => f.endsWith('.json'));
const provisioned = readFileSync(path.join(here, 'provisioning/datasources/citytel.yaml'), 'utf8');
const MEASUREMENTS = ['air', 'air_aqi', 'water', 'rain', 'flood', 'parking', 'parking_lot', 'rejected', '$kind',
  'station', 'alert', 'water_wqi', 'flood_level', 'rain_1h', 'rain_24h'];

const panels = (d) => d.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');

test('two dashboards with unique uids', () => {
  assert.deepEqual(files.sort(), ['citytel-environment.json', 'citytel-parking.json']);
  const uids = files.map((f) => JSON.parse(readFileSync(path.join(here, f), 'utf8')).uid);
  assert.equal(new Set(uids).size, uids.length);
});

for (const f of files) {
  test(`${f}: panels use provisioned datasources and known measurements`, () => {
    const d = JSON.parse(readFileSync(path.join(here, f), 'utf8'));
    const ids = new Set();
    for (const p of panels(d)) {
      assert.ok(!ids.has(p.id), `${p.title}: duplicate id`);
      ids.add(p.id);
      assert.ok(provisioned.includes(`uid: ${p.datasource.uid}`), `${p.title}: datasource ${p.datasource.uid} not provisioned`);
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0, `${p.title}: grid`);
      assert.ok(p.targets.length > 0, `${p.title}: no query`);
      for (const t of p.targets) {
        if (p.datasource.type !== 'influxdb') continue;
        const m = /FROM "([^"]+)"/.exec(t.query);
        assert.ok(m && MEASUREMENTS.includes(m[1]), `${p.title}: unknown measurement in ${t.query}`);
        assert.ok(/\$timeFilter|time > now\(\) - \d+[hd]/.test(t.query), `${p.title}: query without a time bound`);
      }
    }
    for (const v of d.templating.list) {
      if (v.type === 'query') assert.match(v.query, /^SHOW TAG VALUES FROM "[^"]+" WITH KEY = "[a-z_]+"( WHERE "[a-z]+" = '\$[a-z]+')?$/);
    }
  });
}
