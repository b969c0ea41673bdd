// The planner view (`/planner`), for signed-in planners, staff and admins:
// districts as a choropleth of issue counts under the current filters, a
// district's counts and issues, and one-click export of the selection. The
// filters and the district live in the query string, so a view can be
// bookmarked or sent to a colleague.

import * as api from './api.js';
import { addChoropleth, renderLegend, selectDistrict, updateChoropleth } from './choropleth.js';
import { announce, h } from './dom.js';
import { downloadCsv, downloadGeoJson, exportName } from './export.js';
import { cityDayStart, formatDate, formatNumber } from './format.js';
import { applyTranslations, categoryName, districtName, mountLanguageSwitcher, onLang, statusName, t } from './i18n.js';
import { statusBadge } from './issue-panel.js';
import { IssuesTable } from './issues-table.js';
import { createMap, fitCity, followLive, maplibregl, setIssueFilters, showClusterBubbles } from './map.js';
import { groupCategories } from './report.js';
import { mountAccount, signedIn } from './signin.js';

const $ = (selector) => document.querySelector(selector);

/** Who the planner view is for, once there are accounts (its data is public; the view is a tool for the city). */
const PLANNER_ROLES = ['planner', 'admin', 'staff'];

class Planner {
  constructor({ map, categories, statuses }) {
    this.map = map;
    this.categories = categories;
    this.statuses = statuses;
    this.form = $('#filters');
    this.districts = { type: 'FeatureCollection', features: [] };
    this.districtId = null;
    this.version = 0;
    this.marker = null;
    this.popup = null;
    this.table = new IssuesTable($('#issues-table'), { categories, onShow: (feature) => this.showIssue(feature) });
    this.buildFilters();
    this.readUrl();
  }

  buildFilters() {
    $('#status-filters').replaceChildren(
      ...this.statuses.map((status) =>
        h(
          'label',
          {},
          h('input', { type: 'checkbox', name: 'status', value: status }),
          h('span', { 'data-i18n': `status.${status}` }, statusName(status)),
        ),
      ),
    );
    this.renderCategoryOptions();
    this.form.addEventListener('change', () => this.filtersChanged());
    // A reset clears the inputs after the event; refresh once it has.
    this.form.addEventListener('reset', () => setTimeout(() => this.filtersChanged()));
  }

  renderCategoryOptions() {
    const select = $('#filter-category');
    const value = select.value;
    select.replaceChildren(
      h('option', { value: '' }, t('filters.all_categories')),
      ...groupCategories(this.categories).map(([group, categories]) =>
        h('optgroup', { label: t(`group.${group}`) }, categories.map((c) => h('option', { value: c.code }, categoryName(c)))),
      ),
    );
    select.value = value;
  }

  /** The filters as the API spells them. */
  filters() {
    const status = [...this.form.querySelectorAll('input[name="status"]:checked')].map((i) => i.value);
    return {
      status,
      category: $('#filter-category').value,
      // The days are the city's (Asia/Almaty), as the table shows its dates,
      // whatever the zone of the planner's browser: `since` is the first
      // day's midnight, `until` (exclusive) the midnight after the last.
      since: cityDayStart($('#filter-since').value),
      until: cityDayStart($('#filter-until').value, { after: true }),
    };
  }

  readUrl() {
    const params = new URLSearchParams(location.search);
    const statuses = (params.get('status') ?? '').split(',');
    for (const input of this.form.querySelectorAll('input[name="status"]')) input.checked = statuses.includes(input.value);
    $('#filter-category').value = params.get('category') ?? '';
    $('#filter-since').value = params.get('from') ?? '';
    $('#filter-until').value = params.get('to') ?? '';
    const district = Number(params.get('district'));
    this.districtId = Number.isInteger(district) && district > 0 ? district : null;
  }

  writeUrl() {
    const params = new URLSearchParams();
    const { status, category } = this.filters();
    if (status.length) params.set('status', status.join(','));
    if (category) params.set('category', category);
    if ($('#filter-since').value) params.set('from', $('#filter-since').value);
    if ($('#filter-until').value) params.set('to', $('#filter-until').value);
    if (this.districtId) params.set('district', String(this.districtId));
    for (const keep of ['lang', 'basemap']) {
      const value = new URLSearchParams(location.search).get(keep);
      if (value !== null) params.set(keep, value);
    }
    const query = params.toString();
    history.replaceState(null, '', query ? `?${query}` : location.pathname);
  }

  filtersChanged() {
    this.writeUrl();
    this.refresh();
  }

  district(id = this.districtId) {
    return this.districts.features.find((f) => f.id === id) ?? null;
  }

  districtLabel() {
    const district = this.district();
    return district ? districtName(district.properties) : t('district.all');
  }

