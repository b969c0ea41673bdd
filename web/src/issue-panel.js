// An issue in the panel: category, description, status, district, department,
// dates and its public history (each status change with its note, date and
// department). While it is open it follows changes made by staff: the live
// stream says when it changed, and while that stream is down the panel polls
// instead. Opening one also puts `#issue=ID` in the address, so a link to an
// issue opens it.

import * as api from './api.js';
import { announce, h } from './dom.js';
import { issueDistrict, loadDistricts } from './districts.js';
import { formatDate, formatNumber } from './format.js';
import { categoryName, lang, onLang, statusName, t } from './i18n.js';
import { commentForm, followForm, issueToken, meTooButton, photoGallery, rememberToken, reopenForm, reopenable, tokenFromLink } from './follow-up.js';
import { live, onLive } from './live.js';
import { STATUS_COLOURS, maplibregl } from './map.js';

export function statusBadge(status) {
  return h('span', { class: 'status-badge', style: { '--status-colour': STATUS_COLOURS[status] ?? '#777' } }, statusName(status));
}

/** How often an open panel asks whether its issue changed while the live stream is down (one small request). */
export const REFRESH_MS = 1000;

/**
 * The public history as timeline entries `{at, text, status, note, by}`,
 * oldest first: the report, then each event the server published (a status
 * change, a re-route to another department, a corrected category or
 * location, or several in one). `department` and `category` name a code in
 * the reader's language. Without events (an older server, or the events
 * request failed) the last change stands in for them.
 */
export function historyEntries(issue, events = [], department = (code) => code, category = (code) => code) {
  const p = issue.properties;
  const entries = [{ at: p.created_at, text: t('issue.reported'), status: 'open' }];
  for (const event of events) {
    const by = [event.by?.department ? department(event.by.department) : null, event.by?.name].filter(Boolean).join(' · ');
    if (event.kind === 'comment') {
      entries.push({
        at: event.at ?? event.created_at,
        text: event.author_name ? t('issue.comment_by', { name: event.author_name }) : t('issue.comment'),
        status: null,
        note: event.body,
        photos: event.photos,
        issueId: issue.id,
      });
    } else if (event.kind === 'duplicate_merged') {
      entries.push({ at: event.at, text: t('issue.merged', { id: event.duplicate }), status: null, note: null, by });
    } else {
      const parts = [];
      if (event.kind !== 'rerouted' && event.kind !== 'corrected') {
        parts.push(
          event.to_status === 'duplicate' && event.duplicate_of
            ? t('issue.duplicate_of', { status: statusName(event.to_status), id: event.duplicate_of })
            : statusName(event.to_status),
        );
      }
      if (event.department) parts.push(t('issue.rerouted', { department: event.department.to ? department(event.department.to) : '—' }));
      if (event.category) parts.push(t('issue.recategorised', { category: category(event.category.to) }));
      if (event.moved) parts.push(t('issue.moved'));
      entries.push({ at: event.at, text: parts.join(' · '), status: event.to_status, note: event.note, by, photos: event.photos, issueId: issue.id });
    }
  }
  if (!events.length && p.updated_at && p.updated_at !== p.created_at) {
    entries.push({ at: p.updated_at, text: `${t('issue.updated')}: ${statusName(p.status)}`, status: p.status });
  }
  return entries;
}

/**
 * The timeline of `historyEntries` as a list: each step with its date, who
 * acted and the public note. The resident panel and the staff view show
 * the same history through this one function.
 */
export function historyList(entries) {
  return h(
    'ol',
    { class: 'history' },
    entries.map((entry) =>
      h(
        'li',
        { style: { '--status-colour': STATUS_COLOURS[entry.status] ?? '#777' }, 'data-status': entry.status ?? '' },
        h('time', { datetime: entry.at }, formatDate(entry.at, true)),
        ' ',
        h('span', { class: 'history-step' }, entry.text),
        entry.by ? h('span', { class: 'history-by' }, entry.by) : null,
        entry.note ? h('p', { class: 'note' }, entry.note) : null,
        photoGallery(entry.photos, entry.issueId),
      ),
    ),
  );
}

