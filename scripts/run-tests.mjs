#!/usr/bin/env node
// Runs every test file, each in its own process (uvu under tsx), one after another by default, and
// ends with the plain summary line "N passed, N failed". Extra arguments narrow the run, with uvu's own
// meaning (a folder, then a regular expression on file names): `npm test -- test/unit` or
// `npm test -- test/integration radius-proxy`.
//
// - TEST_JOBS (default 1) is how many files run at once. Every file takes its own ports (port 0),
//   temporary directories and processes, so files do not meet; the two native files share the
//   native build and its Wine prefix and never run together (SHARED below). With more than one
//   job, a file's output is printed in one piece when it ends, so two files' lines never
//   interleave; with one it streams as it comes. On the 2-core CI machine TEST_JOBS=2 takes the
//   suite from about 15 to about 10 minutes, but timing-sensitive tests (radius-radsec's RadSec
//   server tests, a Windows pipe logon in the phone-approver test; causes not found) failed in two
//   of five clean-clone runs that way, so it is not the default.
// - A file still running after TEST_FILE_TIMEOUT_MS (default 10 minutes) is stopped, with every
//   process it started (its process group), and counted as failed: a hung file fails the run
//   instead of stalling CI. (The longest file, native-client, builds native/ from scratch in a
//   clean clone and allows that build 10 minutes itself.)
// - A file that printed its summary but keeps running (a handle left open) is stopped 10 s later.
// - uvu exits 0 when a suite's before hook throws and none of its tests run: this script counts
//   those tests as failed, from uvu's Total and Passed lines. Skipped tests fail the run too.
// - Processes a file leaves behind (a FreeRADIUS, a gatehouse) are stopped when it ends.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'uvu/parse';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const uvu = join(root, 'node_modules', 'uvu', 'bin.js');
const [dir = 'test', pattern = '\\.test\\.ts$'] = process.argv.slice(2);
const fileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 10 * 60_000);
const LINGER_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const jobs = Number(process.env.TEST_JOBS ?? 1);
if (!Number.isInteger(jobs) || jobs < 1) {
  process.stderr.write(`TEST_JOBS must be a whole number of files to run at once (1 or more), not ${JSON.stringify(process.env.TEST_JOBS)}\n`);
  process.exit(2);
}
// Files that share something outside their own temporary directory, by name: at most one of each
// group runs at a time. native-client and native-service both use build/native (built by the first
// that needs it) and its Wine prefix.
const SHARED = [/(^|\/)native-[^/]*\.test\.ts$/];
if (!(fileTimeoutMs > 0)) {
  process.stderr.write(`TEST_FILE_TIMEOUT_MS must be a positive number of milliseconds, not ${JSON.stringify(process.env.TEST_FILE_TIMEOUT_MS)}\n`);
  process.exit(2);
}

const say = (line) => process.stdout.write(`${line}\n`);
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// eslint-disable-next-line no-control-regex
const plain = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** Signal a whole process group; false when no process of it is left. */
function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

const running = new Set(); // the running files' processes, stopped when this script is interrupted
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of running) signalGroup(child.pid, 'SIGKILL');
    process.exit(130);
  });
}

