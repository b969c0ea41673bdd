// An issue in the panel: category, description, status, district, dates and
// its public history. Opening one also puts `#issue=ID` in the address, so a
// link to an issue opens it.

import * as api from './api.js';
import { h } from './dom.js';
import { categoryName, formatDate, onLang, statusName, t } from './i18n.js';
import { STATUS_COLOURS, maplibregl } from './map.js';

export function statusBadge(status) {
  return h('span', { class: 'status-badge', style: { '--status-colour': STATUS_COLOURS[status] ?? '#777' } }, statusName(status));
}

/**
 * The public history. Until the server publishes an issue's status events,
 * it is the report and the last change; events, when an endpoint serves
 * them, go in here as `{at, status, note}` entries, newest last.
 */
export function historyEntries(issue, events = []) {
  const p = issue.properties;
  const entries = [{ at: p.created_at, text: t('issue.reported'), status: 'open' }];
  for (const event of events) {
    entries.push({ at: event.at, text: statusName(event.status), status: event.status, note: event.note });
  }
  if (!events.length && p.updated_at && p.updated_at !== p.created_at) {
    entries.push({ at: p.updated_at, text: `${t('issue.updated')}: ${statusName(p.status)}`, status: p.status });
  }
  return entries;
}

export function issueLink(id) {
  return `${location.origin}/#issue=${id}`;
}

/** The confirmation above a newly filed issue: its id, its status, a link to follow it. */
function successBanner(issue, reportAnother) {
  return h(
    'div',
    { class: 'success', role: 'status', id: 'report-success', 'data-issue-id': issue.id },
    h('p', { class: 'success-title' }, t('report.success_title', { id: issue.id })),
    h('p', {}, t('report.success', { status: statusName(issue.properties.status) })),
    h('p', {}, h('a', { href: `/#issue=${issue.id}` }, issueLink(issue.id))),
    reportAnother ? h('button', { type: 'button', class: 'secondary', onclick: reportAnother }, t('report.another')) : null,
  );
}

export class IssuePanel {
  constructor({ panel, categories, map }) {
    this.panel = panel;
    this.categories = categories;
    this.map = map;
    this.current = null;
    this.justReported = false;
    /** Set by the resident map: opens a new report from the confirmation. */
    this.reportAnother = null;
    onLang(() => {
      if (this.current && this.panel.isOpenFor('issue')) this.render(this.current, { focus: false });
    });
  }

  category(code) {
    return this.categories.find((c) => c.code === code) ?? { code, names: {} };
  }

  /** Fetches and shows issue `id`. */
  async show(id, { fly = false } = {}) {
    this.justReported = false;
    this.current = null;
    this.panel.open({
      title: t('issue.loading', { id }),
      content: h('p', { class: 'muted' }, t('issue.loading', { id })),
      owner: 'issue',
      onClose: () => this.closed(),
    });
    history.replaceState(null, '', `#issue=${id}`);
    let issue;
    try {
      issue = await api.issue(id);
    } catch (error) {
      if (!this.panel.isOpenFor('issue')) return;
      const message = error.status === 404 ? t('issue.not_found', { id }) : t('error.generic', { message: error.message });
      this.panel.setTitle(message);
      this.panel.body.replaceChildren(h('p', { class: 'error', role: 'alert' }, message));
      return;
    }
    if (!this.panel.isOpenFor('issue')) return;
    this.current = issue;
    this.render(issue, { focus: true });
    if (fly && this.map) {
      this.map.flyTo({ center: issue.geometry.coordinates, zoom: Math.max(this.map.getZoom(), 16) });
    }
  }

  /** A ring on the map around the issue in the panel. */
  mark(issue) {
    if (!this.map) return;
    this.marker?.remove();
    const el = h('div', { class: 'selected-issue', 'aria-hidden': 'true' });
    this.marker = new maplibregl.Marker({ element: el }).setLngLat(issue.geometry.coordinates).addTo(this.map);
  }

  /** Shows an issue the resident has just filed, with the confirmation above it. */
  showReported(issue) {
    this.current = issue;
    this.justReported = true;
    history.replaceState(null, '', `#issue=${issue.id}`);
    this.render(issue, { focus: true });
  }

  closed() {
    this.marker?.remove();
    this.marker = null;
    this.current = null;
    this.justReported = false;
    if (location.hash.startsWith('#issue=')) history.replaceState(null, '', location.pathname + location.search);
  }

  render(issue, { focus }) {
    const p = issue.properties;
    const title = t('issue.title', { id: issue.id, category: categoryName(this.category(p.category)) });
    const row = (label, value) => (value ? [h('dt', {}, label), h('dd', {}, value)] : null);
    const content = h(
      'article',
      { class: 'issue', 'data-issue-id': issue.id },
      this.justReported ? successBanner(issue, this.reportAnother) : null,
      h('p', { class: 'issue-status' }, statusBadge(p.status)),
      h('p', { class: 'issue-description' }, p.description),
      h(
        'dl',
        { class: 'facts' },
        row(t('issue.category'), categoryName(this.category(p.category))),
        row(t('issue.district'), p.district ?? t('issue.no_district')),
        row(t('issue.address'), p.address),
        row(t('issue.reported'), formatDate(p.created_at, true)),
        row(t('issue.updated'), formatDate(p.updated_at, true)),
        row(t('issue.votes'), p.votes ? String(p.votes) : null),
      ),
      h('h3', {}, t('issue.history')),
      h(
        'ol',
        { class: 'history' },
        historyEntries(issue).map((entry) =>
          h(
            'li',
            { style: { '--status-colour': STATUS_COLOURS[entry.status] ?? '#777' } },
            h('time', { datetime: entry.at }, formatDate(entry.at, true)),
            ' ',
            entry.text,
            entry.note ? h('p', { class: 'note' }, entry.note) : null,
          ),
        ),
      ),
      h('p', {}, h('a', { href: `/#issue=${issue.id}`, class: 'permalink' }, t('issue.permalink'))),
    );
    this.panel.open({ title, content, owner: 'issue', onClose: () => this.closed(), focus });
    this.mark(issue);
  }
}
