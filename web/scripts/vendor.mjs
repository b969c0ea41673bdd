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

// The basemap's layers for a vector archive in the Protomaps schema, from
// @protomaps/basemaps: one JSON array per interface language, which the
// server puts under Qala's layers in /style.json (server/src/basemap/style.rs).
// Two changes, so nothing is fetched from elsewhere and nothing is missing:
// - text-font names the two fonts the server renders its glyphs from
//   (vendor/fonts/, DejaVu Sans: Latin, Cyrillic and Kazakh letters);
// - there is no sprite, so layers drawn only with icons (one-way arrows, road
//   shields, points of interest) are left out and the town dots go
//   (their labels stay).
const basemaps = await import('@protomaps/basemaps');
const FONTS = {
  'Noto Sans Regular': 'DejaVu Sans Book',
  'Noto Sans Italic': 'DejaVu Sans Book',
  'Noto Sans Medium': 'DejaVu Sans Bold',
};
const renameFonts = (value) => {
  if (typeof value === 'string') return FONTS[value] ?? (/^Noto Sans/.test(value) ? 'DejaVu Sans Book' : value);
  if (Array.isArray(value)) return value.map(renameFonts);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renameFonts(v)]));
  return value;
};
const ICON_ONLY = new Set(['roads_oneway', 'roads_shields', 'pois']);
mkdirSync(join(out, 'basemap'), { recursive: true });
// Kazakh is not among the package's languages: the server uses the Russian
// layers for it (Cyrillic, and Almaty's own names come first where no
// Russian name is tagged).
for (const lang of ['en', 'ru']) {
  const layers = basemaps
    .layers('basemap', basemaps.namedFlavor('light'), { lang })
    .filter((layer) => !ICON_ONLY.has(layer.id))
    .map((layer) => {
      if (!layer.layout?.['icon-image']) return renameFonts(layer);
      const { 'icon-image': _, 'icon-size': __, 'icon-padding': ___, ...layout } = layer.layout;
      return renameFonts({ ...layer, layout });
    });
  const text = JSON.stringify(layers);
  if (/icon-image|Noto Sans/.test(text)) throw new Error(`protomaps layers (${lang}) still name an icon or a Noto font`);
  writeFileSync(join(out, 'basemap', `protomaps-light.${lang}.json`), `${text}\n`);
}
const protomapsVersion = JSON.parse(readFileSync(join(web, 'node_modules', '@protomaps', 'basemaps', 'package.json'), 'utf8')).version;

// The fonts the server renders glyph PBFs from (server/src/basemap/glyphs.rs).
const ttf = join(web, 'node_modules', 'dejavu-fonts-ttf');
mkdirSync(join(out, 'fonts'), { recursive: true });
for (const name of ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf']) copyFileSync(join(ttf, 'ttf', name), join(out, 'fonts', name));
copyFileSync(join(ttf, 'LICENSE'), join(out, 'fonts', 'LICENSE.dejavu.txt'));
const dejavuVersion = JSON.parse(readFileSync(join(ttf, 'package.json'), 'utf8')).version;
writeFileSync(
  join(out, 'VERSION'),
  `maplibre-gl ${version}\n@protomaps/basemaps ${protomapsVersion}\ndejavu-fonts-ttf ${dejavuVersion}\n`,
);
console.log(`vendored @protomaps/basemaps ${protomapsVersion} layers and dejavu-fonts-ttf ${dejavuVersion} into ${out}`);
