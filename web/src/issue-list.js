// The resident's list of issues beside the map (in the side panel; the
// bottom sheet on a phone): filters as labelled form controls (open
// problems only, a status, a category), the number of issues they select
// (read out politely when it changes), and the issues newest first as a
// list of buttons, 25 at a time. A button opens the issue, and the issue's
// panel offers the way back to the list, where the focus returns to it.

import * as api from './api.js';
import { announce, h } from './dom.js';
import { formatDate, formatNumber } from './format.js';
import { categoryName, onLang, statusName, t } from './i18n.js';
import { statusBadge } from './issue-panel.js';
import { onLive } from './live.js';
import { UNRESOLVED } from './map.js';
import { groupCategories } from './report.js';

const STATUSES = [...UNRESOLVED, 'resolved', 'closed', 'rejected', 'duplicate'];
const PAGE = 25;
/** Changes come in bursts (staff working through a queue): the open list reads again once per burst. */
const LIVE_DELAY_MS = 1000;

export class IssueList {
  constructor({ panel, categories, issuePanel }) {
    this.panel = panel;
    this.categories = categories;
    this.issuePanel = issuePanel;
    this.features = [];
    this.next = null;
    this.total = null;
    this.seq = 0;
    this.lastOpened = null;
    this.content = null;
    onLang(() => {
      if (!this.content) return;
      const filters = this.filterValues();
      this.content = null;
      if (this.panel.isOpenFor('list')) this.open({ filters, focus: false });
    });
    // A new report or a status change elsewhere: the open list follows.
    onLive((message) => {
      if ((message.type !== 'issue' && message.type !== 'resync') || !this.content || !this.panel.isOpenFor('list')) return;
      clearTimeout(this.liveTimer);
      this.liveTimer = setTimeout(() => this.followChange(), LIVE_DELAY_MS);
    });
  }

  /**
   * Reads the list again after a change on the server, unless that would
   * pull the ground from under a reader: with the keyboard in the list or
   * more than the first page loaded, only the count (a polite live region)
   * is brought up to date.
   */
  async followChange() {
    if (!this.panel.isOpenFor('list')) return;
    const reading = this.content.querySelector('#issue-list').contains(document.activeElement) || this.features.length > PAGE;
    if (!reading) {
      await this.load();
      return;
    }
    const seq = this.seq;
    const stats = await api.stats(['status'], this.filters()).catch(() => null);
    if (!stats || seq !== this.seq) return;
    this.total = stats.total;
    this.renderCount();
  }

  category(code) {
    return this.categories.find((c) => c.code === code) ?? { code, names: {} };
  }

  /** Opens the list in the panel; made once, so filters and what was loaded stay while an issue is shown. */
  open({ filters = null, focus = true } = {}) {
    const fresh = !this.content;
    if (fresh) this.content = this.build(filters);
    this.panel.open({ title: t('list.title'), content: this.content, owner: 'list', focus: focus && !this.lastOpened });
    if (fresh) this.load();
    else this.render();
    // Back from an issue: to the button that opened it.
    if (this.lastOpened) {
      this.content.querySelector(`button[data-issue-id="${this.lastOpened}"]`)?.focus();
      this.lastOpened = null;
    }
  }

