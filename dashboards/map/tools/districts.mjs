// Regenerates src/districts.geojson from the shared district table (pre-2025 districts of Hanoi,
// reference points). Usage: node tools/districts.mjs [path/to/hanoi_districts_pre2025.csv]
// The output is committed, so the build needs neither this script nor the CSV.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const csvPath = process.argv[2] ?? path.join(here, '../../../../shared/data/hanoi_districts_pre2025.csv');
const outPath = path.join(here, '../src/districts.geojson');

/** Splits one CSV line, honouring double quotes ("" inside quotes is a quote). */
export function splitCsvLine(line) {
  const out = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

const lines = readFileSync(csvPath, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
const head = splitCsvLine(lines[0]);
const col = (name) => {
  const i = head.indexOf(name);
  if (i < 0) throw new Error(`${csvPath}: no column ${name}`);
  return i;
};
const [iType, iName, iTypeEn, iLat, iLon] =
  ['type_vi', 'name_vi', 'type_en', 'ref_point_lat', 'ref_point_lon'].map(col);
const features = lines.slice(1).map((line, n) => {
  const f = splitCsvLine(line);
  const lat = Number(f[iLat]);
  const lon = Number(f[iLon]);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) {
    throw new Error(`${csvPath}:${n + 2}: bad reference point`);
  }
  return {
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [lon, lat] },
    properties: { name: f[iName], type_vi: f[iType], type_en: f[iTypeEn] },
  };
});
writeFileSync(outPath, JSON.stringify({ type: 'FeatureCollection', features }, null, 1) + '\n');
console.log(`wrote ${features.length} districts to ${outPath}`);
