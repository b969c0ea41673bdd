// Map setup shared by the resident map and the planner: Qala's style (with
// the server's own basemap under it when `qala serve --basemap` is set, or an
// online basemap style laid under Qala's layers), the status colours read
// back from it, the issue source's filters, and the cluster count bubbles.
// How every layer is drawn, clusters included, is the server's style
// (/style.json?lang=…); the client does not repaint it (over an online
// basemap it only lightens the districts' fill).

import * as maplibregl from '/web/vendor/maplibre-gl.mjs';
import { lang, onLang, t } from './i18n.js';
import { onLive } from './live.js';

export { maplibregl };

const BASEMAP_KEY = 'qala.basemap';

/** What the layer toggles switch: each entry names the style layers it covers. */
export const LAYER_GROUPS = [
  { id: 'issues', layers: ['issue-clusters', 'issue-points'] },
  { id: 'districts', layers: ['districts-fill', 'districts-outline', 'district-labels'] },
  { id: 'public_spaces', layers: ['public-spaces', 'public-space-points'] },
  { id: 'green_corridors', layers: ['green-corridors'] },
  { id: 'bike_routes', layers: ['bike-routes'] },
];

/**
 * The optional online basemap style URL, for deployments with internet
 * access: `?basemap=URL` sets it (and remembers it), `?basemap=` clears it,
 * else the remembered one, else `<meta name="qala-basemap" content="URL">` in
 * the page, else the server's `--basemap-style` (named in the style's
 * metadata, `serverDefault`). Without one, the server's style is drawn as
 * it is: over its own basemap archive if it serves one, else over Qala's
 * light base (district names, parks, corridors).
 */
export function basemapUrl(serverDefault = null) {
  const params = new URLSearchParams(location.search);
  try {
    if (params.has('basemap')) {
      const value = params.get('basemap').trim();
      if (value) localStorage.setItem(BASEMAP_KEY, value);
      else localStorage.removeItem(BASEMAP_KEY);
      return value || null;
    }
    const stored = localStorage.getItem(BASEMAP_KEY);
    if (stored) return stored;
  } catch {
    if (params.get('basemap')) return params.get('basemap').trim();
  }
  return document.querySelector('meta[name="qala-basemap"]')?.content.trim() || serverDefault || null;
}

/** The style's URL with the labels in the interface language. */
function styleUrl() {
  return `/style.json?lang=${encodeURIComponent(lang())}`;
}

/** The online basemap style the server was told of (`--basemap-style`), if any. */
function serverBasemapStyle(style) {
  const url = style.metadata?.['qala:basemap-style'];
  return typeof url === 'string' && url ? url : null;
}

async function fetchJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/**
 * Qala's style, laid over an online basemap when one is configured: the
 * basemap's layers first (its glyphs and sprites come along), then Qala's
 * without its base (background, the server's own basemap layers, and the
 * district labels, whose font the online glyphs may lack). A basemap that
 * fails to load is reported and skipped.
 */
async function loadStyle(onBasemapError) {
  const qala = await fetchJson(styleUrl());
  const basemap = basemapUrl(serverBasemapStyle(qala));
  if (!basemap) return qala;
  let base;
  try {
    base = await fetchJson(basemap);
  } catch (error) {
    onBasemapError?.(error);
    return qala;
  }
  const { basemap: _own, ...qalaSources } = qala.sources;
  const layers = qala.layers
    .filter((layer) => layer.type !== 'background' && !layer.metadata?.['qala:basemap'] && layer.id !== 'district-labels')
    .map((layer) =>
      // The basemap already paints land: the districts become a light tint.
      layer.id === 'districts-fill' ? { ...layer, paint: { ...layer.paint, 'fill-opacity': 0.12 } } : layer,
    );
  return {
    ...base,
    sources: { ...base.sources, ...qalaSources },
    layers: [...base.layers, ...layers],
  };
}

/**
 * Status → colour, read from the style's `issue-points` match expression:
 * the server's style is the one place status colours are defined.
 */
function statusColoursOf(style) {
  const paint = style.layers.find((l) => l.id === 'issue-points')?.paint?.['circle-color'];
  const colours = {};
  if (!Array.isArray(paint) || paint[0] !== 'match') return colours;
  for (let i = 2; i + 1 < paint.length; i += 2) colours[paint[i]] = paint[i + 1];
  return colours;
}

/** Status → colour of the loaded style (empty until `createMap` or `loadStatusColours` has loaded it). */
export let STATUS_COLOURS = {};

/** Reads the status colours without a map, for a page that lists issues before it draws one. */
export async function loadStatusColours() {
  STATUS_COLOURS = statusColoursOf(await fetchJson(styleUrl()));
}

/**
 * Creates the map and resolves once its style has loaded. The map is
 * exposed as `window.qalaMap` so the browser tests can query rendered features.
 */