  build(values) {
    const openOnly = h('input', { type: 'checkbox', id: 'list-open', name: 'open', checked: values ? values.openOnly : true });
    const status = h(
      'select',
      { id: 'list-status', name: 'status' },
      h('option', { value: '' }, t('list.any_status')),
      STATUSES.map((s) => h('option', { value: s }, statusName(s))),
    );
    const category = h(
      'select',
      { id: 'list-category', name: 'category' },
      h('option', { value: '' }, t('filters.all_categories')),
      groupCategories(this.categories).map(([group, categories]) =>
        h('optgroup', { label: t(`group.${group}`) }, categories.map((c) => h('option', { value: c.code }, categoryName(c)))),
      ),
    );
    if (values) {
      status.value = values.status;
      category.value = values.category;
    }
    const form = h(
      'form',
      { class: 'list-filters', 'aria-label': t('list.filters') },
      h('label', { class: 'toggle', for: 'list-open' }, openOnly, h('span', {}, t('list.open_only'))),
      h('div', { class: 'field' }, h('label', { for: 'list-status' }, t('filters.status')), status),
      h('div', { class: 'field' }, h('label', { for: 'list-category' }, t('filters.category')), category),
    );
    form.addEventListener('change', () => this.load());
    form.addEventListener('submit', (event) => event.preventDefault());
    return h(
      'div',
      { class: 'issue-list-view' },
      form,
      // The count is the live region: one short sentence per change of filters.
      h('p', { id: 'list-count', class: 'list-count', 'aria-live': 'polite', 'aria-atomic': 'true' }),
      h('ul', { id: 'issue-list', class: 'issue-list', 'aria-labelledby': 'list-count' }),
      h('button', { type: 'button', class: 'secondary list-more', id: 'list-more', hidden: true, onclick: () => this.more() }, t('list.more')),
    );
  }

  filterValues() {
    const $ = (selector) => this.content.querySelector(selector);
    return { openOnly: $('#list-open').checked, status: $('#list-status').value, category: $('#list-category').value };
  }

  /** The API's filters: one status if chosen, else the unresolved ones with "open problems only", else all. */
  filters() {
    const { openOnly, status, category } = this.filterValues();
    // A chosen status says it all; the checkbox has nothing to add then.
    this.content.querySelector('#list-open').disabled = Boolean(status);
    return { status: status ? [status] : openOnly ? UNRESOLVED : [], category };
  }

  async load() {
    const seq = ++this.seq;
    const filters = this.filters();
    this.content.dataset.state = 'loading';
    let page;
    let stats;
    try {
      [page, stats] = await Promise.all([api.issueList(filters, { limit: PAGE }), api.stats(['status'], filters)]);
    } catch (error) {
      if (seq !== this.seq) return;
      this.content.querySelector('#list-count').textContent = t('error.generic', { message: error.message });
      this.content.dataset.state = 'error';
      return;
    }
    if (seq !== this.seq) return;
    this.features = page.features;
    this.next = page.next ?? null;
    this.total = stats.total;
    this.render();
  }

  async more() {
    if (!this.next) return;
    const seq = this.seq;
    const first = this.features.length;
    const page = await api.page(this.next).catch(() => null);
    if (!page || seq !== this.seq) return;
    this.features.push(...page.features);
    this.next = page.next ?? null;
    this.render();
    // Keep the keyboard where the new issues start.
    this.content.querySelectorAll('#issue-list button')[first]?.focus();
    announce(t('list.shown', { n: formatNumber(this.features.length), total: formatNumber(this.total) }));
  }

  render() {
    const list = this.content.querySelector('#issue-list');
    list.replaceChildren(
      ...this.features.map((feature) => {
        const p = feature.properties;
        return h(
          'li',
          { 'data-status': p.status },
          h(
            'button',
            { type: 'button', class: 'issue-item', 'data-issue-id': feature.id, onclick: () => this.show(feature.id) },
            h('span', { class: 'issue-item-title' }, t('issue.title', { id: feature.id, category: categoryName(this.category(p.category)) })),
            h('span', { class: 'issue-item-meta' }, statusBadge(p.status), ' ', h('time', { datetime: p.created_at }, formatDate(p.created_at))),
          ),
        );
      }),
    );
    this.content.querySelector('#list-more').hidden = !this.next;
    this.renderCount();
    this.content.dataset.state = 'ready';
  }

  renderCount() {
    const count = this.content.querySelector('#list-count');
    count.textContent = this.total === null ? '' : t('list.count', { n: formatNumber(this.total) });
    this.content.dataset.count = String(this.total ?? 0);
  }

  show(id) {
    this.lastOpened = id;
    this.issuePanel.show(id, { fly: true, back: () => this.open() });
  }
}
