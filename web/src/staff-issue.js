// One issue in the staff view: what and where it is (with a small map), its
// public history (the resident panel's timeline), and what the signed-in
// user may do to it: change its status with a public and an internal note,
// mark it a duplicate of an issue picked on the map, re-route it to another
// department, and (moderators, admins) hide, unhide or redact it. The forms
// offer only what the workflow table allows; whatever the server still
// refuses shows its own message next to the form that was sent.

import * as api from './api.js';
import { announce, h } from './dom.js';
import { issueDistrict } from './districts.js';
import { formatDate } from './format.js';
import { categoryName, statusName, t } from './i18n.js';
import { historyEntries, historyList, statusBadge } from './issue-panel.js';
import { createMap, maplibregl, refreshIssues } from './map.js';
import { MODERATES, WORKS_ISSUES, nextSteps } from './workflow.js';

/** The label and the confirmation of each moderation action. */
const MODERATION = {
  hide: { label: 'moderation.hide', done: 'moderation.done_hide' },
  unhide: { label: 'moderation.unhide', done: 'moderation.done_unhide' },
  redact: { label: 'moderation.redact', done: 'moderation.done_redact' },
};

/** Runs `send` for `form`: the button is off meanwhile, and a refusal is shown in `error` and on the field it names. */
async function submitting(form, error, send) {
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  error.hidden = true;
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  try {
    await send();
  } catch (failure) {
    error.textContent = failure.code === 'network' ? t('error.network') : failure.message;
    error.hidden = false;
    error.dataset.code = failure.code ?? '';
    const field = failure.field ? form.querySelector(`[name="${failure.field}"]`) : null;
    field?.setAttribute('aria-invalid', 'true');
  } finally {
    button.disabled = false;
  }
}

/** A textarea with its label (and hint), named as the API names the field. */
function textField(id, name, label, { hint = null, value = '', rows = 3, required = false } = {}) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    h('textarea', { id, name, rows, required, maxlength: 2000, 'aria-describedby': hint ? `${id}-hint` : null }, value),
  );
}

/** The trimmed value of the form's field `name`, or undefined when empty (the API leaves it out then). */
function value(form, name) {
  const text = form.elements[name]?.value.trim();
  return text ? text : undefined;
}

export class IssueDetail {
  /** `onChanged(issue)` runs after a change was saved (the queue reloads). */
  constructor({ user, categories, departments, title, mapEl, body, onChanged }) {
    Object.assign(this, { user, categories, departments, title, mapEl, body, onChanged });
    this.issue = null;
    this.events = [];
    /** A confirmation of the last change, shown above the issue until another is opened. */
    this.flash = null;
    this.seq = 0;
    this.mapPromise = null;
    this.map = null;
    this.marker = null;
    /** While "duplicate" is chosen, a click on another issue on the map fills duplicate_of. */
    this.picking = false;
  }

  departmentName(code) {
    const department = this.departments.find((d) => d.code === code);
    return department ? categoryName(department) : code;
  }

  category(code) {
    return this.categories.find((c) => c.code === code) ?? { code, names: {} };
  }

  /** Fetches and shows issue `id`; resolves to whether it could. */
  async show(id, { keepFlash = false } = {}) {
    const seq = ++this.seq;
    if (!keepFlash) this.flash = null;
    if (this.issue?.id !== id) {
      this.title.textContent = t('issue.loading', { id });
      this.body.replaceChildren();
    }
    let issue;
    let events;
    try {
      [issue, events] = await Promise.all([api.issue(id), api.issueEvents(id)]);
    } catch (error) {
      if (seq !== this.seq) return false;
      const message = error.status === 404 ? t('issue.not_found', { id }) : t('error.generic', { message: error.message });
      this.issue = null;
      this.title.textContent = message;
      this.body.replaceChildren(h('p', { class: 'error', role: 'alert' }, message));
      this.mapEl.hidden = true;
      return false;
    }
    if (seq !== this.seq) return false;
    this.issue = issue;
    this.events = events;
    this.render();
    await this.showOnMap(issue);
    return true;
  }

  clear() {
    this.seq += 1;
    this.issue = null;
    this.flash = null;
    this.picking = false;
    this.title.textContent = t('detail.none');
    this.body.replaceChildren();
    this.mapEl.hidden = true;
  }

  /** The map, made the first time an issue is shown (a hidden container has no size to draw in). */
  async ensureMap() {
    this.mapEl.hidden = false;
    this.mapPromise ??= createMap(this.mapEl).then((map) => {
      map.on('click', (event) => this.mapClicked(event));
      for (const layer of ['issue-points', 'issue-clusters']) {
        map.on('mouseenter', layer, () => (map.getCanvas().style.cursor = 'pointer'));
        map.on('mouseleave', layer, () => (map.getCanvas().style.cursor = ''));
      }
      return map;
    });
    this.map = await this.mapPromise;
    this.map.resize();
    return this.map;
  }

