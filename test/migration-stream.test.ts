import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VFIO_DEVICE_STATE as S, regionOffset } from '../src/vfio/uapi.js';
import { nextMigrationState } from '../src/vfio/migration-arcs.js';
import type { MigrationDataFile, VfioDevice } from '../src/vfio/api.js';
import { DOC_UUID, expectErrnoSync, freshMtty } from './support/mtty-support.js';

const BAR0 = regionOffset(0);
const BAR1 = regionOffset(1);
const MAGIC_BYTES = [0x4e, 0x2c, 0x3e, 0x8c, 0x89, 0x09, 0x9d, 0x7e];

function drain(f: MigrationDataFile): Uint8Array {
  const parts: number[] = [];
  for (;;) {
    const chunk = f.read(7);
    if (chunk.length === 0) break;
    parts.push(...chunk);
  }
  return Uint8Array.from(parts);
}

function mig(dev: VfioDevice) {
  const m = dev.migration;
  assert.ok(m);
  return m;
}

/** Put a port mid-transfer: line settings, divisor, IER, bytes waiting in the RX FIFO. */
function busy(dev: VfioDevice, bar: number, text: string) {
  dev.write(bar + 3, 1, 0x80);
  dev.write(bar + 0, 1, 0x0c);
  dev.write(bar + 1, 1, 0x00);
  dev.write(bar + 3, 1, 0x1b);
  dev.write(bar + 2, 1, 0x07);
  dev.write(bar + 1, 1, 0x05);
  dev.write(bar + 7, 1, 0x3c);
  for (const ch of text) dev.write(bar, 1, ch.charCodeAt(0));
}

function readAll(dev: VfioDevice, bar: number): string {
  let s = '';
  while (dev.read(bar + 5, 1) & 0x01) s += String.fromCharCode(dev.read(bar, 1));
  return s;
}

test('flags 0x7, initial RUNNING, data size 60/96', async () => {
  const { type1, type2 } = await freshMtty();
  const one = type1.create().open();
  const two = type2.create().open();
  assert.is(mig(one).flags, 0x7);
  assert.is(mig(one).state, S.RUNNING);
  assert.is(mig(one).dataSize(), 60);
  assert.is(mig(two).dataSize(), 96);
});

test('the core path finder: single arcs towards any target; ERROR and STOP_COPY->PRE_COPY refused', () => {
  assert.is(nextMigrationState(S.RUNNING, S.STOP_COPY, 7), S.RUNNING_P2P);
  assert.is(nextMigrationState(S.RUNNING_P2P, S.STOP_COPY, 7), S.STOP);
  assert.is(nextMigrationState(S.PRE_COPY, S.STOP_COPY, 7), S.PRE_COPY_P2P);
  assert.is(nextMigrationState(S.RESUMING, S.RUNNING, 7), S.STOP);
  expectErrnoSync(() => nextMigrationState(S.RUNNING, S.ERROR, 7), 'EINVAL');
  expectErrnoSync(() => nextMigrationState(S.STOP_COPY, S.PRE_COPY, 7), 'EINVAL');
  expectErrnoSync(() => nextMigrationState(S.RUNNING, 42, 7), 'EINVAL');
  // Without P2P the core skips the P2P states.
  assert.is(nextMigrationState(S.RUNNING, S.STOP, 1), S.STOP);
});

test('STOP_COPY stream of a dual port: 96 bytes, magic, version, nr_ports, then 36-byte records', async () => {
  const { type2 } = await freshMtty();
  const mdev = type2.create();
  const dev = mdev.open();
  busy(dev, BAR0, 'hi');
  const file = mig(dev).setState(S.STOP_COPY);
  assert.ok(file);
  assert.is(mig(dev).state, S.STOP_COPY);
  expectErrnoSync(() => file.read(4, 0), 'ESPIPE');
  expectErrnoSync(() => file.precopyInfo(), 'EINVAL');
  const stream = drain(file);
  assert.is(stream.length, 96);
  assert.equal([...stream.slice(0, 8)], MAGIC_BYTES);
  const v = new DataView(stream.buffer);
  assert.equal([v.getUint32(8, true), v.getUint32(12, true), v.getUint32(16, true), v.getUint32(20, true)], [1, 0, 2, 0]);
  assert.equal(stream.slice(24, 60), mdev.vendor.ports[0].uart.toMttyRecord());
  assert.equal(stream, mdev.vendor.saveState());
  assert.is(mig(dev).setState(S.RUNNING), null);
  assert.is(mig(dev).state, S.RUNNING);
  expectErrnoSync(() => file.read(1), 'ENODEV');
});

