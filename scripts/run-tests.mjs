#!/usr/bin/env node
// Runs every test file (uvu under tsx, one process) and ends with the plain summary line
// "N passed, N failed". Extra arguments narrow the run: `npm test -- test/unit` or
// `npm test -- test/integration radius-proxy`.
// uvu exits 0 when a suite's before hook throws and none of its tests run: this script counts
// those tests as failed, from uvu's Total and Passed lines.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [dir = 'test', pattern = '\\.test\\.ts$'] = process.argv.slice(2);
const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'node_modules', 'uvu', 'bin.js'), dir, pattern], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let tail = '';
let finishTimer;
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  tail = (tail + d.toString()).slice(-4000);
  // uvu prints Duration last, but its process stays alive while a failed test left a socket or
  // timer open: end it after a grace period rather than hang the run.
  if (finishTimer === undefined && /Duration:/.test(tail)) {
    finishTimer = setTimeout(() => {
      process.stdout.write('\ntest process still running 10 s after the summary (a handle left open): stopping it\n');
      child.kill('SIGKILL');
    }, 10_000);
    finishTimer.unref();
  }
});
child.on('close', (code, signal) => {
  clearTimeout(finishTimer);
  // eslint-disable-next-line no-control-regex
  const plain = tail.replace(/\x1b\[[0-9;]*m/g, '');
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  if (Number.isNaN(total) || Number.isNaN(passed)) {
    process.stdout.write(`\ntest run ended without a summary (exit ${code ?? signal})\n0 passed, 1 failed\n`);
    process.exit(1);
  }
  const failed = total - passed - skipped;
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
  process.exit(code === 0 && failed === 0 && skipped === 0 && total > 0 ? 0 : 1);
});
