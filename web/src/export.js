// "Export the current selection": the features come from the paged issues
// API (every page), so the file holds exactly the issues the planner shows.

import { download } from './dom.js';

export function featureCollection(features) {
  return { type: 'FeatureCollection', features };
}

const CSV_COLUMNS = ['id', 'category', 'status', 'district', 'created_at', 'updated_at', 'lon', 'lat', 'address', 'description'];

/**
 * One CSV cell. Quoted per RFC 4180; a leading = + - @ gets a quote mark so a
 * spreadsheet shows the text instead of running it as a formula.
 */
function cell(value) {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The selection as CSV, one issue a row, WGS84 lon/lat columns. */
export function toCsv(features) {
  const rows = [CSV_COLUMNS.join(',')];
  for (const f of features) {
    const p = f.properties;
    const [lon, lat] = f.geometry?.coordinates ?? [];
    const record = { ...p, id: f.id, lon, lat };
    rows.push(CSV_COLUMNS.map((c) => cell(record[c])).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}

/** A file name that says what is in it: qala-issues[-district][-filters]-YYYY-MM-DD. */
export function exportName(districtSlug, extension) {
  const today = new Date().toISOString().slice(0, 10);
  return ['qala-issues', districtSlug, today].filter(Boolean).join('-') + `.${extension}`;
}

export function downloadGeoJson(features, name) {
  download(name, JSON.stringify(featureCollection(features)), 'application/geo+json');
}

export function downloadCsv(features, name) {
  // A byte-order mark so spreadsheet programs read the Cyrillic text as UTF-8.
  download(name, `\uFEFF${toCsv(features)}`, 'text/csv;charset=utf-8');
}
