// The staff view's copy of the status workflow (web/src/workflow.js) is the
// server's table (geodata's TRANSITIONS), read from its source: a new or
// changed transition fails here until the client offers it too.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TRANSITIONS, nextSteps } from '../src/workflow.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `InProgress` → `in_progress`, `DuplicateTarget` → `duplicate_target`. */
const snake = (name) => name.replace(/(?<!^)([A-Z])/g, '_$1').toLowerCase();

test('the client offers exactly the transitions geodata allows', () => {
  const source = readFileSync(join(root, 'geodata', 'src', 'workflow', 'mod.rs'), 'utf8');
  const table = /pub const TRANSITIONS[^=]*=\s*\[([\s\S]*?)\];/.exec(source);
  assert.ok(table, 'TRANSITIONS is found in geodata/src/workflow/mod.rs');
  const server = [...table[1].matchAll(/\((\w+),\s*(\w+),\s*Requirement::(\w+)\)/g)].map((m) => [snake(m[1]), snake(m[2]), snake(m[3])]);
  assert.ok(server.length >= 10, `the source scan found the table: ${JSON.stringify(server)}`);
  assert.deepEqual([...TRANSITIONS].sort(), server.sort());
});

test('next steps follow the table', () => {
  assert.deepEqual(nextSteps('open').map((s) => s.to), ['acknowledged', 'rejected', 'duplicate']);
  assert.deepEqual(nextSteps('closed'), []);
  assert.deepEqual(nextSteps('resolved').find((s) => s.to === 'open'), { to: 'open', requires: 'reopen_window' });
});
