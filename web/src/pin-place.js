// Where a report's pin is, in words: "near Abay Avenue, Almaly" from
// `GET /api/v1/reverse`, asked once the pin has rested for a moment, in the
// interface language. The coordinates stay beside it for the precise.

import { h } from './dom.js';
import { t } from './i18n.js';
import { reverseLookup } from './search.js';

/** A moved pin waits this long before it is named (dragging sends nothing). */
const DEBOUNCE_MS = 300;

export class PinPlace {
  constructor() {
    this.answer = null;
    this.timer = null;
    this.controller = null;
  }

  /** Forgets the old name and asks for the one at `lngLat`; `onAnswer` redraws. */
  lookup(lngLat, onAnswer) {
    this.cancel();
    this.answer = null;
    if (!lngLat) return;
    this.timer = setTimeout(async () => {
      const controller = new AbortController();
      this.controller = controller;
      try {
        const answer = await reverseLookup(lngLat.lng, lngLat.lat, { signal: controller.signal });
        if (controller.signal.aborted) return;
        this.answer = answer;
        onAnswer();
      } catch {
        // Unnamed, the pin still shows its coordinates: nothing is lost.
      }
    }, DEBOUNCE_MS);
  }

  cancel() {
    clearTimeout(this.timer);
    this.controller?.abort();
    this.controller = null;
  }

  /** "near X, District", "near X", "in District", "outside…", or null while unknown. */
  words() {
    const a = this.answer;
    if (!a) return null;
    const place = a.nearest?.name;
    const district = a.district?.name;
    if (place && district) return t('place.near_in', { place, district });
    if (place) return t('place.near', { place });
    if (district) return t('place.in', { district });
    if (a.outside_city) return t('place.outside');
    return null;
  }

  /** Fills the pin's status line: the words and the coordinates, or `fallback` alone. */
  render(el, lngLat, fallback) {
    const where = lngLat && this.words();
    if (!where) {
      el.textContent = fallback;
      return;
    }
    el.replaceChildren(
      h('span', { class: 'pin-place' }, t('report.pin_near', { where })),
      ' ',
      h('span', { class: 'pin-coords' }, `${lngLat.lat.toFixed(5)}, ${lngLat.lng.toFixed(5)}`),
    );
  }
}
