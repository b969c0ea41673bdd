// Map setup shared by the resident map and the planner: Qala's style (or a
// configured basemap with Qala's layers on top), client-side restyling, the
// issue source's filters, and cluster count labels.

import * as maplibregl from '/web/vendor/maplibre-gl.mjs';

export { maplibregl };

const BASEMAP_KEY = 'qala.basemap';

/** Fallback status colours; the real ones are read from the server's style so both stay in step. */
const DEFAULT_STATUS_COLOURS = {
  open: '#d7301f',
  acknowledged: '#fc8d59',
  in_progress: '#e6a700',
  resolved: '#1a9850',
  closed: '#6b6b6b',
  rejected: '#3d3d3d',
  duplicate: '#a6a6a6',
};

/** What the layer toggles switch: each entry names the style layers it covers. */
export const LAYER_GROUPS = [
  { id: 'issues', layers: ['issue-clusters', 'issue-points'] },
  { id: 'districts', layers: ['districts-fill', 'districts-outline'] },
  { id: 'public_spaces', layers: ['public-spaces', 'public-space-points'] },
  { id: 'green_corridors', layers: ['green-corridors'] },
  { id: 'bike_routes', layers: ['bike-routes'] },
];

/**
 * The optional basemap style URL, for deployments with internet access:
 * `?basemap=URL` sets it (and remembers it), `?basemap=` clears it, else the
 * remembered one, else `<meta name="qala-basemap" content="URL">` set by the
 * deployment. Without one, Qala's own layers draw on a plain background.
 */
export function basemapUrl() {
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
  return document.querySelector('meta[name="qala-basemap"]')?.content.trim() || null;
}

async function fetchJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/**
 * Qala's style, laid over the basemap when one is configured: the basemap's
 * layers first (its glyphs and sprites come along), then Qala's without its
 * plain background. A basemap that fails to load is reported and skipped.
 */
async function loadStyle(basemap, onBasemapError) {
  const qala = await fetchJson('/style.json');
  if (!basemap) return qala;
  let base;
  try {
    base = await fetchJson(basemap);
  } catch (error) {
    onBasemapError?.(error);
    return qala;
  }
  const layers = qala.layers
    .filter((layer) => layer.type !== 'background')
    .map((layer) =>
      // The basemap already paints land: the districts become a light tint.
      layer.id === 'districts-fill' ? { ...layer, paint: { ...layer.paint, 'fill-opacity': 0.12 } } : layer,
    );
  return {
    ...base,
    sources: { ...base.sources, ...qala.sources },
    layers: [...base.layers, ...layers],
  };
}

/** Status → colour from the style's `issue-points` match expression. */
function statusColoursOf(style) {
  const paint = style.layers.find((l) => l.id === 'issue-points')?.paint?.['circle-color'];
  if (!Array.isArray(paint) || paint[0] !== 'match') return { ...DEFAULT_STATUS_COLOURS };
  const colours = {};
  for (let i = 2; i + 1 < paint.length; i += 2) colours[paint[i]] = paint[i + 1];
  return colours;
}

export let STATUS_COLOURS = { ...DEFAULT_STATUS_COLOURS };

/**
 * A cluster's colour: its most common status. Cluster features carry
 * `status_<status>` counts; a status beats every other or ties earlier in
 * the workflow order.
 */
function dominantStatusColour(colours) {
  const statuses = Object.keys(colours);
  const count = (s) => ['coalesce', ['get', `status_${s}`], 0];
  const expression = ['case'];
  for (const s of statuses) {
    expression.push(['all', ...statuses.filter((o) => o !== s).map((o) => ['>=', count(s), count(o)])], colours[s]);
  }
  expression.push(colours.open ?? '#d7301f');
  return expression;
}

function restyle(map) {
  if (map.getLayer('issue-clusters')) {
    map.setPaintProperty('issue-clusters', 'circle-color', dominantStatusColour(STATUS_COLOURS));
    map.setPaintProperty('issue-clusters', 'circle-opacity', 0.85);
    map.setPaintProperty('issue-clusters', 'circle-stroke-width', 2);
    // Big enough for the count label (an HTML marker) to sit inside.
    map.setPaintProperty('issue-clusters', 'circle-radius', [
      'interpolate', ['linear'], ['sqrt', ['get', 'point_count']], 1, 10, 10, 17, 40, 30,
    ]);
  }
}

/**
 * Creates the map and resolves once its style has loaded. The map is
 * exposed as `window.qalaMap` so the browser tests can query rendered features.
 */
export async function createMap(container, { onBasemapError } = {}) {
  const style = await loadStyle(basemapUrl(), onBasemapError);
  STATUS_COLOURS = statusColoursOf(style);
  const map = new maplibregl.Map({
    container,
    style,
    attributionControl: { compact: true },
    // Without glyphs the style has no text layers; nothing asks for fonts.
    maxZoom: 19,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
  });
  map.touchZoomRotate.disableRotation();
  map.keyboard.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  window.qalaMap = map;
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
  restyle(map);
  return map;
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

/**
 * Cluster counts as HTML labels: the style has no glyphs (nothing is fetched
 * from outside), so text layers are not possible. Labels follow the rendered
 * clusters each time the map settles.
 */
export function showClusterCounts(map, format = (n) => String(n)) {
  const labels = new Map();
  const update = () => {
    const visible = map.getLayer('issue-clusters') && map.getLayoutProperty('issue-clusters', 'visibility') !== 'none';
    const seen = new Set();
    if (visible) {
      for (const feature of map.queryRenderedFeatures({ layers: ['issue-clusters'] })) {
        const [lon, lat] = feature.geometry.coordinates;
        const count = feature.properties.point_count;
        // A cluster near a tile edge is drawn by both tiles' buffers; one label is enough.
        const key = `${lon.toFixed(5)},${lat.toFixed(5)},${count}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (!labels.has(key)) {
          const el = document.createElement('div');
          el.className = 'cluster-count';
          el.setAttribute('aria-hidden', 'true');
          el.textContent = format(count);
          labels.set(key, new maplibregl.Marker({ element: el }).setLngLat([lon, lat]).addTo(map));
        }
      }
    }
    for (const [key, marker] of labels) {
      if (!seen.has(key)) {
        marker.remove();
        labels.delete(key);
      }
    }
  };
  map.on('idle', update);
  map.on('qala:layers', update);
  return update;
}