export async function createMap(container, { onBasemapError } = {}) {
  const style = await loadStyle(onBasemapError);
  STATUS_COLOURS = statusColoursOf(style);
  const map = new maplibregl.Map({
    container,
    style,
    attributionControl: { compact: true },
    // Glyphs come from this server (/fonts/…), rendered from vendored fonts.
    maxZoom: 19,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    locale: controlLabels(),
  });
  map.touchZoomRotate.disableRotation();
  map.keyboard.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  window.qalaMap = map;
  onLang(() => {
    relabelControls(map);
    relabelMap(map);
  });
  await new Promise((resolve, reject) => {
    // Only errors before the style loads are fatal; afterwards the listener
    // goes, so MapLibre's default handler logs later (tile) errors as usual.
    const onError = (event) => {
      map.off('load', onLoad);
      reject(event.error ?? new Error('map error'));
    };
    const onLoad = () => {
      map.off('error', onError);
      resolve();
    };
    map.once('load', onLoad);
    map.once('error', onError);
  });
  return map;
}

/** MapLibre's own control labels in the interface language. */
function controlLabels() {
  return {
    'NavigationControl.ZoomIn': t('maplibre.zoom_in'),
    'NavigationControl.ZoomOut': t('maplibre.zoom_out'),
    'Map.Title': t('maplibre.map'),
    'AttributionControl.ToggleAttribution': t('maplibre.attribution'),
    'Popup.Close': t('panel.close'),
  };
}

/** MapLibre reads its labels once; a language switch sets them on the controls already drawn. */
function relabelControls(map) {
  const labels = controlLabels();
  const set = (selector, label) => {
    for (const el of map.getContainer().querySelectorAll(selector)) {
      el.setAttribute('aria-label', label);
      el.title = label;
    }
  };
  set('.maplibregl-ctrl-zoom-in', labels['NavigationControl.ZoomIn']);
  set('.maplibregl-ctrl-zoom-out', labels['NavigationControl.ZoomOut']);
  set('.maplibregl-ctrl-attrib-button', labels['AttributionControl.ToggleAttribution']);
  map.getCanvas().setAttribute('aria-label', labels['Map.Title']);
}

/**
 * A language switch: the text of every label layer (district names, the
 * basemap's streets and places) from the style in the new language.
 */
async function relabelMap(map) {
  let style;
  try {
    style = await fetchJson(styleUrl());
  } catch {
    return; // The labels stay in the previous language.
  }
  for (const layer of style.layers) {
    const text = layer.layout?.['text-field'];
    if (layer.type === 'symbol' && text !== undefined && map.getLayer(layer.id)) {
      map.setLayoutProperty(layer.id, 'text-field', text);
    }
  }
}

/** Frames the city: the districts' extent from the layers summary. */
export async function fitCity(map, padding = 20) {
  try {
    const { layers } = await fetchJson('/api/v1/layers');
    const districts = layers.find((l) => l.name === 'districts');
    const bbox = districts?.bbox;
    if (Array.isArray(bbox) && bbox.length === 4) {
      map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding, animate: false });
    }
  } catch {
    // The style's own centre and zoom are a fair view of the city too.
  }
}

export function setLayerGroupVisible(map, groupId, visible) {
  const group = LAYER_GROUPS.find((g) => g.id === groupId);
  for (const id of group?.layers ?? []) {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
  }
  map.fire('qala:layers');
}

function issuesBaseUrl(map) {
  const source = map.getStyle().sources['qala-issues'];
  return new URL(source.url, location.href);
}

let tileVersion = 0;

/**
 * Points the issues source at the TileJSON for these filters. The server
 * passes the query on to the tile URLs it lists; `v` changes after a write
 * so the browser does not serve tiles from its own cache.
 */
export function setIssueFilters(map, query) {
  const url = issuesBaseUrl(map);
  url.search = query.toString();
  if (tileVersion) url.searchParams.set('v', String(tileVersion));
  const source = map.getSource('qala-issues');
  if (source.url !== url.href) source.setUrl(url.href);
}

/** Reloads the issue tiles after a write (the server already invalidated its cache). */
export function refreshIssues(map) {
  tileVersion = Date.now();
  const url = issuesBaseUrl(map);
  const current = new URL(map.getSource('qala-issues').url, location.href);
  current.searchParams.set('v', String(tileVersion));
  url.search = current.search;
  map.getSource('qala-issues').setUrl(url.href);
}

/** Changes often come in bursts (a staff member working through a queue): one reload for each burst. */
const LIVE_DEBOUNCE_MS = 200;

