// The resident map (`/`): issues on the city map, a legend with layer
// toggles, "Report a problem", and an issue panel.

import * as api from './api.js';
import { announce } from './dom.js';
import { formatNumber } from './format.js';
import { applyTranslations, mountLanguageSwitcher, onLang, t } from './i18n.js';
import { rememberToken } from './follow-up.js';
import { IssueList } from './issue-list.js';
import { IssuePanel } from './issue-panel.js';
import { mountLegend } from './legend.js';
import { createMap, fitCity, followLive, refreshIssues, showClusterBubbles } from './map.js';
import { Panel } from './panel.js';
import { Reporter } from './report.js';
import { mountSearch } from './search.js';

function showNotice(message) {
  const notice = document.getElementById('notice');
  notice.textContent = message;
  notice.hidden = false;
}

function issueIdFromHash() {
  const match = /^#issue=(\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : null;
}

async function main() {
  applyTranslations();
  mountLanguageSwitcher(document.getElementById('lang'));
  const panel = new Panel(document.getElementById('panel'));
  panel.relabel();
  onLang(() => panel.relabel());

  const legend = document.getElementById('legend');
  // Open on a desk, folded on a phone where it would cover the map.
  legend.open = window.matchMedia('(min-width: 48rem)').matches;

  let map;
  let categories;
  try {
    [map, categories] = await Promise.all([
      createMap('map', { onBasemapError: () => showNotice(t('basemap.failed')) }),
      api.categories(),
    ]);
  } catch (error) {
    const webgl = /webgl/i.test(String(error?.message));
    showNotice(webgl ? t('map.no_webgl') : t('map.failed', { message: error.message }));
    document.body.dataset.state = 'error';
    return;
  }
  // On a desk the legend covers the left of the map: frame the city beside it.
  await fitCity(map, window.matchMedia('(min-width: 48rem)').matches ? { top: 70, bottom: 30, left: 330, right: 60 } : 10);
  mountLegend(legend, map);
  // At city zoom the bubbles count the problems still open (see showClusterBubbles).
  const redrawBubbles = showClusterBubbles(map, formatNumber, { weighOpen: true });
  onLang(redrawBubbles);

  // Every change on the server (staff moved an issue on, another resident
  // reported one) reloads the issue tiles, so the colours follow.
  const reloadIssues = followLive(map);
  const issuePanel = new IssuePanel({ panel, categories, map, onChange: reloadIssues });
  const reporter = new Reporter({
    map,
    panel,
    categories,
    issuePanel,
    onCreated: (issue, { email }) => {
      // The server has invalidated the tiles the new issue touches; asking
      // again with a new `v` gets them past the browser's cache as well.
      refreshIssues(map);
      if (map.getZoom() < 15) map.easeTo({ center: issue.geometry.coordinates, zoom: 16 });
      issuePanel.showReported(issue, { email });
    },
  });
  issuePanel.reportAnother = () => reporter.start();

  document.getElementById('report-button').addEventListener('click', () => reporter.start());
  mountSearch(document.getElementById('place-search'), map);
  const list = new IssueList({ panel, categories, issuePanel });
  document.getElementById('list-button').addEventListener('click', () => list.open());

  // The panel covers part of the map (the right side on a desk, the bottom on
  // a phone): padding keeps "the centre" and every fly-to in the visible part.
  const panelEl = document.getElementById('panel');
  const desk = window.matchMedia('(min-width: 48rem)');
  const fitPadding = () => {
    // setPadding is a jump: it would stop the fly to an issue the panel just
    // opened (which carries this same padding), so it waits for the move to end.
    if (map.isMoving()) {
      map.once('moveend', fitPadding);
      return;
    }
    const open = !panelEl.hidden;
    map.setPadding({
      top: 0,
      left: 0,
      right: open && desk.matches ? panelEl.offsetWidth : 0,
      bottom: open && !desk.matches ? panelEl.offsetHeight : 0,
    });
  };
  new ResizeObserver(fitPadding).observe(panelEl);
  desk.addEventListener('change', fitPadding);

  map.on('click', (event) => {
    if (reporter.handleMapClick(event.lngLat)) return;
    const [feature] = map.queryRenderedFeatures(event.point, { layers: ['issue-points', 'issue-clusters'] });
    if (!feature) return;
    if (feature.properties.cluster || feature.properties.point_count) {
      // A cluster opens up: single issues are drawn from zoom 14.
      map.easeTo({ center: feature.geometry.coordinates, zoom: Math.min(Math.max(map.getZoom() + 2, 12), 14.5) });
    } else {
      issuePanel.show(feature.id);
    }
  });
  for (const layer of ['issue-points', 'issue-clusters']) {
    map.on('mouseenter', layer, () => {
      if (!reporter.active) map.getCanvas().style.cursor = 'pointer';
    });
    map.on('mouseleave', layer, () => {
      map.getCanvas().style.cursor = '';
    });
  }

  // A private link (`/?issue=42&token=…`, from the confirmation mail)
  // opens the issue and keeps its token in this browser; the address bar
  // then shows the public link, so the token is not shared by accident.
  const query = new URLSearchParams(location.search);
  if (/^\d+$/.test(query.get('issue') ?? '')) {
    const id = Number(query.get('issue'));
    if (query.get('token')) rememberToken(id, query.get('token'));
    query.delete('issue');
    query.delete('token');
    const rest = query.toString();
    history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}#issue=${id}`);
  }

  // A link to an issue (`/#issue=42`) opens it.
  const openFromHash = () => {
    const id = issueIdFromHash();
    if (id && !(issuePanel.current?.id === id && panel.isOpenFor('issue'))) issuePanel.show(id, { fly: true });
  };
  window.addEventListener('hashchange', openFromHash);
  openFromHash();

  map.once('idle', () => {
    document.body.dataset.state = 'ready';
    announce(t('map.label'));
  });
}

main();
