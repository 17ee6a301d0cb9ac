/**
 * Where the real-VM tests and `npm run demo:vm` look for QEMU, and what they tell a
 * user who has none on PATH: the way to fix it, naming the build beside the checkout
 * when there is one (CI and the README put QEMU 10.2 in ../shared/qemu).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { locateQemu } from './support/vm/find-qemu.js';

const BESIDE = resolve('../shared/qemu/bin/qemu-system-x86_64');

test('no MTTY_QEMU and no QEMU on PATH: the reason says what to set', () => {
  const r = locateQemu({ PATH: '/nonexistent-mtty-path' });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.match(r.reason, /^MTTY_QEMU is not set and no qemu-system-x86_64 is on PATH \(/);
  if (existsSync(BESIDE)) assert.ok(r.reason.includes(`MTTY_QEMU=${BESIDE}`), r.reason);
  else assert.match(r.reason, /set MTTY_QEMU to a QEMU >= 10\.1 built with vfio-user-pci/);
});

test('MTTY_QEMU naming a missing file is reported as such', () => {
  const r = locateQemu({ MTTY_QEMU: '/nonexistent-mtty-path/qemu-system-x86_64', PATH: '' });
  assert.equal(r, { ok: false, reason: 'MTTY_QEMU=/nonexistent-mtty-path/qemu-system-x86_64 does not exist' });
});

test('MTTY_QEMU naming the QEMU beside the checkout finds it, with its version', () => {
  if (!existsSync(BESIDE)) return; // only where ../shared/qemu exists (CI, the README's layout)
  const r = locateQemu({ MTTY_QEMU: BESIDE, PATH: '' });
  assert.equal(r.ok, true, r.ok ? '' : r.reason);
  if (r.ok) assert.match(r.version, /^\d+\.\d+/);
});

test.run();
