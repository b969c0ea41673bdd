// The interface strings: English, Russian and Kazakh have the same keys and
// the same placeholders, every key the code asks for exists, and none is dead.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LANGS, STRINGS } from '../src/i18n.js';
import { API_ERROR_CODES } from '../src/strings/followup.js';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = [
  ...readdirSync(join(web, 'src')).filter((f) => f.endsWith('.js') && f !== 'i18n.js').map((f) => readFileSync(join(web, 'src', f), 'utf8')),
  readFileSync(join(web, 'index.html'), 'utf8'),
  readFileSync(join(web, 'planner.html'), 'utf8'),
  readFileSync(join(web, 'staff.html'), 'utf8'),
].join('\n');

/** Keys built at run time from these families (`t(\`status.${s}\`)`…). */
const FAMILIES = {
  status: ['open', 'acknowledged', 'in_progress', 'resolved', 'closed', 'rejected', 'duplicate'],
  group: ['roads', 'lighting', 'cleanliness', 'accessibility', 'green', 'mobility', 'water', 'winter', 'facilities', 'other'],
  layer: ['issues', 'districts', 'public_spaces', 'green_corridors', 'bike_routes'],
  lang: LANGS,
  role: ['resident', 'moderator', 'staff', 'planner', 'admin', 'integration'],
  // errorText's texts for the API's error codes.
  apierror: API_ERROR_CODES,
};

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('English, Russian and Kazakh have the same keys and placeholders, none empty', () => {
  const english = Object.keys(STRINGS.en).sort();
  for (const lang of LANGS) {
    assert.deepEqual(Object.keys(STRINGS[lang]).sort(), english, `${lang} has the same keys as en`);
    for (const [key, text] of Object.entries(STRINGS[lang])) {
      assert.ok(text.trim(), `${lang} ${key} is not empty`);
      assert.deepEqual(placeholders(text), placeholders(STRINGS.en[key]), `${lang} ${key} has en's placeholders`);
    }
  }
});

test('every key the pages use exists, and every string is used', () => {
  // Asked for by name: t('key') and data-i18n="key" must exist.
  const asked = new Set();
  for (const m of sources.matchAll(/\bt\('([\w.]+)'/g)) asked.add(m[1]);
  for (const m of sources.matchAll(/data-i18n="([a-z_]+\.[\w.]+)"/g)) asked.add(m[1]);
  for (const m of sources.matchAll(/'data-i18n': '([\w.]+)'/g)) asked.add(m[1]);
  for (const key of asked) assert.ok(key in STRINGS.en, `the code uses ${key}, which has no string`);
  // Used at all: any quoted mention (keys are also passed around as arguments) or an attribute mapping.
  const used = new Set(asked);
  for (const m of sources.matchAll(/['"`:]([a-z_]+\.[a-z_]+)\b/g)) used.add(m[1]);
  for (const [family, members] of Object.entries(FAMILIES)) for (const member of members) used.add(`${family}.${member}`);
  const dead = Object.keys(STRINGS.en).filter((key) => !used.has(key));
  assert.deepEqual(dead, [], 'strings no code uses');
});
