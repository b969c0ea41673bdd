// Copies MapLibre GL JS's built files from node_modules into web/vendor/, so
// the pages load it from the Qala server itself: nothing comes from a CDN at
// run time, and the map works on a city intranet. The copies are committed;
// run `npm run vendor` after changing the maplibre-gl version.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(web, 'node_modules', 'maplibre-gl', 'dist');
const out = join(web, 'vendor');
mkdirSync(out, { recursive: true });

// The main module finds its worker next to itself (new URL('./maplibre-gl-worker.mjs',
// import.meta.url)), so both keep their names and live side by side.
for (const name of ['maplibre-gl.mjs', 'maplibre-gl-worker.mjs']) {
  // Source maps are not shipped (7 MB); drop the reference so devtools asks for nothing.
  const code = readFileSync(join(dist, name), 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  writeFileSync(join(out, name), code);
}
copyFileSync(join(dist, 'maplibre-gl.css'), join(out, 'maplibre-gl.css'));
copyFileSync(join(dist, '..', 'LICENSE.txt'), join(out, 'maplibre-gl.LICENSE.txt'));
const { version } = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8'));
writeFileSync(join(out, 'VERSION'), `maplibre-gl ${version}\n`);
console.log(`vendored maplibre-gl ${version} into ${out}`);
