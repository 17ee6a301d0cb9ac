/**
 * A listener that cannot accept (the process is out of fds) must not spin:
 * the queued connection keeps the listening fd readable, so the server rests
 * between retries, and serves the client once fds are free again.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const CHILD = fileURLToPath(new URL('./support/vfio-user-emfile-child.js', import.meta.url));

test('accept failing with EMFILE backs off instead of spinning, then serves the waiting client', () => {
  const r = spawnSync('bash', ['-c', `ulimit -n 256 && exec "${process.execPath}" "${CHILD}"`], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.is(r.status, 0, `child failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim()) as { filled: number; failures: number; major: number };
  assert.ok(out.filled > 0, 'the child really ran out of fds');
  assert.ok(out.failures >= 1, 'accept failed while the fd table was full');
  // 300 ms at one retry per 100 ms: a handful, where a spinning loop logs thousands.
  assert.ok(out.failures <= 10, `${out.failures} accept attempts in 300 ms: the listener spins`);
  assert.is(out.major, 0, 'the waiting client was served (VERSION answered)');
});

test.run();
