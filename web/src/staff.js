// The staff view (`/staff`): sign in, see a queue (the user's own scope or
// a department's issues) by status with counts and ages, and open an issue to
// work on it (staff-issue.js). The queue's choices live in the query string
// and the open issue in `#issue=ID`, so a view can be bookmarked. On a
// phone the queue and the issue take turns on one column.

import * as api from './api.js';
import { announce, h } from './dom.js';
import { issueDistrict, loadDistricts } from './districts.js';
import { formatDate, formatNumber } from './format.js';
import { applyTranslations, categoryName, mountLanguageSwitcher, onLang, statusName, t } from './i18n.js';
import { statusBadge } from './issue-panel.js';
import { onLive } from './live.js';
import { loadStatusColours } from './map.js';
import { mountAccount, signedIn } from './signin.js';
import { IssueDetail } from './staff-issue.js';

const $ = (selector) => document.querySelector(selector);

/** Who the view is for: staff work issues, moderators moderate them, admins do both. */
const STAFF_ROLES = ['staff', 'moderator', 'admin'];
/** The statuses that still need someone: the first tab. */
const ACTIVE = ['open', 'acknowledged', 'in_progress'];
/** The queue's orders, as the API's `sort` spells them, with their labels. */
const SORTS = [
  ['oldest', 'sort.oldest'],
  ['newest', 'sort.newest'],
  ['votes', 'sort.votes'],
];
/** The queue reloads at most this often while the live stream tells of changes. */
const LIVE_RELOAD_MS = 1000;
/** Roles with a scope of their own, whose queue `assigned_to=me` is. */
const SCOPED = ['staff', 'moderator'];

/** How long ago `iso` was, short: "12 min", "5 h", "3 d". */
export function ageText(iso, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - Date.parse(iso)) / 60_000));
  if (minutes < 60) return t('age.minutes', { n: formatNumber(minutes) });
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return t('age.hours', { n: formatNumber(hours) });
  return t('age.days', { n: formatNumber(Math.floor(hours / 24)) });
}

class Queue {
  constructor({ user, categories, statuses, departments }) {
    this.user = user;
    this.categories = categories;
    this.departments = departments;
    this.tabs = [{ id: 'active', statuses: ACTIVE }, ...statuses.map((s) => ({ id: s, statuses: [s] }))];
    this.features = [];
    this.counts = null;
    this.next = null;
    this.selected = null;
    this.version = 0;
    this.readUrl();
    this.renderControls();
    $('#queue-scope').addEventListener('change', (event) => this.choose({ scope: event.target.value }));
    $('#queue-sort').addEventListener('change', (event) => this.choose({ sort: event.target.value }));
    $('#queue-more').addEventListener('click', () => this.load({ more: true }));
  }

  /**
   * What the user can list: their own scope first (`assigned_to=me`: their
   * departments' issues and those in their districts), then each of their
   * departments; admins any department, or the whole city (the server still
   * decides what anyone may change).
   */
  scopes() {
    const admin = this.user.role === 'admin';
    const options = [];
    if (SCOPED.includes(this.user.role) && (this.user.departments?.length || this.user.districts?.length)) {
      options.push({ value: 'me', label: t('queue.mine'), query: { assignedTo: 'me' } });
    }
    for (const code of admin ? this.departments.map((d) => d.code) : this.user.departments ?? []) {
      options.push({ value: `department:${code}`, label: this.departmentName(code), query: { assignedTo: code } });
    }
    if (admin || !options.length) options.push({ value: 'all', label: t('queue.all'), query: {} });
    return options;
  }

  departmentName(code) {
    const department = this.departments.find((d) => d.code === code);
    return department ? categoryName(department) : code;
  }

  readUrl() {
    const params = new URLSearchParams(location.search);
    const scopes = this.scopes();
    this.scope = scopes.find((s) => s.value === params.get('scope'))?.value ?? scopes[0].value;
    this.tab = this.tabs.find((tab) => tab.id === params.get('tab'))?.id ?? 'active';
    this.sort = SORTS.find(([value]) => value === params.get('sort'))?.[0] ?? 'oldest';
  }

  writeUrl() {
    const params = new URLSearchParams(location.search);
    params.set('scope', this.scope);
    params.set('tab', this.tab);
    params.set('sort', this.sort);
    history.replaceState(null, '', `?${params}${location.hash}`);
  }

  choose(change) {
    Object.assign(this, change);
    this.writeUrl();
    this.renderControls();
    this.load();
  }

  renderControls() {
    $('#queue-scope').replaceChildren(...this.scopes().map((s) => h('option', { value: s.value }, s.label)));
    $('#queue-scope').value = this.scope;
    $('#queue-sort').replaceChildren(...SORTS.map(([value, key]) => h('option', { value }, t(key))));
    $('#queue-sort').value = this.sort;
    const byStatus = this.counts?.by_status;
    $('#status-tabs').replaceChildren(
      ...this.tabs.map((tab) => {
        const count = byStatus ? tab.statuses.reduce((sum, s) => sum + (byStatus[s] ?? 0), 0) : null;
        return h(
          'button',
          { type: 'button', class: 'tab', 'aria-pressed': String(tab.id === this.tab), 'data-tab': tab.id, onclick: () => this.choose({ tab: tab.id }) },
          tab.id === 'active' ? t('queue.active') : statusName(tab.id),
          count === null ? null : h('span', { class: 'tab-count' }, formatNumber(count)),
        );
      }),
    );
  }

