// A district's issues as a sortable, paged table. The whole selection is
// loaded (a district holds hundreds, not millions), so sorting and paging
// are local and instant; a row flies the map to its issue.

import { h } from './dom.js';
import { formatDate, formatNumber } from './format.js';
import { categoryName, t } from './i18n.js';
import { statusBadge } from './issue-panel.js';

const PAGE_SIZE = 20;
const STATUS_ORDER = ['open', 'acknowledged', 'in_progress', 'resolved', 'closed', 'rejected', 'duplicate'];

export class IssuesTable {
  constructor(container, { categories, onShow }) {
    this.container = container;
    this.categories = categories;
    this.onShow = onShow;
    this.features = [];
    this.label = '';
    this.sort = { key: 'id', dir: 'descending' };
    this.page = 0;
    this.selectedId = null;
  }

  category(code) {
    return this.categories.find((c) => c.code === code) ?? { code, names: {} };
  }

  setLoading() {
    this.container.replaceChildren(h('p', { class: 'muted' }, t('table.loading')));
    this.container.dataset.state = 'loading';
  }

  clear() {
    this.features = [];
    this.container.replaceChildren();
    delete this.container.dataset.state;
  }

  setIssues(features, label) {
    this.features = features;
    this.label = label;
    this.page = 0;
    this.render();
  }

  sortValue(feature, key) {
    const p = feature.properties;
    switch (key) {
      case 'category':
        return categoryName(this.category(p.category));
      case 'status':
        return STATUS_ORDER.indexOf(p.status);
      case 'created':
        return p.created_at;
      default:
        return feature.id;
    }
  }

  sorted() {
    const { key, dir } = this.sort;
    const sign = dir === 'ascending' ? 1 : -1;
    const collator = new Intl.Collator(document.documentElement.lang);
    return [...this.features].sort((a, b) => {
      const va = this.sortValue(a, key);
      const vb = this.sortValue(b, key);
      const order = typeof va === 'string' ? collator.compare(va, vb) : va - vb;
      // Ties keep a stable, predictable order: by id.
      return sign * (order || a.id - b.id);
    });
  }

  sortBy(key) {
    this.sort = this.sort.key === key
      ? { key, dir: this.sort.dir === 'ascending' ? 'descending' : 'ascending' }
      : { key, dir: key === 'id' || key === 'created' ? 'descending' : 'ascending' };
    this.page = 0;
    this.render();
    this.container.querySelector(`th[data-key="${key}"] button`)?.focus();
  }

  goTo(page) {
    this.page = page;
    this.render();
  }

  render() {
    const pages = Math.max(1, Math.ceil(this.features.length / PAGE_SIZE));
    this.page = Math.min(this.page, pages - 1);
    const rows = this.sorted().slice(this.page * PAGE_SIZE, (this.page + 1) * PAGE_SIZE);
    this.container.dataset.state = 'ready';
    this.container.dataset.count = String(this.features.length);
    if (!this.features.length) {
      this.container.replaceChildren(h('p', { class: 'muted' }, t('table.empty')));
      return;
    }
    const header = (key, labelKey, extra = '') =>
      h(
        'th',
        { scope: 'col', 'data-key': key, class: extra, 'aria-sort': this.sort.key === key ? this.sort.dir : 'none' },
        h('button', { type: 'button', class: 'sort-button', onclick: () => this.sortBy(key) }, t(labelKey)),
      );
    const table = h(
      'table',
      { class: 'issues-table' },
      h('caption', {}, t('table.caption', { district: this.label }), ` (${formatNumber(this.features.length)})`),
      h(
        'thead',
        {},
        h('tr', {}, header('id', 'table.id', 'num'), header('category', 'table.category'), header('status', 'table.status'), header('created', 'table.created')),
      ),
      h(
        'tbody',
        {},
        rows.map((feature) =>
          h(
            'tr',
            {
              'data-issue-id': feature.id,
              class: feature.id === this.selectedId ? 'selected' : '',
              // The row is a large click target for the mouse; the button in it is the keyboard's way in.
              onclick: (event) => {
                if (event.target.closest('button')) return;
                this.show(feature);
              },
            },
            h('td', { class: 'num' }, h('button', { type: 'button', 'aria-label': t('table.show', { id: feature.id }), onclick: () => this.show(feature) }, t('table.number', { id: feature.id }))),
            h('td', {}, categoryName(this.category(feature.properties.category))),
            h('td', {}, statusBadge(feature.properties.status)),
            h('td', {}, h('time', { datetime: feature.properties.created_at }, formatDate(feature.properties.created_at))),
          ),
        ),
      ),
    );
    const pager = h(
      'div',
      { class: 'pager' },
      h('button', { type: 'button', class: 'pager-prev', disabled: this.page === 0, onclick: () => this.goTo(this.page - 1) }, '‹ ', t('table.prev')),
      h('span', { class: 'page-of', 'aria-live': 'polite' }, t('table.page', { page: formatNumber(this.page + 1), pages: formatNumber(pages) })),
      h('button', { type: 'button', class: 'pager-next', disabled: this.page >= pages - 1, onclick: () => this.goTo(this.page + 1) }, t('table.next'), ' ›'),
    );
    this.container.replaceChildren(h('div', { class: 'table-scroll' }, table), pages > 1 ? pager : null);
  }

  show(feature) {
    this.selectedId = feature.id;
    for (const row of this.container.querySelectorAll('tbody tr')) {
      row.classList.toggle('selected', Number(row.dataset.issueId) === feature.id);
    }
    this.onShow(feature);
  }
}
