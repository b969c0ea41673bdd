// "Report a problem": place a pin (tap, device location or map centre),
// choose a category, see same-category reports within 50 m (so a resident
// can open one instead of filing a duplicate), describe, send.

import * as api from './api.js';
import { announce, h } from './dom.js';
import { districtAt, loadDistricts } from './districts.js';
import { formatNumber } from './format.js';
import { categoryName, errorField, errorText, lang, onLang, t } from './i18n.js';
import { maplibregl } from './map.js';
import { statusBadge } from './issue-panel.js';
import { PinPlace } from './pin-place.js';

const MAX_DESCRIPTION = 4000;
/** The server's limits on photos: checked here first so a resident hears at once. */
const MAX_PHOTOS = 3;
const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
const DUPLICATE_RADIUS_M = 50;
/** Placing a pin below this zoom zooms in, so the pin can be put on the right spot. */
const PLACING_ZOOM = 16;

/** One colour per category group: the same colour marks the group in the form and the planner. */
export const GROUP_COLOURS = {
  roads: '#8d6e63',
  lighting: '#e0a800',
  cleanliness: '#7b4fa6',
  accessibility: '#1565c0',
  green: '#2e7d32',
  mobility: '#00838f',
  water: '#0277bd',
  winter: '#5c6bc0',
  facilities: '#c2185b',
  other: '#757575',
};

/** Categories grouped in catalogue order: [[group, [category…]]…]. */
export function groupCategories(categories) {
  const groups = new Map();
  for (const category of categories) {
    if (!groups.has(category.group)) groups.set(category.group, []);
    groups.get(category.group).push(category);
  }
  return [...groups];
}

export class Reporter {
  constructor({ map, panel, categories, issuePanel, onCreated }) {
    this.map = map;
    this.panel = panel;
    this.categories = categories;
    this.issuePanel = issuePanel;
    this.onCreated = onCreated;
    this.marker = null;
    this.lngLat = null;
    this.form = null;
    this.lastSubmission = null;
    /** Photo ids the server gave, per chosen file: a retry does not send a file twice. */
    this.uploaded = new Map();
    this.nearbyRequest = 0;
    /** The pin in words ("near …, <district>"), asked of the server. */
    this.pinPlace = new PinPlace();
    onLang(() => this.relabel());
  }

  get active() {
    return this.panel.isOpenFor('report');
  }

  start() {
    // A new form: the last one's refusals are not its own.
    this.errorTexts = new Map();
    this.form = this.buildForm();
    this.panel.open({ title: t('report.title'), content: this.form, owner: 'report', onClose: () => this.stop() });
    this.map.getCanvas().classList.add('placing');
    document.body.classList.add('reporting');
    this.relabel();
    // For the "outside the city" check when the pin is placed.
    loadDistricts();
  }

  /** Cleans up when the panel closes: the pin goes, the map stops placing. */
  stop() {
    this.marker?.remove();
    this.marker = null;
    this.lngLat = null;
    this.form = null;
    this.pinPlace.cancel();
    this.nearbyRequest++;
    this.map.getCanvas().classList.remove('placing');
    document.body.classList.remove('reporting');
  }

  /** A map click while reporting places the pin; returns whether it was used. */
  handleMapClick(lngLat) {
    if (!this.active) return false;
    this.placePin(lngLat);
    return true;
  }

  placePin(lngLat, { zoom = true } = {}) {
    this.lngLat = maplibregl.LngLat.convert(lngLat);
    if (!this.marker) {
      this.marker = new maplibregl.Marker({ draggable: true, color: '#1d4ed8' }).setLngLat(this.lngLat).addTo(this.map);
      const el = this.marker.getElement();
      el.classList.add('report-pin');
      el.setAttribute('aria-label', t('report.location'));
      this.marker.on('dragend', () => {
        this.lngLat = this.marker.getLngLat();
        this.pinMoved();
      });
    } else {
      this.marker.setLngLat(this.lngLat);
    }
    if (zoom && this.map.getZoom() < PLACING_ZOOM - 1) {
      this.map.easeTo({ center: this.lngLat, zoom: PLACING_ZOOM });
    }
    this.pinMoved();
  }

  pinMoved() {
    this.showPin({ lookup: true });
    this.form.dataset.pinned = 'true';
    this.checkOutside();
    this.checkNearby();
  }

  /** The pin's status line; `lookup` asks the server to name the new place. */
  showPin({ lookup = false } = {}) {
    const el = this.form?.querySelector('#pin-status');
    if (!el) return;
    this.pinPlace.render(el, this.lngLat, this.pinText());
    if (lookup) this.pinPlace.lookup(this.lngLat, () => this.showPin());
  }

