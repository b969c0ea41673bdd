// Districts coloured by their issue count under the planner's filters. The
// data comes from /api/v1/districts (a GeoJSON source, not tiles), because
// its counts follow the filters exactly and there are only a few districts.

import { h } from './dom.js';
import { formatNumber } from './format.js';

export const SOURCE = 'district-counts';
/** Five sequential classes, light to dark (ColorBrewer YlOrRd). */
const PALETTE = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'];

/** The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ) not below `raw`, so legend ranges read well. */
function niceStep(raw) {
  if (raw <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const factor = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((f) => f * power >= raw);
  return Math.ceil(factor * power);
}

/**
 * Class lower bounds: equal intervals of a round step, the top class
 * starting at or below the largest count so that every class can be used.
 */
export function classBreaks(counts) {
  const max = Math.max(0, ...counts);
  const step = niceStep(max / PALETTE.length);
  return PALETTE.map((_, i) => i * step);
}

export function fillExpression(breaks) {
  const expression = ['step', ['coalesce', ['get', 'issue_count'], 0], PALETTE[0]];
  for (let i = 1; i < breaks.length; i++) expression.push(breaks[i], PALETTE[i]);
  return expression;
}

/** Adds the choropleth under the reference layers, hiding the plain district fill it replaces. */
export function addChoropleth(map) {
  map.addSource(SOURCE, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  const before = map.getLayer('public-spaces') ? 'public-spaces' : undefined;
  map.addLayer({ id: 'choropleth', type: 'fill', source: SOURCE, paint: { 'fill-color': PALETTE[0], 'fill-opacity': 0.75 } }, before);
  map.addLayer({ id: 'choropleth-outline', type: 'line', source: SOURCE, paint: { 'line-color': '#4a5563', 'line-width': 1.2 } });
  map.addLayer({
    id: 'choropleth-selected',
    type: 'line',
    source: SOURCE,
    filter: ['==', ['id'], -1],
    paint: { 'line-color': '#111827', 'line-width': 4 },
  });
  for (const id of ['districts-fill', 'districts-outline']) {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', 'none');
  }
}

/** New counts: the source's data, the class breaks and the fill follow. */
export function updateChoropleth(map, collection) {
  const breaks = classBreaks(collection.features.map((f) => f.properties.issue_count ?? 0));
  map.getSource(SOURCE).setData(collection);
  map.setPaintProperty('choropleth', 'fill-color', fillExpression(breaks));
  return breaks;
}

export function selectDistrict(map, id) {
  map.setFilter('choropleth-selected', ['==', ['id'], id ?? -1]);
}

export function renderLegend(list, breaks) {
  list.replaceChildren(
    ...breaks.map((low, i) => {
      const high = breaks[i + 1];
      const label = high === undefined ? `${formatNumber(low)}+` : `${formatNumber(low)}–${formatNumber(high - 1)}`;
      return h('li', {}, h('span', { class: 'swatch', style: { '--colour': PALETTE[i] } }), label);
    }),
  );
}
