// Builds dist/: app.js + app.css (Leaflet bundled, its images as files), index.html,
// districts.geojson. No CDN at run time. Usage: npm ci && npm run build
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
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
  sourcemap: true,
  format: 'iife',
  target: ['es2020', 'safari14'],
  outdir: dist,
  loader: { '.png': 'file', '.svg': 'file', '.geojson': 'file' },
  assetNames: 'assets/[name]-[hash]',
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(path.join(here, 'src/index.html'), path.join(dist, 'index.html'));
console.log(`built ${path.relative(process.cwd(), dist) || dist}`);