/** Every change of status is an event, so new event ids are what a refresh looks for. */
function sameEvents(a, b) {
  return Boolean(a && b) && a.length === b.length && a.every((event, i) => event.id === b[i].id);
}

export function issueLink(id) {
  return `${location.origin}/#issue=${id}`;
}

/**
 * The confirmation above a newly filed issue: its id, its status, a link to
 * follow it, the private link (shown once: the server keeps only its hash)
 * and what email will bring.
 */
function successBanner(issue, email, reportAnother) {
  const privateLink = issue.private_link ? new URL(issue.private_link, location.origin).href : null;
  return h(
    'div',
    { class: 'success', role: 'status', id: 'report-success', 'data-issue-id': issue.id },
    h('p', { class: 'success-title' }, t('report.success_title', { id: issue.id })),
    h('p', {}, t('report.success', { status: statusName(issue.properties.status) })),
    h('p', {}, h('a', { href: `/#issue=${issue.id}` }, issueLink(issue.id))),
    privateLink ? h('p', {}, t('report.private_link')) : null,
    privateLink ? h('p', {}, h('a', { href: privateLink, id: 'private-link', class: 'private-link' }, privateLink)) : null,
    h('p', { id: 'mail-note' }, email ? t('report.mail_coming', { email }) : t('report.no_mail')),
    reportAnother ? h('button', { type: 'button', class: 'secondary', onclick: reportAnother }, t('report.another')) : null,
  );
}

export class IssuePanel {
  /** `onChange(issue)` runs when the open issue changed on the server (the map redraws its tiles). */
  constructor({ panel, categories, map, onChange = null }) {
    this.panel = panel;
    this.categories = categories;
    this.map = map;
    this.onChange = onChange;
    this.current = null;
    /** The current issue's public history; null when it could not be read. */
    this.events = null;
    /** The departments' promise, and the list once it is in. */
    this.departments = null;
    this.departmentList = [];
    this.justReported = false;
    /** Bumped whenever another issue is shown or the panel closes, so late answers are dropped. */
    this.seq = 0;
    this.timer = null;
    /** Set by the resident map: opens a new report from the confirmation. */
    this.reportAnother = null;
    onLang(() => {
      if (this.current && this.panel.isOpenFor('issue')) this.update();
    });
    onLive((message) => {
      if (!this.current || !this.panel.isOpenFor('issue')) return;
      if (message.type === 'status') {
        // Down: poll until it is back. Up: the stream tells of changes.
        if (!message.connected) this.watch();
      } else if (message.type === 'resync' || message.issue?.id === this.current.id) {
        this.refresh({ force: true });
      }
    });
  }

  category(code) {
    return this.categories.find((c) => c.code === code) ?? { code, names: {} };
  }

  /** The departments, read once; without them the history names department codes. */
  loadDepartments() {
    this.departments ??= api.departments().catch(() => []);
    return this.departments;
  }

  departmentName(code) {
    const department = this.departmentList?.find((d) => d.code === code);
    return department ? categoryName(department) : code;
  }

  /**
   * Fetches and shows issue `id` with its history; `back` (from the list)
   * puts a "back to the list" button above it.
   */
  async show(id, { fly = false, back = null } = {}) {
    const seq = this.begin();
    this.current = null;
    this.back = back;
    this.panel.open({
      title: t('issue.loading', { id }),
      content: h('p', { class: 'muted' }, t('issue.loading', { id })),
      owner: 'issue',
      onClose: () => this.closed(),
    });
    history.replaceState(null, '', `#issue=${id}`);
    let issue;
    let events;
    try {
      // The history is an extra: the issue shows without it if it fails.
      [issue, events] = await Promise.all([
        api.issue(id),
        api.issueEvents(id).catch(() => null),
        this.loadDepartments().then((list) => (this.departmentList = list)),
        loadDistricts(),
      ]);
    } catch (error) {
      if (seq !== this.seq || !this.panel.isOpenFor('issue')) return;
      const message = error.status === 404 ? t('issue.not_found', { id }) : t('error.generic', { message: error.message });
      this.panel.setTitle(message);
      this.panel.body.replaceChildren(h('p', { class: 'error', role: 'alert' }, message));
      return;
    }
    if (seq !== this.seq || !this.panel.isOpenFor('issue')) return;
    this.current = issue;
    this.events = events;
    this.render(issue, { focus: true });
    this.watch();
    this.reveal(issue, { fly });
  }