test('PRE_COPY: header only, precopy info, then STOP_COPY appends the records to the same fd', async () => {
  const { type1 } = await freshMtty();
  const dev = type1.create().open();
  const file = mig(dev).setState(S.PRE_COPY);
  assert.ok(file);
  assert.equal(file.precopyInfo(), { initialBytes: 24, dirtyBytes: 0 });
  const head = file.read(10);
  assert.equal(file.precopyInfo(), { initialBytes: 14, dirtyBytes: 0 });
  const rest = file.read(100);
  assert.is(head.length + rest.length, 24);
  assert.is(file.read(100).length, 0, 'end of the header: read returns 0 bytes');
  assert.is(mig(dev).setState(S.PRE_COPY_P2P), null);
  assert.equal(file.precopyInfo(), { initialBytes: 0, dirtyBytes: 0 });
  assert.is(mig(dev).setState(S.STOP_COPY), null, 'no new fd');
  expectErrnoSync(() => file.precopyInfo(), 'EINVAL');
  assert.is(drain(file).length, 36);
});

test('resume: a 60-byte mtty-1 stream into an mtty-2 fails EFAULT on the header write', async () => {
  const { type1, type2 } = await freshMtty();
  const src = type1.create().open();
  const stream = drain(mig(src).setState(S.STOP_COPY)!);
  assert.is(stream.length, 60);
  const dst = type2.create().open();
  const file = mig(dst).setState(S.RESUMING)!;
  assert.is(mig(dst).state, S.RESUMING);
  expectErrnoSync(() => file.write(stream), 'EFAULT');
  // The sample counts the bytes anyway; the stream is short for mtty-2 and bad: STOP refuses it.
  expectErrnoSync(() => mig(dst).setState(S.STOP), 'EINVAL');
  assert.is(mig(dst).state, S.RESUMING);
});

test('resume: a 96-byte write into an mtty-1 resume fd is ENOMEM', async () => {
  const { type1, type2 } = await freshMtty();
  const stream = drain(mig(type2.create().open()).setState(S.STOP_COPY)!);
  const file = mig(type1.create().open()).setState(S.RESUMING)!;
  expectErrnoSync(() => file.write(stream), 'ENOMEM');
  expectErrnoSync(() => file.write(new Uint8Array(4), 0), 'ESPIPE');
  expectErrnoSync(() => file.read(4), 'EBADF');
});

test('resume: a short stream fails EINVAL at RESUMING -> STOP; the device keeps its state', async () => {
  const { type1 } = await freshMtty();
  const src = type1.create().open();
  busy(src, BAR0, 'x');
  const stream = drain(mig(src).setState(S.STOP_COPY)!);
  const dst = type1.create().open();
  dst.write(BAR0 + 7, 1, 0x77);
  const file = mig(dst).setState(S.RESUMING)!;
  assert.is(file.write(stream.slice(0, 59)), 59);
  expectErrnoSync(() => mig(dst).setState(S.STOP), 'EINVAL');
  assert.is(dst.read(BAR0 + 7, 1), 0x77);
});

test('round trip through the migration fds mid-transfer: FIFO bytes, IER, LCR, divisor all arrive', async () => {
  for (const profile of ['pc16550d', 'mtty'] as const) {
    const a = await freshMtty({ profile });
    const b = await freshMtty({ profile });
    const src = a.type2.create(DOC_UUID).open();
    busy(src, BAR0, 'hello');
    busy(src, BAR1, 'mtty!');
    mig(src).setState(S.PRE_COPY);
    const out = mig(src).setState(S.STOP_COPY);
    assert.is(out, null, 'PRE_COPY_P2P -> STOP_COPY reuses the PRE_COPY fd');
    const saved = a.device(DOC_UUID)!.vendor;
    const stream = saved.saveState();

    const dst = b.type2.create(DOC_UUID).open();
    const file = mig(dst).setState(S.RESUMING)!;
    assert.is(file.write(stream.slice(0, 30)), 30);
    assert.is(file.write(stream.slice(30)), 66);
    assert.is(mig(dst).setState(S.RUNNING), null);
    assert.is(mig(dst).state, S.RUNNING);
    const restored = b.device(DOC_UUID)!.vendor;
    for (const [i, bar] of [BAR0, BAR1].entries()) {
      assert.is(dst.read(bar + 1, 1), 0x05, `${profile} IER`);
      assert.is(dst.read(bar + 3, 1), 0x1b, `${profile} LCR`);
      assert.is(dst.read(bar + 7, 1), 0x3c, `${profile} SCR`);
      // Peeked, not read through DLAB: the mtty profile zeroes the latch whenever DLAB is set (the sample's quirk).
      assert.is(restored.ports[i].uart.lineSettings.divisor, 0x0c, `${profile} divisor`);
    }
    assert.is(readAll(dst, BAR0), 'hello');
    assert.is(readAll(dst, BAR1), 'mtty!');
  }
});