  /**
   * Says at once, next to the location, that a pin outside every district
   * would be refused (the server's `outside_city`), rather than only at
   * Send. Without the districts (not loaded yet, or failed) it says
   * nothing and the server decides; it is asked again once they are in.
   */
  checkOutside() {
    const lngLat = this.lngLat;
    const verdict = lngLat ? districtAt([lngLat.lng, lngLat.lat]) : undefined;
    if (verdict === undefined && lngLat) {
      loadDistricts().then(() => {
        if (this.form && this.lngLat === lngLat && districtAt([lngLat.lng, lngLat.lat]) !== undefined) this.checkOutside();
      });
    }
    const outside = verdict === null;
    // Heard as well as seen: the pin's status is read out, its error would not be.
    if (outside && this.form?.dataset.outside !== 'true') announce(t('apierror.outside_city'));
    if (this.form) this.form.dataset.outside = String(outside);
    this.setFieldError('geometry', outside ? () => t('apierror.outside_city') : null);
  }

  pinText() {
    if (!this.lngLat) return t('report.place');
    return t('report.pin_placed', { lat: this.lngLat.lat.toFixed(5), lon: this.lngLat.lng.toFixed(5) });
  }

  useLocation() {
    const status = this.form.querySelector('#pin-status');
    status.textContent = t('report.locating');
    navigator.geolocation.getCurrentPosition(
      (position) => {
        if (!this.form) return;
        this.placePin([position.coords.longitude, position.coords.latitude]);
        this.map.easeTo({ center: this.lngLat, zoom: Math.max(this.map.getZoom(), PLACING_ZOOM) });
      },
      (error) => {
        if (!this.form) return;
        status.textContent = t('report.location_failed', { reason: error.message || error.code });
      },
      { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 },
    );
  }

