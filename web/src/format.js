// Dates and numbers as the reader writes them, in the city's time zone: the
// one place every view (resident, planner, staff) formats them, so a day
// means the same in the planner's filter, its table and an issue's panel.
//
// Kazakh needs care: Chromium ships without Kazakh formatting data yet says
// it has it (`supportedLocalesOf(['kk'])` is `['kk']`, `resolvedOptions()`
// says `kk`), and then writes "2026 M03 23" and "5,000". So besides asking
// Intl, a language's data is checked by formatting a known month and
// number; without data Kazakh is written here by CLDR's patterns
// ("2026 ж. 23 нау.", "5 000").

import { lang } from './i18n.js';

/**
 * The city's IANA time zone: the server writes its `--time-zone` into each
 * page's `<meta name="qala-time-zone">`; Almaty's when a page has none.
 */
export const CITY_TIME_ZONE = (typeof document !== 'undefined' && document.querySelector('meta[name="qala-time-zone"]')?.content.trim()) || 'Asia/Almaty';

/** CLDR's abbreviated Kazakh month names (format context). */
const KK_MONTHS = ['қаң.', 'ақп.', 'нау.', 'сәу.', 'мам.', 'мау.', 'шіл.', 'там.', 'қыр.', 'қаз.', 'қар.', 'жел.'];

const hasData = new Map();

/**
 * Whether the browser really formats `code`: it says it supports it, and a
 * March date's month is not the root locale's "M03" and 5000 is not written
 * with the English comma (which no language here uses).
 */
export function hasLocaleData(code) {
  if (!hasData.has(code)) {
    let ok = false;
    try {
      const supported = Intl.DateTimeFormat.supportedLocalesOf([code]).length > 0;
      const resolved = new Intl.DateTimeFormat(code).resolvedOptions().locale.split('-')[0] === code;
      const month = new Intl.DateTimeFormat(code, { month: 'short', timeZone: 'UTC' }).format(Date.UTC(2026, 2, 15));
      const number = new Intl.NumberFormat(code).format(5000);
      ok = supported && resolved && !/^M?0?3$/.test(month) && (code === 'en' || !number.includes(','));
    } catch {
      ok = false;
    }
    hasData.set(code, ok);
  }
  return hasData.get(code);
}

/** The numeric parts of an instant as a wall clock in `timeZone`. */
function wallClock(date, timeZone) {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(date);
  const get = (type) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

const pad = (n) => String(n).padStart(2, '0');

/** Kazakh by CLDR's medium patterns: "y 'ж'. dd MMM" and "HH:mm", joined by ", ". */
function kazakhDate(date, withTime, timeZone) {
  const c = wallClock(date, timeZone);
  const day = `${c.year} ж. ${pad(c.day)} ${KK_MONTHS[c.month - 1]}`;
  return withTime ? `${day}, ${pad(c.hour)}:${pad(c.minute)}` : day;
}

/**
 * A date as the reader writes it. An instant (ISO timestamp) is shown on
 * the city's clock, whatever the browser's zone; a calendar day
 * (YYYY-MM-DD) is that day.
 */
export function formatDate(iso, withTime = false) {
  if (!iso) return '';
  const isDay = /^\d{4}-\d{2}-\d{2}$/.test(iso);
  const date = new Date(isDay ? `${iso}T00:00:00Z` : iso);
  if (Number.isNaN(date.getTime())) return iso;
  const timeZone = isDay ? 'UTC' : CITY_TIME_ZONE;
  const code = lang();
  if (code === 'kk' && !hasLocaleData('kk')) return kazakhDate(date, withTime && !isDay, timeZone);
  const options = withTime && !isDay ? { dateStyle: 'medium', timeStyle: 'short', timeZone } : { dateStyle: 'medium', timeZone };
  try {
    return new Intl.DateTimeFormat(code, options).format(date);
  } catch {
    return new Intl.DateTimeFormat('en', options).format(date);
  }
}

/**
 * A number as the reader writes it. Kazakh without data is written as
 * Russian is: the same CLDR digits, no-break-space groups and decimal comma.
 */
export function formatNumber(n) {
  const code = lang();
  if (code === 'kk' && !hasLocaleData('kk')) {
    if (hasLocaleData('ru')) return new Intl.NumberFormat('ru').format(n);
    const [whole, fraction] = String(n).split('.');
    return whole.replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0') + (fraction ? `,${fraction}` : '');
  }
  return new Intl.NumberFormat(code).format(n);
}

/** The city's calendar day (YYYY-MM-DD) of an instant. */
export function cityDay(iso) {
  const c = wallClock(new Date(iso), CITY_TIME_ZONE);
  return `${c.year}-${pad(c.month)}-${pad(c.day)}`;
}

/**
 * The instant (RFC 3339, UTC) the city's day `day` (YYYY-MM-DD) begins, or
 * the next day's with `after`: the planner's `since` and `until` bounds.
 */
export function cityDayStart(day, { after = false } = {}) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day ?? '')) return '';
  const [y, m, d] = day.split('-').map(Number);
  const midnight = Date.UTC(y, m - 1, d + (after ? 1 : 0));
  // The zone's offset at a guess, then at the answer (in case a clock change lies between).
  const offset = (at) => {
    const c = wallClock(new Date(at), CITY_TIME_ZONE);
    return Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second) - at;
  };
  let start = midnight - offset(midnight);
  start = midnight - offset(start);
  return new Date(start).toISOString().replace('.000Z', 'Z');
}