/**
 * Keeps the issue tiles current: every change the server announces on its
 * live stream (and every resync) reloads them, at most once per
 * LIVE_DEBOUNCE_MS, so status colours follow without a reload of the page.
 * The server announces a change after dropping the tiles it touched; the
 * new `v` gets past the browser's HTTP cache (tiles may be kept 60 s).
 * Returns the debounced reload, for other callers that know of a change.
 */
export function followLive(map) {
  let timer = null;
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(() => refreshIssues(map), LIVE_DEBOUNCE_MS);
  };
  onLive((message) => {
    if (message.type === 'issue' || message.type === 'resync') reload();
  });
  return reload;
}

/** Statuses of a problem not yet dealt with. */
export const UNRESOLVED = ['open', 'acknowledged', 'in_progress'];

/** Screen distance (px) within which nearby clusters are summed into one bubble. */
const BUBBLE_RADIUS_PX = 60;

/**
 * Counts at low zoom as HTML bubbles. Two reasons: they stay legible over
 * any basemap (an online style's glyphs need not hold Qala's font); and the
 * tiles cluster on a grid of 256 of a tile's 4096 units (32 px of a 512 px
 * tile), so a city view holds many clusters close together whose numbers
 * would crowd each other. So the drawn clusters and single issues in view are
 * summed on screen into bubbles about 60 px apart, each coloured by its most
 * common status; the style's small cluster dots beneath still show where
 * the issues are. A bubble opens up on click.
 *
 * `weighOpen` (the resident map): at city zoom most issues are long
 * resolved, so a bubble counts and is coloured by the issues still open
 * (open, acknowledged, in progress) and is sized by them; a group with
 * none open is a small pale bubble with a tick. The planner counts all
 * issues its filters select.
 */
export function showClusterBubbles(map, format = (n) => String(n), { weighOpen = false } = {}) {
  let markers = [];
  const update = () => {
    for (const marker of markers) marker.remove();
    markers = [];
    const layers = ['issue-clusters', 'issue-points'].filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
    if (!layers.includes('issue-clusters')) return;
    const items = map.queryRenderedFeatures({ layers }).map((feature) => {
      const p = feature.properties;
      const counts = {};
      if (p.point_count) {
        for (const [key, value] of Object.entries(p)) if (key.startsWith('status_')) counts[key.slice(7)] = Number(value);
      } else {
        counts[p.status] = 1;
      }
      const lngLat = feature.geometry.coordinates;
      return { lngLat, point: map.project(lngLat), count: Number(p.point_count ?? 1), counts };
    });
    // Nothing is clustered from zoom 14: single issues speak for themselves.
    if (!items.some((item) => item.count > 1)) return;
    items.sort((a, b) => b.count - a.count);
    const groups = [];
    for (const item of items) {
      const group = groups.find((g) => Math.hypot(g.seed.x - item.point.x, g.seed.y - item.point.y) < BUBBLE_RADIUS_PX);
      if (group) {
        group.count += item.count;
        group.lon += item.lngLat[0] * item.count;
        group.lat += item.lngLat[1] * item.count;
        for (const [s, n] of Object.entries(item.counts)) group.counts[s] = (group.counts[s] ?? 0) + n;
      } else {
        groups.push({ seed: item.point, count: item.count, lon: item.lngLat[0] * item.count, lat: item.lngLat[1] * item.count, counts: { ...item.counts } });
      }
    }
    for (const group of groups) {
      if (group.count < 2) continue;
      const open = UNRESOLVED.reduce((sum, s) => sum + (group.counts[s] ?? 0), 0);
      const weighed = weighOpen ? Object.entries(group.counts).filter(([s]) => UNRESOLVED.includes(s)) : Object.entries(group.counts);
      const status = weighed.sort((a, b) => b[1] - a[1])[0]?.[0];
      const shown = weighOpen ? open : group.count;
      const done = weighOpen && open === 0;
      const size = done ? 20 : Math.round(Math.min(54, 22 + 3.2 * Math.sqrt(shown)));
      const el = document.createElement('div');
      el.className = done ? 'cluster-bubble cluster-done' : 'cluster-bubble';
      // Pointer users click it to zoom in; keyboard users zoom with + and -, so it is no tab stop.
      el.setAttribute('aria-hidden', 'true');
      el.style.setProperty('--size', `${size}px`);
      el.style.setProperty('--colour', STATUS_COLOURS[status] ?? '#d7301f');
      el.textContent = done ? '✓' : format(shown);
      el.dataset.count = String(group.count);
      el.dataset.open = String(open);
      const center = [group.lon / group.count, group.lat / group.count];
      el.addEventListener('click', (event) => {
        event.stopPropagation();
        map.easeTo({ center, zoom: Math.min(map.getZoom() + 2, 14.5) });
      });
      markers.push(new maplibregl.Marker({ element: el }).setLngLat(center).addTo(map));
    }
  };
  map.on('idle', update);
  map.on('qala:layers', update);
  return update;
}