/** Run one file in its own process group; resolves with its counts and, on failure, why. */
function runFile(name) {
  const file = join(dir, name);
  // With one job the output streams through; with more it is kept and printed when the file ends.
  const held = [];
  const out = jobs === 1 ? (d) => process.stdout.write(d) : (d) => held.push(d);
  const note = (line) => out(`${line}\n`);
  return new Promise((resolveFile) => {
    const child = spawn(process.execPath, ['--import', 'tsx', uvu, dir, `^${escapeRegExp(name)}$`], { cwd: root, detached: true, stdio: ['ignore', 'pipe', jobs === 1 ? 'inherit' : 'pipe'] });
    running.add(child);
    const done = (result) => {
      if (held.length > 0) process.stdout.write(Buffer.concat(held.map((d) => (typeof d === 'string' ? Buffer.from(d) : d))));
      resolveFile(result);
    };
    child.stderr?.on('data', out);
    let tail = '';
    let stopped; // why this script stopped the file, if it did
    const stop = (why) => {
      if (stopped !== undefined) return;
      stopped = why;
      note(`\n${file}: ${why}: stopping it and every process it started`);
      signalGroup(child.pid, 'SIGTERM');
      setTimeout(() => signalGroup(child.pid, 'SIGKILL'), STOP_GRACE_MS).unref();
    };
    const timeout = setTimeout(() => stop(`TIMEOUT, still running after ${fileTimeoutMs / 1000} s (TEST_FILE_TIMEOUT_MS)`), fileTimeoutMs);
    let linger;
    child.stdout.on('data', (d) => {
      out(d);
      tail = (tail + d.toString()).slice(-4000);
      // uvu prints Duration last, but its process stays alive while a failed test left a socket or
      // timer open: end it after a grace period rather than hang the run.
      if (linger === undefined && /Duration:/.test(tail)) {
        linger = setTimeout(() => stop(`still running ${LINGER_MS / 1000} s after its summary (a handle left open)`), LINGER_MS);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timeout);
      clearTimeout(linger);
      running.delete(child);
      // Whatever the file left running in its group (tsx's esbuild service winding down, or a
      // server a failed test did not stop) must not outlive it.
      signalGroup(child.pid, 'SIGKILL');
      const text = plain(tail);
      const total = Number(/Total:\s+(\d+)/.exec(text)?.[1] ?? NaN);
      const passed = Number(/Passed:\s+(\d+)/.exec(text)?.[1] ?? NaN);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(text)?.[1] ?? 0);
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        const why = stopped ?? `ended without a summary (exit ${code ?? signal})`;
        if (stopped === undefined) note(`\n${file}: ${why}`);
        done({ passed: 0, failed: 1, skipped: 0, why });
        return;
      }
      const failed = total - passed - skipped;
      const ok = code === 0 && failed === 0 && skipped === 0 && total > 0;
      const why = ok ? undefined : (stopped ?? `${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}${total === 0 ? ', no tests' : ''} (exit ${code ?? signal})`);
      // A non-zero exit with every test passed (an error outside any test) still fails the file.
      done({ passed, failed: ok ? 0 : failed > 0 || skipped > 0 ? failed : 1, skipped, why });
    });
  });
}

const { suites } = await parse(resolve(root, dir), pattern);
if (suites.length === 0) {
  say(`no test files under ${dir} match /${pattern}/i`);
  say('0 passed, 0 failed');
  process.exit(1);
}
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
// Each lane takes the next file that no running file shares a group with; files keep their order
// otherwise, and failures are listed in it.
const waiting = suites.map(({ name }, order) => ({ name, order, group: SHARED.findIndex((re) => re.test(name)) }));
const busyGroups = new Set();
let wake = () => {};
async function lane() {
  for (;;) {
    const i = waiting.findIndex((f) => f.group < 0 || !busyGroups.has(f.group));
    if (i < 0) {
      if (waiting.length === 0) return;
      await new Promise((r) => { const prev = wake; wake = () => { prev(); r(); }; });
      continue;
    }
    const [f] = waiting.splice(i, 1);
    if (f.group >= 0) busyGroups.add(f.group);
    const r = await runFile(f.name);
    if (f.group >= 0) busyGroups.delete(f.group);
    const w = wake;
    wake = () => {};
    w();
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
    if (r.why !== undefined) failures.push({ order: f.order, line: `  ${join(dir, f.name)}: ${r.why}` });
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, waiting.length) }, lane));
failures.sort((a, b) => a.order - b.order);
if (failures.length > 0) say(`\nFiles that failed:\n${failures.map((f) => f.line).join('\n')}`);
say(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 && skipped === 0 ? 0 : 1);