test('saveFullState(): full-fidelity round trip including config space; bad full states change nothing', async () => {
  const a = await freshMtty();
  const b = await freshMtty();
  const src = a.type2.create();
  const h = src.open();
  busy(h, BAR0, 'abc');
  h.write(regionOffset(7) + 0x10, 4, 0xc150);
  const snap = src.vendor.saveFullState();
  const dst = b.type2.create();
  dst.vendor.restoreFullState(snap);
  const d = dst.open();
  assert.is(d.read(regionOffset(7) + 0x10, 4), 0xc151);
  assert.is(d.read(BAR0 + 1, 1), 0x05);
  assert.is(readAll(d, BAR0), 'abc');
  expectErrnoSync(() => dst.vendor.restoreFullState(snap.slice(0, 100)), 'EINVAL');
  expectErrnoSync(() => b.type1.create().vendor.restoreFullState(snap), 'EINVAL');
  expectErrnoSync(() => dst.vendor.restoreState(new Uint8Array(96)), 'EINVAL');
});

test('reset: migration state back to RUNNING and data fds disabled; close disables fds, keeps state', async () => {
  const { type1 } = await freshMtty();
  const mdev = type1.create();
  const dev = mdev.open();
  const file = mig(dev).setState(S.PRE_COPY)!;
  dev.reset();
  assert.is(mig(dev).state, S.RUNNING);
  expectErrnoSync(() => file.read(1), 'ENODEV');
  const f2 = mig(dev).setState(S.STOP_COPY)!;
  dev.close();
  expectErrnoSync(() => f2.read(1), 'ENODEV');
  const again = mdev.open();
  assert.is(mig(again).state, S.STOP_COPY);
  again.close();
});

test('close in PRE_COPY_P2P drops the fd but keeps the state; STOP_COPY then hands out a new fd with the whole stream', async () => {
  const { type2 } = await freshMtty();
  const mdev = type2.create();
  const dev = mdev.open();
  busy(dev, BAR1, 'hi');
  const pre = mig(dev).setState(S.PRE_COPY_P2P)!;
  assert.is(pre.read(100).length, 24);
  dev.close();
  const again = mdev.open();
  assert.is(mig(again).state, S.PRE_COPY_P2P);
  const f = mig(again).setState(S.STOP_COPY);
  assert.ok(f, 'STOP_COPY must return a data fd when the PRE_COPY one is gone');
  const bytes = drain(f!);
  assert.is(bytes.length, 96);
  assert.equal([...bytes.subarray(0, 8)], MAGIC_BYTES);
  assert.equal(bytes, mdev.vendor.saveState());
  again.close();
});

test('resume fd: GET_PRECOPY_INFO is ENOTTY (the resuming fd has no ioctl handler)', async () => {
  const { type1 } = await freshMtty();
  const dev = type1.create().open();
  const file = mig(dev).setState(S.RESUMING)!;
  expectErrnoSync(() => file.precopyInfo(), 'ENOTTY');
  dev.close();
});

test('a stream whose second port record is refused leaves the first port exactly as it was (full state, not just its record)', async () => {
  const { type2 } = await freshMtty();
  const mdev = type2.create();
  const dev = mdev.open();
  busy(dev, BAR0, 'A');
  dev.write(BAR0 + 4, 1, 0x1b);
  const before = mdev.vendor.ports.map((p) => p.uart.saveState());
  const stream = mdev.vendor.saveState();
  stream[24 + 36 + 24] = 200; // port 1 FIFO head out of range
  expectErrnoSync(() => mdev.vendor.restoreState(stream), 'EINVAL');
  assert.equal(mdev.vendor.ports.map((p) => p.uart.saveState()), before);
  // The same through the resume fd: RESUMING -> STOP refuses, nothing changes.
  const f = mig(dev).setState(S.RESUMING)!;
  f.write(stream);
  expectErrnoSync(() => mig(dev).setState(S.STOP), 'EINVAL');
  assert.equal(mdev.vendor.ports.map((p) => p.uart.saveState()), before);
  dev.close();
});

test('resume fd: the size check comes before the disabled check (ENOMEM, then ENODEV), as in the sample', async () => {
  const { type1 } = await freshMtty();
  const dev = type1.create().open();
  const file = mig(dev).setState(S.RESUMING)!;
  dev.reset(); // disables the fd
  expectErrnoSync(() => file.write(new Uint8Array(61)), 'ENOMEM');
  expectErrnoSync(() => file.write(new Uint8Array(4)), 'ENODEV');
  expectErrnoSync(() => file.write(new Uint8Array(4), 0), 'ESPIPE');
  dev.close();
});

test.run();