  /** Everything that depends on the filters: choropleth, counts, map points, the district's table. */
  async refresh() {
    const version = ++this.version;
    const filters = this.filters();
    document.body.dataset.state = 'loading';
    setIssueFilters(this.map, api.filterQuery(filters));
    let districts;
    let totals;
    try {
      [districts, totals] = await Promise.all([api.districts(filters), api.stats(['status'], filters)]);
    } catch (error) {
      if (version === this.version) this.showError(error);
      return;
    }
    if (version !== this.version) return;
    this.districts = districts;
    this.total = totals.total;
    this.breaks = updateChoropleth(this.map, districts);
    this.renderOverview();
    await this.loadDistrict(version);
    if (version !== this.version) return;
    document.body.dataset.state = 'ready';
  }

  showError(error) {
    const notice = $('#notice');
    notice.textContent = error.code === 'network' ? t('error.network') : t('error.generic', { message: error.message });
    notice.hidden = false;
    document.body.dataset.state = 'error';
  }

  renderOverview() {
    $('#notice').hidden = true;
    $('#summary').textContent = t('filters.summary', { n: formatNumber(this.total ?? 0) });
    renderLegend($('#choropleth-legend'), this.breaks ?? []);
    const rows = [...this.districts.features].sort((a, b) => districtName(a.properties).localeCompare(districtName(b.properties), document.documentElement.lang));
    $('#district-list tbody').replaceChildren(
      ...rows.map((feature) =>
        h(
          'tr',
          { 'data-district-id': feature.id, 'aria-current': feature.id === this.districtId ? 'true' : false },
          h('td', {}, h('button', { type: 'button', onclick: () => this.select(feature.id === this.districtId ? null : feature.id) }, districtName(feature.properties))),
          h('td', { class: 'num' }, formatNumber(feature.properties.issue_count ?? 0)),
        ),
      ),
    );
    this.renderScope();
  }

  renderScope() {
    const district = this.district();
    $('#district-title').textContent = this.districtLabel();
    $('#export-scope').textContent = district ? t('export.scope_district', { district: districtName(district.properties) }) : t('export.scope_city');
    if (!district) $('#district-summary').textContent = t('district.hint');
  }

  async select(id) {
    this.districtId = id;
    this.writeUrl();
    selectDistrict(this.map, id);
    this.renderOverview();
    const district = this.district();
    if (district) {
      const bbox = bboxOf(district.geometry);
      if (bbox) this.map.fitBounds(bbox, { padding: 30, maxZoom: 14 });
    }
    const version = ++this.version;
    document.body.dataset.state = 'loading';
    await this.loadDistrict(version);
    if (version === this.version) document.body.dataset.state = 'ready';
    $('#district-title').focus();
  }

  /** The selected district's counts by category and status, and its issues. */
  async loadDistrict(version) {
    selectDistrict(this.map, this.districtId);
    if (!this.districtId || !this.district()) {
      this.districtId = this.district() ? this.districtId : null;
      $('#district-counts').replaceChildren();
      this.table.clear();
      this.renderScope();
      return;
    }
    const filters = { ...this.filters(), district: this.districtId };
    this.table.setLoading();
    let stats;
    let issues;
    try {
      [stats, issues] = await Promise.all([api.stats(['category', 'status'], filters), api.allIssues(filters)]);
    } catch (error) {
      if (version === this.version) this.showError(error);
      return;
    }
    if (version !== this.version) return;
    this.stats = stats;
    this.renderCounts();
    this.table.setIssues(issues, this.districtLabel());
    announce(t('district.total', { n: formatNumber(stats.total), district: this.districtLabel() }));
  }

  renderCounts() {
    const stats = this.stats;
    $('#district-summary').textContent = t('district.total', { n: formatNumber(stats.total), district: this.districtLabel() });
    const byCategory = new Map();
    const byStatus = new Map();
    for (const group of stats.groups) {
      byCategory.set(group.category, (byCategory.get(group.category) ?? 0) + group.count);
      byStatus.set(group.status, (byStatus.get(group.status) ?? 0) + group.count);
    }
    const countTable = (caption, cls, entries, label) =>
      h(
        'table',
        { class: cls },
        h('caption', {}, caption),
        h('tbody', {}, entries.map(([key, count]) => h('tr', { 'data-key': key }, h('th', { scope: 'row' }, label(key)), h('td', { class: 'num' }, formatNumber(count))))),
      );
    const categories = [...byCategory].sort((a, b) => b[1] - a[1]);
    const statuses = this.statuses.filter((s) => byStatus.has(s)).map((s) => [s, byStatus.get(s)]);
    $('#district-counts').replaceChildren(
      countTable(t('district.by_category'), 'by-category', categories, (code) => categoryName(this.categories.find((c) => c.code === code))),
      countTable(t('district.by_status'), 'by-status', statuses, (status) => statusBadge(status)),
    );
  }

