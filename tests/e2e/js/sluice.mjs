// Shared by the JavaScript SDK tests: imports the SDK (failing loudly when
// `npm ci` has not run) and starts and stops the real `sluice` binary
// (SLUICE_BIN) on a free loopback port.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const START_DEADLINE_MS = 20_000;
const STOP_DEADLINE_MS = 20_000;
const LISTENING_LINE =
  /^sluice (\S+) listening on http:\/\/127\.0\.0\.1:(\d+) \((in memory|data in .+)\)$/;

// A missing install must fail the test, never pass or skip it.
export async function importPackage(name) {
  try {
    return await import(name);
  } catch (error) {
    throw new Error(
      `cannot import ${name}: tests/e2e/js/node_modules is missing or ` +
        'incomplete. Run the README\'s test command, scripts/test (it runs ' +
        '`npm ci` in tests/e2e/js), or `npm ci` in tests/e2e/js yourself. ' +
        `The import failed with: ${error.message}`,
    );
  }
}

// Rejects after `ms` unless `promise` settles first.
export function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// Starts `sluice serve` in memory on a free loopback port, with `extraArgs`
// (e.g. ['--config', path]) after the defaults.
// Resolves to { child, port, exited, stderr() }.
export async function startSluice(extraArgs = []) {
  const bin = process.env.SLUICE_BIN;
  assert.ok(bin, 'SLUICE_BIN must name the sluice binary (ctest sets it)');
  const args = ['serve', '--host', '127.0.0.1', '--port', '0', '--in-memory', ...extraArgs];
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  // However the test process ends, it takes its server with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  exited.then(() => process.removeListener('exit', killOnExit));
  const lines = createInterface({ input: child.stdout });
  const firstLine = new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('error', reject);
    exited.then(({ code, signal }) =>
      reject(new Error(`sluice exited (${code ?? signal}) before listening: ${stderr}`)),
    );
  });
  let line;
  try {
    line = await withDeadline(firstLine, START_DEADLINE_MS, 'sluice to print its port');
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const match = LISTENING_LINE.exec(line);
  if (!match) child.kill('SIGKILL');
  assert.ok(match, `unexpected first line: ${JSON.stringify(line)}`);
  return { child, port: Number(match[2]), exited, stderr: () => stderr };
}

// Sends SIGTERM and asserts a clean exit (code 0) within the deadline; kills
// the process if it is still there afterwards.
export async function stopSluice(server) {
  if (!server) return;
  server.child.kill('SIGTERM');
  try {
    const { code, signal } = await withDeadline(
      server.exited,
      STOP_DEADLINE_MS,
      'sluice to exit after SIGTERM',
    );
    assert.equal(code, 0, `exit code ${code} signal ${signal}; stderr: ${server.stderr()}`);
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
    }
  }
}
