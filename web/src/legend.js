// The resident map's legend: what each colour means and a toggle per layer.
// Swatches read their colours from the map's style, so they cannot drift.

import { h } from './dom.js';
import { onLang, statusName, t } from './i18n.js';
import { LAYER_GROUPS, STATUS_COLOURS, setLayerGroupVisible } from './map.js';

function paint(map, layer, property, fallback) {
  const value = map.getLayer(layer) ? map.getPaintProperty(layer, property) : null;
  return typeof value === 'string' ? value : fallback;
}

/** A small picture of how each layer is drawn. */
function swatch(map, groupId) {
  switch (groupId) {
    case 'issues':
      return h('span', { class: 'swatch swatch-point', style: { '--colour': STATUS_COLOURS.open } });
    case 'districts':
      return h('span', {
        class: 'swatch swatch-area',
        style: { '--colour': paint(map, 'districts-fill', 'fill-color', '#dfe6ee'), '--edge': paint(map, 'districts-outline', 'line-color', '#5a6b7d') },
      });
    case 'public_spaces':
      return h('span', {
        class: 'swatch swatch-area',
        style: { '--colour': paint(map, 'public-spaces', 'fill-color', '#9ccf8a'), '--edge': paint(map, 'public-spaces', 'fill-outline-color', '#5e9e4c') },
      });
    case 'green_corridors':
      return h('span', { class: 'swatch swatch-band', style: { '--colour': paint(map, 'green-corridors', 'line-color', '#3c9a5f') } });
    case 'bike_routes':
      return h('span', { class: 'swatch swatch-dashed', style: { '--colour': paint(map, 'bike-routes', 'line-color', '#2b6cb0') } });
    default:
      return h('span', { class: 'swatch' });
  }
}

export function mountLegend(details, map) {
  const visible = Object.fromEntries(LAYER_GROUPS.map((g) => [g.id, true]));
  const body = details.querySelector('.legend-body');

  const render = () => {
    body.replaceChildren(
      h(
        'fieldset',
        { class: 'layer-toggles' },
        h('legend', {}, t('legend.layers')),
        LAYER_GROUPS.filter((g) => g.layers.some((id) => map.getLayer(id))).map((group) =>
          h(
            'label',
            { class: 'toggle' },
            h('input', {
              type: 'checkbox',
              name: 'layer',
              value: group.id,
              checked: visible[group.id],
              onchange: (event) => {
                visible[group.id] = event.target.checked;
                setLayerGroupVisible(map, group.id, event.target.checked);
              },
            }),
            swatch(map, group.id),
            h('span', {}, t(`layer.${group.id}`)),
          ),
        ),
      ),
      h('h2', {}, t('legend.statuses')),
      h(
        'ul',
        { class: 'status-legend' },
        Object.entries(STATUS_COLOURS).map(([status, colour]) =>
          h('li', {}, h('span', { class: 'swatch swatch-point', style: { '--colour': colour } }), statusName(status)),
        ),
      ),
      h('p', { class: 'hint' }, h('span', { class: 'swatch swatch-cluster', 'aria-hidden': 'true' }, '12'), ' ', t('legend.clusters')),
    );
  };
  render();
  onLang(render);
}