  /**
   * The part of the map the panel leaves visible, as camera padding: the
   * panel's width on a desk, its height on a phone (a bottom sheet). Read
   * from the panel as it is now, so a move made just after it opened
   * already keeps the issue out from under it.
   */
  visiblePadding() {
    const el = this.panel.el;
    if (el.hidden) return { top: 0, right: 0, bottom: 0, left: 0 };
    const sheet = window.matchMedia('(max-width: 47.99rem)').matches;
    return { top: 0, left: 0, right: sheet ? 0 : el.offsetWidth, bottom: sheet ? el.offsetHeight : 0 };
  }

  /**
   * Brings the issue into the visible part of the map: `fly` (a link or a
   * list) centres it there at street zoom; otherwise (a tap on its point)
   * the map pans only if the panel now covers it.
   */
  reveal(issue, { fly = false } = {}) {
    if (!this.map) return;
    const center = issue.geometry.coordinates;
    const padding = this.visiblePadding();
    if (fly) {
      this.map.flyTo({ center, zoom: Math.max(this.map.getZoom(), 16), padding });
      return;
    }
    const { x, y } = this.map.project(center);
    const { clientWidth: width, clientHeight: height } = this.map.getContainer();
    const margin = 24;
    const hidden = x < margin || y < margin || x > width - padding.right - margin || y > height - padding.bottom - margin;
    if (hidden) this.map.easeTo({ center, padding });
  }

  /** A ring on the map around the issue in the panel. */
  mark(issue) {
    if (!this.map) return;
    this.marker?.remove();
    const el = h('div', { class: 'selected-issue', 'aria-hidden': 'true' });
    this.marker = new maplibregl.Marker({ element: el }).setLngLat(issue.geometry.coordinates).addTo(this.map);
  }

  /** Shows an issue the resident has just filed, with the confirmation above it. */
  showReported(issue, { email = '' } = {}) {
    this.begin();
    this.back = null;
    this.current = issue;
    this.events = [];
    this.justReported = { email, issue };
    const token = tokenFromLink(issue.private_link);
    if (token) rememberToken(issue.id, token);
    history.replaceState(null, '', `#issue=${issue.id}`);
    this.render(issue, { focus: true });
    this.watch();
    const seq = this.seq;
    Promise.all([this.loadDepartments(), loadDistricts()]).then(([list]) => {
      this.departmentList = list;
      // The department and district rows named a code and the English name until now.
      if (seq === this.seq && this.panel.isOpenFor('issue')) this.update();
    });
  }

  /** Starts showing another issue (or none): stops the refresh of the last one. */
  begin() {
    clearTimeout(this.timer);
    this.timer = null;
    this.justReported = false;
    this.seq += 1;
    return this.seq;
  }

  closed() {
    this.begin();
    this.marker?.remove();
    this.marker = null;
    this.current = null;
    this.events = null;
    if (location.hash.startsWith('#issue=')) history.replaceState(null, '', location.pathname + location.search);
  }

  /** Asks again in REFRESH_MS whether the open issue changed, unless the live stream will say. */
  watch() {
    clearTimeout(this.timer);
    this.timer = null;
    if (live.connected) return;
    this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  }