  /** Reads the queue again (or, with `more`, its next page). */
  async load({ more = false } = {}) {
    const version = ++this.version;
    document.body.dataset.state = 'loading';
    const scope = this.scopes().find((s) => s.value === this.scope) ?? this.scopes()[0];
    const statuses = this.tabs.find((tab) => tab.id === this.tab).statuses;
    let page;
    try {
      page = more && this.next ? await api.page(this.next) : await api.queue({ ...scope.query, status: statuses, sort: this.sort });
    } catch (error) {
      if (version === this.version) showError(error);
      return;
    }
    if (version !== this.version) return;
    $('#notice').hidden = true;
    this.features = more ? [...this.features, ...page.features] : page.features;
    this.next = page.next ?? null;
    if (!more) this.counts = page.counts ?? null;
    this.renderControls();
    this.render();
    document.body.dataset.state = 'ready';
  }

  render() {
    const list = $('#queue-list');
    if (!this.features.length) {
      list.replaceChildren(h('li', { class: 'muted empty' }, t('queue.empty')));
    } else {
      list.replaceChildren(...this.features.map((feature) => this.item(feature)));
    }
    $('#queue-more').hidden = !this.next;
    const byStatus = this.counts?.by_status;
    const tab = this.tabs.find((x) => x.id === this.tab);
    const total = byStatus ? tab.statuses.reduce((sum, s) => sum + (byStatus[s] ?? 0), 0) : null;
    $('#queue-summary').textContent =
      total === null ? t('queue.shown', { n: formatNumber(this.features.length) }) : t('queue.summary', { n: formatNumber(this.features.length), total: formatNumber(total) });
  }

  item(feature) {
    const p = feature.properties;
    const category = this.categories.find((c) => c.code === p.category) ?? { code: p.category, names: {} };
    return h(
      'li',
      { 'data-issue-id': feature.id, 'data-status': p.status, 'aria-current': feature.id === this.selected ? 'true' : false },
      h(
        'a',
        { class: 'queue-item', href: `#issue=${feature.id}` },
        h('span', { class: 'queue-line' }, h('strong', {}, `#${feature.id}`), ' ', categoryName(category)),
        h(
          'span',
          { class: 'queue-meta' },
          statusBadge(p.status),
          h('span', {}, issueDistrict(p)),
          h('time', { class: 'age', datetime: p.created_at, title: formatDate(p.created_at, true) }, ageText(p.created_at)),
          p.votes ? h('span', { class: 'votes' }, t('queue.votes', { n: formatNumber(p.votes) })) : null,
        ),
      ),
    );
  }

  select(id) {
    this.selected = id;
    for (const li of document.querySelectorAll('#queue-list li[data-issue-id]')) {
      if (Number(li.dataset.issueId) === id) li.setAttribute('aria-current', 'true');
      else li.removeAttribute('aria-current');
    }
  }

  relabel() {
    this.renderControls();
    this.render();
  }
}

function showError(error) {
  const notice = $('#notice');
  notice.textContent = error.code === 'network' ? t('error.network') : t('error.generic', { message: error.message });
  notice.hidden = false;
  document.body.dataset.state = 'error';
}

function issueIdFromHash() {
  const match = /^#issue=(\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : null;
}

async function main() {
  applyTranslations();
  mountLanguageSwitcher($('#lang'));
  const user = await signedIn({ container: $('#signin'), roles: STAFF_ROLES, needsCsrf: true });
  if (!user) return;
  mountAccount($('#account'), user);
  let categories;
  let statuses;
  let departments;
  try {
    [categories, statuses, departments] = await Promise.all([api.categories(), api.statuses(), api.departments(), loadStatusColours(), loadDistricts()]);
  } catch (error) {
    showError(error);
    return;
  }
  $('#staff-main').hidden = false;
  const queue = new Queue({ user, categories, statuses, departments });
  const detail = new IssueDetail({
    user,
    categories,
    departments,
    title: $('#detail-title'),
    mapEl: $('#staff-map'),
    body: $('#issue-detail'),
    onChanged: () => queue.load(),
  });
  detail.clear();
  window.qalaStaff = { queue, detail };
  onLang(() => {
    queue.relabel();
    detail.relabel();
  });

  const open = async () => {
    const id = issueIdFromHash();
    queue.select(id);
    if (!id) {
      document.body.dataset.view = 'queue';
      detail.clear();
      return;
    }
    document.body.dataset.view = 'issue';
    $('#detail-title').focus();
    if (await detail.show(id)) announce(detail.title.textContent);
  };
  window.addEventListener('hashchange', open);
  $('#detail-back').addEventListener('click', () => {
    const id = detail.issue?.id;
    history.pushState(null, '', location.pathname + location.search);
    open();
    document.querySelector(`#queue-list li[data-issue-id="${id}"] a`)?.focus();
  });

  await queue.load();
  await open();

  // New issues and status changes, whoever made them, reach the queue
  // without a reload: once a second at most, as a busy city sends many.
  let pending = null;
  onLive((message) => {
    if (message.type !== 'issue' && message.type !== 'resync') return;
    pending ??= setTimeout(() => {
      pending = null;
      queue.load();
    }, LIVE_RELOAD_MS);
  });
}

main();