  async showOnMap(issue) {
    let map;
    try {
      map = await this.ensureMap();
    } catch (error) {
      // No WebGL, say: the issue and its forms work without the map (a duplicate's number can be typed).
      this.mapEl.replaceChildren(h('p', { class: 'notice-inline' }, t('map.failed', { message: error.message })));
      return;
    }
    this.marker?.remove();
    this.marker = new maplibregl.Marker({ element: h('div', { class: 'selected-issue', 'aria-hidden': 'true' }) })
      .setLngLat(issue.geometry.coordinates)
      .addTo(map);
    map.jumpTo({ center: issue.geometry.coordinates, zoom: Math.max(map.getZoom(), 16) });
    // Which issue the map is centred on (the browser tests wait for it).
    this.mapEl.dataset.issueId = String(issue.id);
  }

  mapClicked(event) {
    const [feature] = this.map.queryRenderedFeatures(event.point, { layers: ['issue-points', 'issue-clusters'] });
    if (!feature) return;
    if (feature.properties.cluster || feature.properties.point_count) {
      this.map.easeTo({ center: feature.geometry.coordinates, zoom: Math.min(this.map.getZoom() + 2, 17) });
    } else if (this.picking && this.issue && feature.id !== this.issue.id) {
      const input = this.body.querySelector('#duplicate-of');
      if (!input) return;
      input.value = String(feature.id);
      announce(t('action.picked', { id: feature.id }));
      input.focus();
    }
  }

  /** Reads the issue again after a change and tells the queue and the map. */
  async changed(message) {
    this.flash = message;
    announce(message);
    const id = this.issue.id;
    if (this.map) refreshIssues(this.map);
    await this.show(id, { keepFlash: true });
    this.onChanged?.(this.issue);
  }

  /** After a language switch: the open issue again, or the hint (a failure's message stays as it was). */
  relabel() {
    if (this.issue) this.render();
    else if (!this.body.childElementCount) this.title.textContent = t('detail.none');
  }

  render() {
    const issue = this.issue;
    const p = issue.properties;
    this.picking = false;
    this.title.textContent = t('issue.title', { id: issue.id, category: categoryName(this.category(p.category)) });
    const row = (label, text) => (text ? [h('dt', {}, label), h('dd', {}, text)] : null);
    const role = this.user.role;
    const entries = historyEntries(
      issue,
      this.events ?? [],
      (code) => this.departmentName(code),
      (code) => categoryName(this.category(code)),
    );
    this.body.replaceChildren(
      h(
        'article',
        { class: 'issue staff-issue', 'data-issue-id': issue.id, 'data-status': p.status, 'data-hidden': String(Boolean(p.hidden)) },
        this.flash ? h('p', { class: 'success', role: 'status', id: 'detail-flash' }, this.flash) : null,
        h('p', { class: 'issue-status' }, statusBadge(p.status), p.hidden ? h('span', { class: 'hidden-flag' }, t('detail.hidden')) : null),
        h('p', { class: 'issue-description' }, p.description),
        h(
          'dl',
          { class: 'facts' },
          row(t('issue.district'), issueDistrict(p)),
          row(t('issue.address'), p.address),
          row(t('issue.department'), p.assigned_department ? this.departmentName(p.assigned_department) : null),
          row(t('issue.reported'), formatDate(p.created_at, true)),
          row(t('issue.updated'), formatDate(p.updated_at, true)),
          row(t('issue.votes'), p.votes ? String(p.votes) : null),
          row(t('action.duplicate_of'), p.duplicate_of ? `#${p.duplicate_of}` : null),
        ),
        WORKS_ISSUES.includes(role) ? this.statusForm() : null,
        WORKS_ISSUES.includes(role) ? this.rerouteForm() : null,
        MODERATES.includes(role) ? this.moderationForm() : null,
        h('h3', {}, t('issue.history')),
        historyList(entries),
      ),
    );
  }