  /**
   * Reads the open issue's history (when the live stream said it changed,
   * or once a second while that stream is down). Only when that has a new
   * event, or `force` (the stream said so: a redaction changes no history),
   * is the issue read again and the panel redrawn (and the map, through
   * `onChange`), so staff's changes reach a resident who keeps the panel
   * open without a reload. A hidden tab does not poll.
   */
  async refresh({ force = false } = {}) {
    const seq = this.seq;
    const issue = this.current;
    if (!issue || !this.panel.isOpenFor('issue')) return;
    if (force || !document.hidden) {
      try {
        const events = await api.issueEvents(issue.id);
        if (seq !== this.seq) return;
        if (force || !sameEvents(events, this.events)) {
          const fresh = await api.issue(issue.id);
          if (seq !== this.seq || !this.panel.isOpenFor('issue')) return;
          const statusChanged = fresh.properties.status !== issue.properties.status;
          this.current = fresh;
          this.events = events;
          this.update();
          if (statusChanged) announce(t('issue.status_changed', { id: fresh.id, status: statusName(fresh.properties.status) }));
          this.onChange?.(fresh);
        }
      } catch {
        // A dropped connection or a restarting server: the next tick asks again.
      }
    }
    if (seq === this.seq && this.panel.isOpenFor('issue')) this.watch();
  }

  /** Redraws the open issue in place, keeping where the reader had scrolled to. */
  update() {
    const scroll = this.panel.body.scrollTop;
    const hadFocus = this.panel.el.contains(document.activeElement);
    this.render(this.current, { focus: false });
    this.panel.body.scrollTop = scroll;
    // The focused element was replaced: keep the keyboard in the panel.
    if (hadFocus && !this.panel.el.contains(document.activeElement)) this.panel.title.focus();
  }

  /**
   * The forms under the issue. Made once per issue (and language), so a
   * redraw when the issue changes on the server keeps what the resident
   * was typing.
   */
  followUp(issue) {
    const key = `${issue.id}:${lang()}`;
    if (this.forms?.key !== key) {
      this.forms = {
        key,
        comment: commentForm(issue, () => this.refresh({ force: true })),
        follow: followForm(issue),
      };
    }
    const token = issueToken(issue.id);
    const reopen = token && reopenable(issue) ? (this.forms.reopen ??= reopenForm(issue, token, () => this.refresh({ force: true }))) : null;
    return h('section', { class: 'follow-up' }, reopen, this.forms.comment, this.forms.follow);
  }

  render(issue, { focus }) {
    const p = issue.properties;
    const title = t('issue.title', { id: issue.id, category: categoryName(this.category(p.category)) });
    const row = (label, value) => (value ? [h('dt', {}, label), h('dd', {}, value)] : null);
    const entries = historyEntries(
      issue,
      this.events ?? [],
      (code) => this.departmentName(code),
      (code) => categoryName(this.category(code)),
    );
    const reported = this.justReported;
    const content = h(
      'article',
      { class: 'issue', 'data-issue-id': issue.id, 'data-status': p.status },
      this.back ? h('p', {}, h('button', { type: 'button', class: 'link-button back-to-list', onclick: this.back }, t('list.back'))) : null,
      reported ? successBanner(reported.issue, reported.email, this.reportAnother) : null,
      h('p', { class: 'issue-status' }, statusBadge(p.status)),
      h('p', { class: 'issue-description' }, p.description),
      photoGallery(p.photos, issue.id),
      meTooButton(issue, () => this.refresh({ force: true })),
      h(
        'dl',
        { class: 'facts' },
        row(t('issue.category'), categoryName(this.category(p.category))),
        row(t('issue.district'), issueDistrict(p)),
        row(t('issue.address'), p.address),
        row(t('issue.department'), p.assigned_department ? this.departmentName(p.assigned_department) : null),
        row(t('issue.reported'), formatDate(p.created_at, true)),
        row(t('issue.updated'), formatDate(p.updated_at, true)),
        row(t('issue.votes'), p.votes ? formatNumber(p.votes) : null),
      ),
      h('h3', {}, t('issue.history')),
      historyList(entries),
      // The shareable link is the issue's own page (/issues/ID): readable
      // without JavaScript, with a preview card where it is shared.
      h('p', {}, h('a', { href: `/issues/${issue.id}`, class: 'permalink' }, t('issue.permalink'))),
      this.followUp(issue),
    );
    this.panel.open({ title, content, owner: 'issue', onClose: () => this.closed(), focus });
    this.mark(issue);
  }
}