  buildForm() {
    const field = (id, labelKey, control, hintKey) =>
      h(
        'div',
        { class: 'field' },
        h('label', { for: id, 'data-i18n': labelKey }, t(labelKey)),
        hintKey ? h('p', { class: 'hint', id: `${id}-hint`, 'data-i18n': hintKey }, t(hintKey)) : null,
        control,
        h('p', { class: 'field-error', id: `${id}-error`, hidden: true }),
      );

    const groups = groupCategories(this.categories).map(([group, categories]) =>
      h(
        'div',
        { class: 'category-group', role: 'group', 'aria-labelledby': `group-${group}`, style: { '--group-colour': GROUP_COLOURS[group] ?? '#757575' } },
        h('p', { class: 'group-name', id: `group-${group}`, 'data-i18n': `group.${group}` }, t(`group.${group}`)),
        categories.map((category) =>
          h(
            'label',
            { class: 'category-choice' },
            h('input', { type: 'radio', name: 'category', value: category.code, required: true }),
            h('span', { class: 'category-name', 'data-category': category.code }, categoryName(category)),
          ),
        ),
      ),
    );

    const description = h('textarea', {
      id: 'description',
      name: 'description',
      rows: 4,
      maxlength: MAX_DESCRIPTION,
      required: true,
      'aria-describedby': 'description-hint description-count description-error',
    });
    const count = h('p', { class: 'hint', id: 'description-count', 'aria-live': 'off' });
    const updateCount = () => {
      count.textContent = t('report.chars_left', { n: formatNumber(MAX_DESCRIPTION - description.value.length) });
    };
    description.addEventListener('input', updateCount);

    const form = h(
      'form',
      { id: 'report-form', class: 'report-form', novalidate: true },
      h(
        'fieldset',
        { class: 'location', 'aria-describedby': 'pin-status geometry-error' },
        h('legend', { 'data-i18n': 'report.location' }, t('report.location')),
        h('p', { id: 'pin-status', class: 'pin-status', 'aria-live': 'polite' }, this.pinText()),
        h(
          'div',
          { class: 'button-row' },
          'geolocation' in navigator
            ? h('button', { type: 'button', class: 'secondary', id: 'use-location', 'data-i18n': 'report.use_location', onclick: () => this.useLocation() }, t('report.use_location'))
            : null,
          h('button', { type: 'button', class: 'secondary', id: 'use-centre', 'data-i18n': 'report.use_centre', 'aria-describedby': 'use-centre-hint', onclick: () => this.placePin(this.map.getCenter()) }, t('report.use_centre')),
        ),
        h('p', { class: 'hint', id: 'use-centre-hint', 'data-i18n': 'report.centre_hint' }, t('report.centre_hint')),
        h('p', { class: 'field-error', id: 'geometry-error', hidden: true }),
      ),
      h(
        'fieldset',
        { class: 'categories', 'aria-describedby': 'category-error' },
        h('legend', { 'data-i18n': 'report.category' }, t('report.category')),
        h('div', { class: 'category-groups' }, groups),
        h('p', { class: 'field-error', id: 'category-error', hidden: true }),
      ),
      h('section', { id: 'nearby', class: 'nearby', 'aria-live': 'polite', hidden: true }),
      field('description', 'report.description', [description, count], 'report.description_hint'),
      field('address', 'report.address', h('input', { id: 'address', name: 'address', type: 'text', autocomplete: 'street-address', maxlength: 500, 'aria-describedby': 'address-error' })),
      field('photos', 'report.photos', [this.photoInput(), h('div', { class: 'photo-previews', id: 'photo-previews' })], 'report.photos_hint'),
      field(
        'email',
        'report.email',
        h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'email', inputmode: 'email', 'aria-describedby': 'email-hint email-error' }),
        'report.email_hint',
      ),
      h('p', { class: 'form-error', id: 'form-error', role: 'alert', hidden: true }),
      h(
        'div',
        { class: 'button-row actions' },
        h('button', { type: 'submit', class: 'primary', id: 'report-submit', 'data-i18n': 'report.submit' }, t('report.submit')),
        h('button', { type: 'button', class: 'secondary', 'data-i18n': 'report.cancel', onclick: () => this.panel.close() }, t('report.cancel')),
      ),
    );
    form.addEventListener('change', (event) => {
      if (event.target.name === 'category') {
        this.setFieldError('category', null);
        this.checkNearby();
      }
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    updateCount();
    this.updateCount = updateCount;
    return form;
  }

  /** The photo picker: a phone offers its camera (`capture`), a desk its files. */
  photoInput() {
    const input = h('input', { id: 'photos', name: 'photos', type: 'file', accept: 'image/*', capture: 'environment', multiple: true, 'aria-describedby': 'photos-hint photos-error' });
    input.addEventListener('change', () => {
      this.setFieldError('photos', this.photoProblem());
      const previews = this.form.querySelector('#photo-previews');
      for (const img of previews.querySelectorAll('img')) URL.revokeObjectURL(img.src);
      previews.replaceChildren(
        ...[...input.files].slice(0, MAX_PHOTOS).map((file, i) => h('img', { src: URL.createObjectURL(file), alt: t('report.photo_alt', { n: i + 1 }), class: 'photo-preview' })),
      );
    });
    return input;
  }

  chosenPhotos() {
    return [...(this.form?.querySelector('#photos')?.files ?? [])];
  }

  photoProblem() {
    const files = this.chosenPhotos();
    if (files.length > MAX_PHOTOS) return t('report.too_many_photos');
    if (files.some((file) => file.size > MAX_PHOTO_BYTES)) return t('report.photo_too_big');
    return null;
  }

  /** Sends the chosen photos that are not sent yet; their ids, in order. */
  async uploadPhotos(status) {
    const files = this.chosenPhotos();
    const ids = [];
    for (const [i, file] of files.entries()) {
      status.textContent = t('report.photos_uploading', { n: i + 1, total: files.length });
      if (!this.uploaded.has(file)) this.uploaded.set(file, (await api.uploadPhoto(file)).id);
      ids.push(this.uploaded.get(file));
    }
    return ids;
  }

  /** Text that is built rather than marked up follows a language switch here. */
  relabel() {
    if (!this.form) return;
    this.panel.setTitle(t('report.title'));
    for (const span of this.form.querySelectorAll('[data-category]')) {
      span.textContent = categoryName(this.categories.find((c) => c.code === span.dataset.category));
    }
    // The server names the place in the interface language: ask again.
    this.showPin({ lookup: true });
    this.marker?.getElement().setAttribute('aria-label', t('report.location'));
    this.updateCount();
    if (this.nearbyResult) this.renderNearby(this.nearbyResult);
    for (const [id, text] of this.errorTexts ?? []) this.setFieldError(id, text);
  }

  selectedCategory() {
    return this.form?.querySelector('input[name="category"]:checked')?.value ?? null;
  }

  /** The duplicate hint: same category, within 50 m of the pin, nearest first. */
  async checkNearby() {
    const section = this.form?.querySelector('#nearby');
    const category = this.selectedCategory();
    if (!section) return;
    if (!this.lngLat || !category) {
      section.hidden = true;
      this.nearbyResult = null;
      return;
    }
    const request = ++this.nearbyRequest;
    section.hidden = false;
    section.dataset.state = 'loading';
    section.replaceChildren(h('p', { class: 'muted' }, t('report.nearby_checking')));
    let result;
    try {
      result = await api.nearby({ lon: this.lngLat.lng, lat: this.lngLat.lat, radius: DUPLICATE_RADIUS_M, category, limit: 5 });
    } catch {
      // The hint is a help, not a gate: without it the report can still be sent.
      if (request === this.nearbyRequest) section.hidden = true;
      return;
    }
    // A later pin move or category change has asked again; its answer wins.
    if (request !== this.nearbyRequest || !this.form) return;
    this.nearbyResult = result;
    this.renderNearby(result);
  }

  renderNearby(result) {
    const section = this.form.querySelector('#nearby');
    section.dataset.state = result.features.length ? 'found' : 'none';
    if (!result.features.length) {
      section.replaceChildren(h('p', { class: 'muted' }, t('report.nearby_none')));
      return;
    }
    section.replaceChildren(
      h('h3', {}, t('report.nearby_title')),
      h('p', { class: 'hint' }, t('report.nearby_intro')),
      h(
        'ul',
        { class: 'nearby-list' },
        result.features.map((feature) =>
          h(
            'li',
            { 'data-issue-id': feature.id },
            h('button', { type: 'button', class: 'link-button', onclick: () => this.issuePanel.show(feature.id, { fly: true }) }, t('report.open_existing', { id: feature.id })),
            ' ',
            statusBadge(feature.properties.status),
            ' ',
            h('span', { class: 'muted' }, t('report.distance', { m: formatNumber(Math.round(feature.properties.distance_m)) })),
            feature.properties.description ? h('p', { class: 'excerpt' }, excerpt(feature.properties.description)) : null,
          ),
        ),
      ),
    );
  }

  /**
   * Shows `message` under the field the API or the form names (or above
   * Send for anything else). A function is asked again on a language
   * switch, so a refusal follows the interface language.
   */
  setFieldError(field, message) {
    const id = { geometry: 'geometry', category: 'category', description: 'description', address: 'address', reporter_email: 'email', email: 'email', photos: 'photos' }[field] ?? 'form';
    const el = this.form?.querySelector(`#${id}-error`);
    if (!el) return;
    const text = typeof message === 'function' ? message() : message;
    this.errorTexts ??= new Map();
    if (typeof message === 'function') this.errorTexts.set(id, message);
    else this.errorTexts.delete(id);
    el.textContent = text ?? '';
    el.hidden = !text;
    const control = this.form.querySelector(`#${id}`);
    if (control && 'setCustomValidity' in control) control.setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  clearErrors() {
    for (const field of ['geometry', 'category', 'description', 'address', 'email', 'photos', 'form']) this.setFieldError(field, null);
  }

  async submit() {
    const form = this.form;
    this.clearErrors();
    if (this.lngLat) this.checkOutside();
    const category = this.selectedCategory();
    const description = form.querySelector('#description').value.trim();
    const problems = [];
    if (!this.lngLat) problems.push(['geometry', () => t('report.no_pin'), '#use-centre']);
    if (!category) problems.push(['category', () => t('report.choose_category'), 'input[name="category"]']);
    if (!description) problems.push(['description', () => t('report.describe'), '#description']);
    if (this.photoProblem()) problems.push(['photos', () => this.photoProblem(), '#photos']);
    if (problems.length) {
      for (const [field, message] of problems) this.setFieldError(field, message);
      form.querySelector(problems[0][2])?.focus();
      return;
    }
    const report = {
      lon: Number(this.lngLat.lng.toFixed(7)),
      lat: Number(this.lngLat.lat.toFixed(7)),
      category,
      description,
      address: form.querySelector('#address').value.trim(),
      email: form.querySelector('#email').value.trim(),
      // Mail about the report comes in the language it was written in.
      lang: lang(),
    };

    const button = form.querySelector('#report-submit');
    button.disabled = true;
    button.textContent = t('report.sending');
    form.setAttribute('aria-busy', 'true');
    let created;
    let step = 'photos';
    try {
      report.photos = await this.uploadPhotos(button);
      button.textContent = t('report.sending');
      step = 'report';
      // Same content, same key: a double click or a retry after a lost
      // answer returns the issue already filed instead of filing it twice.
      const body = JSON.stringify(report);
      if (this.lastSubmission?.body !== body) this.lastSubmission = { body, key: api.randomKey() };
      created = await api.createIssue(report, this.lastSubmission.key);
    } catch (error) {
      if (this.form !== form) return;
      button.disabled = false;
      button.textContent = t('report.submit');
      form.removeAttribute('aria-busy');
      // A refused photo is the photo field's problem, whatever the server named.
      const field = step === 'photos' ? 'photos' : errorField(error);
      this.setFieldError(field ?? 'form', () => errorText(error));
      const focusTarget = { geometry: '#use-centre', category: 'input[name="category"]', description: '#description', address: '#address', reporter_email: '#email', photos: '#photos' }[field];
      form.querySelector(focusTarget ?? '#report-submit')?.focus();
      return;
    }
    this.lastSubmission = null;
    this.uploaded.clear();
    announce(t('report.success_title', { id: created.id }));
    this.onCreated(created, { email: report.email });
  }
}

function excerpt(text, max = 140) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