  statusForm() {
    const issue = this.issue;
    const status = issue.properties.status;
    const steps = nextSteps(status);
    const heading = h('h3', { id: 'status-form-title' }, t('action.title'));
    if (!steps.length) {
      return h('section', { class: 'action' }, heading, h('p', { class: 'muted' }, t('action.none', { status: statusName(status) })));
    }
    const error = h('p', { class: 'form-error', role: 'alert', id: 'status-error', hidden: true });
    const duplicate = h(
      'div',
      { class: 'field', id: 'duplicate-field', hidden: true },
      h('label', { for: 'duplicate-of' }, t('action.duplicate_of')),
      h('p', { class: 'hint', id: 'duplicate-hint' }, t('action.pick_on_map')),
      h('input', { type: 'number', id: 'duplicate-of', name: 'duplicate_of', min: 1, step: 1, inputmode: 'numeric', 'aria-describedby': 'duplicate-hint' }),
    );
    const form = h(
      'form',
      { class: 'action', id: 'status-form', 'aria-labelledby': 'status-form-title', novalidate: true },
      heading,
      h(
        'fieldset',
        {},
        h('legend', {}, t('action.to')),
        h(
          'div',
          { class: 'choices' },
          steps.map((step) => h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'status', value: step.to }), statusBadge(step.to))),
        ),
      ),
      duplicate,
      textField('status-note', 'note', t('action.note'), { hint: t('action.note_hint') }),
      textField('status-internal', 'internal_note', t('action.internal_note'), { hint: t('action.internal_hint') }),
      error,
      h('button', { type: 'submit', class: 'primary' }, t('action.submit')),
    );
    form.addEventListener('change', () => {
      const chosen = form.elements.status.value;
      duplicate.hidden = chosen !== 'duplicate';
      this.picking = chosen === 'duplicate';
      this.mapEl.classList.toggle('picking', this.picking);
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const to = form.elements.status.value;
      if (!to) {
        error.textContent = t('action.choose');
        error.hidden = false;
        return;
      }
      const body = { status: to, note: value(form, 'note'), internal_note: value(form, 'internal_note') };
      if (to === 'duplicate') {
        const target = Number(value(form, 'duplicate_of'));
        if (target) body.duplicate_of = target;
      }
      submitting(form, error, async () => {
        await api.addEvent(issue.id, body);
        await this.changed(t('issue.status_changed', { id: issue.id, status: statusName(to) }));
      });
    });
    return form;
  }

  rerouteForm() {
    const issue = this.issue;
    const current = issue.properties.assigned_department;
    const error = h('p', { class: 'form-error', role: 'alert', id: 'reroute-error', hidden: true });
    const form = h(
      'form',
      { class: 'action', id: 'reroute-form', 'aria-labelledby': 'reroute-title', novalidate: true },
      h('h3', { id: 'reroute-title' }, t('reroute.title')),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'reroute-department' }, t('reroute.department')),
        h(
          'select',
          { id: 'reroute-department', name: 'department' },
          h('option', { value: '' }, t('reroute.choose')),
          this.departments.filter((d) => d.code !== current).map((d) => h('option', { value: d.code }, categoryName(d))),
        ),
      ),
      textField('reroute-note', 'note', t('reroute.note'), { hint: t('reroute.note_hint') }),
      error,
      h('button', { type: 'submit' }, t('reroute.submit')),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const department = form.elements.department.value;
      if (!department) {
        error.textContent = t('reroute.choose');
        error.hidden = false;
        return;
      }
      submitting(form, error, async () => {
        await api.addEvent(issue.id, { department, note: value(form, 'note') });
        await this.changed(t('reroute.done', { id: issue.id, department: this.departmentName(department) }));
      });
    });
    return form;
  }

  moderationForm() {
    const issue = this.issue;
    const hidden = Boolean(issue.properties.hidden);
    const actions = [hidden ? 'unhide' : 'hide', 'redact'];
    const error = h('p', { class: 'form-error', role: 'alert', id: 'moderation-error', hidden: true });
    const description = h(
      'div',
      { class: 'field', hidden: true, id: 'redact-field' },
      h('label', { for: 'redact-description' }, t('moderation.description')),
      h('textarea', { id: 'redact-description', name: 'description', rows: 4, maxlength: 4000 }, issue.properties.description),
    );
    const form = h(
      'form',
      { class: 'action', id: 'moderation-form', 'aria-labelledby': 'moderation-title', novalidate: true },
      h('h3', { id: 'moderation-title' }, t('moderation.title')),
      h(
        'fieldset',
        {},
        h('legend', { class: 'visually-hidden' }, t('moderation.title')),
        h(
          'div',
          { class: 'choices' },
          actions.map((action) => h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'action', value: action }), t(MODERATION[action].label))),
        ),
      ),
      description,
      textField('moderation-reason', 'reason', t('moderation.reason'), { hint: t('moderation.reason_hint'), rows: 2 }),
      error,
      h('button', { type: 'submit' }, t('moderation.submit')),
    );
    form.addEventListener('change', () => {
      description.hidden = form.elements.action.value !== 'redact';
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const action = form.elements.action.value;
      if (!action) {
        error.textContent = t('moderation.choose');
        error.hidden = false;
        return;
      }
      const body = { action, reason: form.elements.reason.value };
      if (action === 'redact') body.description = form.elements.description.value;
      submitting(form, error, async () => {
        await api.moderate(issue.id, body);
        await this.changed(t(MODERATION[action].done, { id: issue.id }));
      });
    });
    return form;
  }
}
