// "Find a street or place" on the resident map: a combobox (ARIA 1.2
// pattern: a text input that owns a listbox of suggestions) asking
// `GET /api/v1/search` with the map's centre as `near` and the interface
// language, and flying the map to the chosen place (its box fitted, or a
// point flown to). Works with the keyboard alone: arrows move through the
// results, Enter chooses (the first one when none is marked), Escape
// closes. Also `reverseLookup`, the API call behind "near …, <district>".

import { announce, h } from './dom.js';
import { lang, onLang, t } from './i18n.js';

/** Typing pauses this long before a search is sent. */
const DEBOUNCE_MS = 250;
/** Suggestions shown at most. */
const LIMIT = 8;
/** What a result's layer is called in the list. */
const KIND = {
  districts: 'search_kind.districts',
  public_spaces: 'search_kind.public_spaces',
  green_corridors: 'search_kind.green_corridors',
  bike_routes: 'search_kind.bike_routes',
  places: 'search_kind.places',
};

async function getJson(url, signal) {
  const response = await fetch(url, { headers: { accept: 'application/json' }, signal });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
  return body;
}

/** Places named like `q`, best first, nearest to `near` ([lon, lat]) among equals. */
export function searchPlaces(q, { near, limit = LIMIT, signal } = {}) {
  const query = new URLSearchParams({ q, lang: lang(), limit: String(limit) });
  if (near) query.set('near', `${near[0].toFixed(5)},${near[1].toFixed(5)}`);
  return getJson(`/api/v1/search?${query}`, signal);
}

/** The district and the nearest named place at a point, named in the interface language. */
export function reverseLookup(lon, lat, { signal } = {}) {
  const query = new URLSearchParams({ lon: lon.toFixed(6), lat: lat.toFixed(6), lang: lang() });
  return getJson(`/api/v1/reverse?${query}`, signal);
}

/** Moves the map to a search result: fits its box, or flies to its point. */
export function flyToPlace(map, feature) {
  const [west, south, east, north] = feature.bbox ?? [];
  const reduced = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  const tiny = !feature.bbox || (east - west < 0.0005 && north - south < 0.0005);
  if (tiny) {
    map.flyTo({ center: feature.geometry.coordinates, zoom: Math.max(map.getZoom(), 16), animate: !reduced });
  } else {
    map.fitBounds([[west, south], [east, north]], { padding: 40, maxZoom: 17, animate: !reduced });
  }
}

/** Wires the search form in `form` (see index.html) to `map`. */
export function mountSearch(form, map) {
  const input = form.querySelector('input');
  const list = form.querySelector('[role="listbox"]');
  let results = [];
  let active = -1;
  let timer = null;
  let inflight = null;
  /** The query the list shows results of. */
  let shown = '';

  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };

  const mark = (index) => {
    active = index;
    for (const [i, option] of [...list.children].entries()) option.setAttribute('aria-selected', String(i === index));
    if (index >= 0) {
      input.setAttribute('aria-activedescendant', list.children[index].id);
      list.children[index].scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  };

  const choose = (index) => {
    const feature = results[index];
    if (!feature) return;
    input.value = feature.properties.name;
    close();
    flyToPlace(map, feature);
    announce(t('search.moved', { name: feature.properties.name }));
  };

  const show = (q) => {
    shown = q;
    list.replaceChildren(
      ...results.map((feature, i) =>
        h(
          'li',
          {
            id: `place-option-${i}`,
            role: 'option',
            'aria-selected': 'false',
            dataset: { layer: feature.properties.layer, id: String(feature.id) },
            // mousedown, not click: the input keeps focus and does not blur first.
            onmousedown: (event) => {
              event.preventDefault();
              choose(i);
            },
          },
          h('span', { class: 'place-name' }, feature.properties.name),
          h('span', { class: 'place-kind' }, t(KIND[feature.properties.layer] ?? 'search.results')),
        ),
      ),
    );
    if (!results.length) {
      list.append(h('li', { class: 'place-none', role: 'option', 'aria-disabled': 'true', 'aria-selected': 'false' }, t('search.none', { q })));
    }
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    mark(-1);
    announce(results.length ? t('search.count', { n: results.length }) : t('search.none', { q }));
  };

  const run = async () => {
    const q = input.value.trim();
    inflight?.abort();
    if (!q) {
      close();
      return;
    }
    const controller = new AbortController();
    inflight = controller;
    const centre = map.getCenter();
    try {
      const body = await searchPlaces(q.slice(0, 100), { near: [centre.lng, centre.lat], signal: controller.signal });
      if (controller.signal.aborted) return;
      results = body.features;
      show(q);
    } catch (error) {
      if (error.name === 'AbortError') return;
      results = [];
      list.replaceChildren(h('li', { class: 'place-none', role: 'option', 'aria-disabled': 'true', 'aria-selected': 'false' }, t('search.failed', { message: error.message })));
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    }
    return results;
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (list.hidden || !results.length) return;
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      mark((active + step + results.length) % results.length);
    } else if (event.key === 'Escape') {
      if (!list.hidden) {
        event.preventDefault();
        close();
      }
    }
  });
  // Enter: the marked result, else the first; searching first if the typing has not been sent yet.
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearTimeout(timer);
    if (active >= 0) {
      choose(active);
      return;
    }
    if (list.hidden || !results.length || shown !== input.value.trim()) await run();
    choose(0);
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
  // A new language: the names change, so ask again if the list is open.
  onLang(() => {
    if (!list.hidden && input.value.trim()) run();
  });
}
