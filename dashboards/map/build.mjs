// Builds dist/: app.js + app.css (Leaflet bundled, its images as files), index.html,
// districts.geojson, favicon.svg and favicon.ico. No CDN at run time. Usage: npm ci && npm run build
// A production build has no source map (it would publish the sources); CT_MAP_SOURCEMAP=1 makes
// one for development (the collector still refuses to serve *.map: tests/e2e/test_map.py).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await build({
  entryPoints: { app: path.join(here, 'src/app.js') },
  bundle: true,
  minify: true,
  sourcemap: process.env.CT_MAP_SOURCEMAP === '1',
  format: 'iife',
  target: ['es2020', 'safari14'],
  outdir: dist,
  loader: { '.png': 'file', '.svg': 'file', '.geojson': 'file' },
  assetNames: 'assets/[name]-[hash]',
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(path.join(here, 'src/index.html'), path.join(dist, 'index.html'));
copyFileSync(path.join(here, 'src/favicon.svg'), path.join(dist, 'favicon.svg'));
writeFileSync(path.join(dist, 'favicon.ico'), favicon());

/** A 16x16 32-bit ICO (the same disc as favicon.svg), for clients that ask /favicon.ico. */
function favicon() {
  const n = 16;
  const px = Buffer.alloc(n * n * 4);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const d = Math.hypot(x + 0.5 - n / 2, y + 0.5 - n / 2);
      const [b, g, r, a] = d < 3.5 ? [0, 228, 0, 255] : d < 4.5 ? [255, 255, 255, 255] : d < 7.5 ? [92, 61, 11, 255] : [0, 0, 0, 0];
      px.set([b, g, r, a], ((n - 1 - y) * n + x) * 4); // bottom-up rows
    }
  }
  const mask = Buffer.alloc(n * 4); // AND mask, 32-bit rows, all 0 (alpha decides)
  const bih = Buffer.alloc(40);
  bih.writeUInt32LE(40, 0); bih.writeInt32LE(n, 4); bih.writeInt32LE(2 * n, 8);
  bih.writeUInt16LE(1, 12); bih.writeUInt16LE(32, 14); bih.writeUInt32LE(px.length + mask.length, 20);
  const img = Buffer.concat([bih, px, mask]);
  const head = Buffer.alloc(22);
  head.writeUInt16LE(0, 0); head.writeUInt16LE(1, 2); head.writeUInt16LE(1, 4);
  head.writeUInt8(n, 6); head.writeUInt8(n, 7); head.writeUInt16LE(1, 10); head.writeUInt16LE(32, 12);
  head.writeUInt32LE(img.length, 14); head.writeUInt32LE(22, 18);
  return Buffer.concat([head, img]);
}
console.log(`built ${path.relative(process.cwd(), dist) || dist}`);