  /** Flies to an issue from the table and marks it, with a small card of what it is. */
  showIssue(feature) {
    const center = feature.geometry.coordinates;
    this.marker?.remove();
    this.popup?.remove();
    this.marker = new maplibregl.Marker({ element: h('div', { class: 'selected-issue', 'aria-hidden': 'true' }) }).setLngLat(center).addTo(this.map);
    const p = feature.properties;
    this.popup = new maplibregl.Popup({ offset: 14, closeButton: true, focusAfterOpen: false })
      .setLngLat(center)
      .setDOMContent(
        h(
          'div',
          { class: 'issue-card' },
          h('strong', {}, `#${feature.id} · ${categoryName(this.categories.find((c) => c.code === p.category))}`),
          h('div', {}, statusBadge(p.status), ' ', formatDate(p.created_at)),
          h('div', {}, h('a', { href: `/#issue=${feature.id}` }, t('issue.permalink'))),
        ),
      )
      .addTo(this.map);
    this.map.flyTo({ center, zoom: Math.max(this.map.getZoom(), 16) });
  }

  async export(format) {
    const status = $('#export-status');
    const buttons = [$('#export-geojson'), $('#export-csv')];
    buttons.forEach((b) => (b.disabled = true));
    status.textContent = t('export.working');
    try {
      const filters = { ...this.filters(), district: this.districtId ?? undefined };
      const features = await api.allIssues(filters);
      const district = this.district();
      const slug = district ? String(district.properties.name).toLowerCase().replace(/[^a-z0-9]+/g, '-') : '';
      if (format === 'csv') downloadCsv(features, exportName(slug, 'csv'));
      else downloadGeoJson(features, exportName(slug, 'geojson'));
      status.textContent = t('export.done', { n: formatNumber(features.length) });
    } catch (error) {
      status.textContent = t('error.generic', { message: error.message });
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  }

  relabel() {
    this.renderCategoryOptions();
    this.renderOverview();
    if (this.districtId && this.stats) this.renderCounts();
    if (this.table.features.length) {
      this.table.label = this.districtLabel();
      this.table.render();
    }
  }
}

/** [[west, south], [east, north]] of a Polygon or MultiPolygon. */
function bboxOf(geometry) {
  const rings = geometry?.type === 'Polygon' ? geometry.coordinates : geometry?.type === 'MultiPolygon' ? geometry.coordinates.flat() : [];
  let box = null;
  for (const ring of rings) {
    for (const [lon, lat] of ring) {
      box = box ? [[Math.min(box[0][0], lon), Math.min(box[0][1], lat)], [Math.max(box[1][0], lon), Math.max(box[1][1], lat)]] : [[lon, lat], [lon, lat]];
    }
  }
  return box;
}

async function main() {
  applyTranslations();
  mountLanguageSwitcher($('#lang'));
  const user = await signedIn({ container: $('#signin'), roles: PLANNER_ROLES });
  if (!user) return;
  mountAccount($('#account'), user);
  $('#planner-main').hidden = false;
  let map;
  let categories;
  let statuses;
  try {
    [map, categories, statuses] = await Promise.all([createMap('map'), api.categories(), api.statuses()]);
  } catch (error) {
    const notice = $('#notice');
    notice.textContent = /webgl/i.test(String(error?.message)) ? t('map.no_webgl') : t('map.failed', { message: error.message });
    notice.hidden = false;
    document.body.dataset.state = 'error';
    return;
  }
  await fitCity(map);
  addChoropleth(map);
  // Issues are context here, not the message: from district zoom (11) only, small, so
  // the district colours stay readable.
  for (const id of ['issue-clusters', 'issue-points']) {
    if (!map.getLayer(id)) continue;
    map.setLayerZoomRange(id, 11, 24);
    map.setPaintProperty(id, 'circle-radius', ['interpolate', ['linear'], ['zoom'], 11, 2, 14, 4, 17, 7]);
    map.setPaintProperty(id, 'circle-stroke-width', 0.75);
  }

  // The points follow changes as they happen; the counts on refresh.
  followLive(map);
  // Groups of issues carry their counts, as on the resident map (all the
  // issues the filters select, open or not: the planner chose them).
  const redrawBubbles = showClusterBubbles(map, formatNumber);
  onLang(redrawBubbles);
  const planner = new Planner({ map, categories, statuses });
  window.qalaPlanner = planner;
  onLang(() => planner.relabel());
  $('#export-geojson').addEventListener('click', () => planner.export('geojson'));
  $('#export-csv').addEventListener('click', () => planner.export('csv'));

  map.on('click', (event) => {
    const [issue] = map.queryRenderedFeatures(event.point, { layers: ['issue-points'] });
    if (issue) {
      // The tile knows the issue's UTC day only; the card shows the city's, as the table does.
      api.issue(issue.id)
        .then((feature) => planner.showIssue(feature))
        .catch(() => planner.showIssue({ id: issue.id, geometry: issue.geometry, properties: { ...issue.properties, created_at: issue.properties.created } }));
      return;
    }
    const [district] = map.queryRenderedFeatures(event.point, { layers: ['choropleth'] });
    if (district) planner.select(district.id === planner.districtId ? null : district.id);
  });
  map.on('mouseenter', 'choropleth', () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', 'choropleth', () => (map.getCanvas().style.cursor = ''));

  await planner.refresh();
  if (planner.district()) {
    const bbox = bboxOf(planner.district().geometry);
    if (bbox) map.fitBounds(bbox, { padding: 30, animate: false });
  }
}

main();
