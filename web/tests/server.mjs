// Starts the real `qala` release binary for the browser tests: a fresh
// temporary SQLite database, the demo city, a free port read from stdout.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The binary under test: $QALA_BIN, else the workspace's release build. */
export const QALA_BIN = process.env.QALA_BIN ? resolve(process.env.QALA_BIN) : join(web, '..', 'target', 'release', 'qala');

/** `args`: more `qala serve` flags (the basemap test's `--basemap FILE`). */
export async function startServer({ timeoutMs = 180_000, args = [] } = {}) {
  // While working on the client: test a server that is already running
  // (say, a debug build that reads web/ from disk). It must have the demo data.
  // $QALA_TEST_DATABASE names its database for the tests that use the
  // command line (`qala user add`); without it they skip.
  if (process.env.QALA_TEST_URL) {
    return { url: process.env.QALA_TEST_URL.replace(/\/$/, ''), database: process.env.QALA_TEST_DATABASE ?? null, async stop() {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'qala-web-'));
  const database = `sqlite://${join(dir, 'qala.db')}`;
  const child = spawn(QALA_BIN, ['--database', database, 'serve', '--demo', '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, QALA_LOG: process.env.QALA_LOG ?? 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (process.env.QALA_TEST_VERBOSE) process.stderr.write(chunk);
  });

  const url = await new Promise((resolveUrl, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`qala did not start within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /qala listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1].replace(/\/$/, ''));
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${QALA_BIN}: ${error.message}`));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`qala exited with ${code} before listening\n${stderr}`));
    });
  });

  return {
    url,
    database,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** GET a JSON document from the server under test. */
export async function getJson(base, path) {
  const response = await fetch(new URL(path, base));
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Runs `qala --database DATABASE ARGS…` (say, `user add`) and resolves to its stdout. */
export function qala(database, ...args) {
  return qalaWithInput(database, null, ...args);
}

/** `qala` with `input` on its standard input (`user password` reads the password there). */
export function qalaWithInput(database, input, ...args) {
  return new Promise((resolveRun, reject) => {
    const child = execFile(QALA_BIN, ['--database', database, ...args], { env: { ...process.env, QALA_LOG: 'warn' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`qala ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolveRun(stdout);
    });
    child.stdin.end(input ?? '');
  });
}

/** The tests that make users with the command line need the server's database: skip them without it. */
export const NEEDS_DATABASE = process.env.QALA_TEST_URL && !process.env.QALA_TEST_DATABASE ? 'needs QALA_TEST_DATABASE' : false;

let users = 0;

/**
 * A user made with the real command line on the server's database
 * (`qala user add`, then `qala user password`): resolves to `{email,
 * password}`. A new address each time, for a server that outlives one run.
 */
export async function makeUser(server, role, { department, district } = {}) {
  users += 1;
  const email = `${role}-${Date.now()}-${users}@example.kz`;
  const password = `a long test password ${users}`;
  const args = ['user', 'add', email, '--role', role];
  if (department) args.push('--department', department);
  if (district) args.push('--district', String(district));
  await qala(server.database, ...args);
  await qalaWithInput(server.database, `${password}\n`, 'user', 'password', email);
  return { email, password };
}

/** A JSON request to the server under test as `token`'s user (anonymous without); resolves to `{status, body}`. */
export async function send(base, path, { method = 'GET', token, body, headers = {} } = {}) {
  const response = await fetch(new URL(path, base), {
    method,
    headers: {
      accept: 'application/json',
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** A resident's report through the API (a pothole, unless told otherwise); resolves to the created feature. */
export async function report(base, { lon = 76.9455, lat = 43.2575, category = 'pothole', description }) {
  const created = await send(base, '/api/v1/issues', {
    method: 'POST',
    headers: { 'idempotency-key': `web-test-${Date.now()}-${Math.random()}` },
    body: { type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { category, description } },
  });
  if (created.status !== 201) throw new Error(`report: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body;
}
