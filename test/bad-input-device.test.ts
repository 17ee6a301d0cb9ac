/**
 * Bad input to the library entry points (mdev create/remove, sysfs, the VFIO
 * device API): every row must fail with its documented errno (MttyError.code),
 * change nothing (support/fuzz-world fingerprint: pool, devices, every
 * device's full state), and leave the world serving (a valid access after
 * the whole table still works).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isMttyError, type ErrnoName } from '../src/errors/errno.js';
import { regionOffset } from '../src/vfio/uapi.js';
import {
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
} from '../src/vfio/uapi.js';
import type { IrqSet } from '../src/vfio/api.js';
import { fingerprint, makeWorld, UUID_A, UUID_B, type World } from './support/fuzz-world.js';

type Row = [what: string, code: ErrnoName, call: (w: World) => unknown];

const BAR0 = regionOffset(0);
const BAR1 = regionOffset(1);
const CFG = regionOffset(7);
const T = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
const sink = { signal() {} };
const irq = (s: Partial<IrqSet>): IrqSet => ({ flags: T, index: 0, start: 0, count: 1, data: [sink], ...s });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const any = (v: unknown) => v as any;

const ROWS: Row[] = [
  // ---- create (UUID text written to mdev_supported_types/<type>/create) ----
  ['create: empty', 'EINVAL', (w) => w.mtty.parent.type('mtty-1')!.create('')],
  ['create: 35 chars', 'EINVAL', (w) => w.mtty.parent.type('mtty-1')!.create('a1b2c3d4-0000-4000-8000-00000000000')],
  ['create: 38 chars', 'EINVAL', (w) => w.mtty.parent.type('mtty-1')!.create('a1b2c3d4-0000-4000-8000-00000000000c\n\n')],
  ['create: non-hex digit', 'EINVAL', (w) => w.mtty.parent.type('mtty-1')!.create('g1b2c3d4-0000-4000-8000-00000000000c')],
  ['create: dash moved', 'EINVAL', (w) => w.mtty.parent.type('mtty-1')!.create('a1b2c3d40-000-4000-8000-00000000000c')],
  ['create: multibyte chars (36 chars, more bytes)', 'EINVAL', (w) => w.mtty.parent.type('mtty-1')!.create('é1b2c3d4-0000-4000-8000-00000000000')],
  ['create: not a string', 'EINVAL', (w) => w.mtty.parent.type('mtty-1')!.create(any(12345))],
  ['create: existing UUID', 'EEXIST', (w) => w.mtty.parent.type('mtty-1')!.create(UUID_B)],
  ['create: existing UUID in upper case, other type', 'EEXIST', (w) => w.mtty.parent.type('mtty-2')!.create(UUID_A.toUpperCase())],
  ['create: pool exhausted (3 ports free, mtty-2 x2)', 'ENOSPC', (w) => {
    const t = w.mtty.parent.type('mtty-2')!;
    const first = t.create(); // takes 2 of the 5 free ports...
    try {
      t.create();
      t.create(); // ...so this one cannot fit
    } finally {
      // Undo what succeeded so the fingerprint only judges the failing call.
      for (const d of t.devices) if (d.uuid !== UUID_A) void d.remove();
      void first;
    }
  }],
  // ---- sysfs ----
  ['sysfs: create with junk', 'EINVAL', (w) => w.mtty.sysfs.write('/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/create', 'junk')],
  ['sysfs: remove with junk', 'EINVAL', (w) => w.mtty.sysfs.write(`/sys/bus/mdev/devices/${UUID_B}/remove`, 'yes')],
  ['sysfs: relative path', 'ENOENT', (w) => w.mtty.sysfs.read('sys/bus/mdev/devices')],
  ['sysfs: missing type', 'ENOENT', (w) => w.mtty.sysfs.write('/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-3/create', UUID_B)],
  ['sysfs: write a read-only attribute', 'EACCES', (w) => w.mtty.sysfs.write('/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/available_instances', '99')],
  ['sysfs: read a directory', 'EINVAL', (w) => w.mtty.sysfs.read('/sys/bus/mdev/devices')],
  // ---- open / remove ----
  ['open: already open', 'EBUSY', (w) => w.mtty.device(UUID_A)!.open()],
  // ---- VFIO register accesses ----
  ['read: negative pos', 'EINVAL', (w) => w.dev.read(-1, 1)],
  ['read: fractional pos', 'EINVAL', (w) => w.dev.read(1.5, 1)],
  ['read: NaN pos', 'EINVAL', (w) => w.dev.read(NaN, 1)],
  ['read: Infinity pos', 'EINVAL', (w) => w.dev.read(Infinity, 1)],
  ['read: pos beyond 2^53', 'EINVAL', (w) => w.dev.read(2 ** 60, 1)],
  ['read: size 3', 'EINVAL', (w) => w.dev.read(BAR0, any(3))],
  ['read: size 8', 'EINVAL', (w) => w.dev.read(BAR0, any(8))],
  ['read: size 0', 'EINVAL', (w) => w.dev.read(BAR0, any(0))],
  ['read: size as string', 'EINVAL', (w) => w.dev.read(BAR0, any('1'))],
  ['read: misaligned 2-byte', 'EINVAL', (w) => w.dev.read(BAR0 + 1, 2)],
  ['read: misaligned 4-byte', 'EINVAL', (w) => w.dev.read(BAR0 + 2, 4)],
  ['read: BAR0 offset 8 (past the 8 registers)', 'EINVAL', (w) => w.dev.read(BAR0 + 8, 1)],
  ['read: BAR1 4-byte at 6 (straddles the end)', 'EINVAL', (w) => w.dev.read(BAR1 + 8, 4)],
  ['read: empty BAR2', 'EINVAL', (w) => w.dev.read(regionOffset(2), 1)],
  ['read: ROM region 6 (empty)', 'EINVAL', (w) => w.dev.read(regionOffset(6), 1)],
  ['read: region 9 (does not exist)', 'EINVAL', (w) => w.dev.read(regionOffset(9), 1)],
  ['read: config dword at 256 (past the 256 bytes of PCI config space)', 'EINVAL', (w) => w.dev.read(CFG + 256, 4)],
  ['read: config byte at 256', 'EINVAL', (w) => w.dev.read(CFG + 256, 1)],
  ['write: value 256 in 1 byte', 'EINVAL', (w) => w.dev.write(BAR0 + 7, 1, 256)],
  ['write: value -129 in 1 byte', 'EINVAL', (w) => w.dev.write(BAR0 + 7, 1, -129)],
  ['write: fractional value', 'EINVAL', (w) => w.dev.write(BAR0 + 7, 1, 1.5)],
  ['write: NaN value', 'EINVAL', (w) => w.dev.write(BAR0 + 7, 1, NaN)],
  ['write: 2^32 in 4 bytes', 'EINVAL', (w) => w.dev.write(CFG + 0x3c, 4, 2 ** 32)],
  ['write: region 9', 'EINVAL', (w) => w.dev.write(regionOffset(9), 1, 0)],
  ['write: empty BAR3', 'EINVAL', (w) => w.dev.write(regionOffset(3), 1, 0)],
  ['readBytes: negative length', 'EINVAL', (w) => w.dev.readBytes(BAR0, -1)],
  ['readBytes: across the end of BAR0', 'EFAULT', (w) => w.dev.readBytes(BAR0 + 6, 4)],
  ['readBytes: into empty BAR4', 'EFAULT', (w) => w.dev.readBytes(regionOffset(4), 1)],
  ['writeBytes: not a Uint8Array', 'EFAULT', (w) => w.dev.writeBytes(BAR0, any([1, 2]))],
  ['writeBytes: across the end of BAR1 (nothing written)', 'EFAULT', (w) => w.dev.writeBytes(BAR1 + 6, new Uint8Array([1, 2, 3, 4]))],
  // ---- info ioctls ----
  ['GET_REGION_INFO 9', 'EINVAL', (w) => w.dev.getRegionInfo(9)],
  ['GET_REGION_INFO -1', 'EINVAL', (w) => w.dev.getRegionInfo(-1)],
  ['GET_REGION_INFO 0.5', 'EINVAL', (w) => w.dev.getRegionInfo(0.5)],
  ['GET_IRQ_INFO 2 (ERR)', 'EINVAL', (w) => w.dev.getIrqInfo(2)],
  ['GET_IRQ_INFO 5', 'EINVAL', (w) => w.dev.getIrqInfo(5)],
  // ---- SET_IRQS ----
  ['SET_IRQS: null', 'EINVAL', (w) => w.dev.setIrqs(any(null))],
  ['SET_IRQS: unknown flag bits', 'EINVAL', (w) => w.dev.setIrqs(irq({ flags: T | 0x1000 }))],
  ['SET_IRQS: two data types', 'EINVAL', (w) => w.dev.setIrqs(irq({ flags: VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER }))],
  ['SET_IRQS: index 5', 'EINVAL', (w) => w.dev.setIrqs(irq({ index: 5 }))],
  ['SET_IRQS: negative start', 'EINVAL', (w) => w.dev.setIrqs(irq({ start: -1 }))],
  ['SET_IRQS: start + count overflows u32', 'EINVAL', (w) => w.dev.setIrqs(irq({ start: 1, count: 0xffffffff }))],
  ['SET_IRQS: count 2 on INTx', 'EINVAL', (w) => w.dev.setIrqs(irq({ count: 2, data: [sink, sink] }))],
  ['SET_IRQS: start 1 on INTx', 'EINVAL', (w) => w.dev.setIrqs(irq({ start: 1 }))],
  ['SET_IRQS: eventfd data missing', 'EINVAL', (w) => w.dev.setIrqs(irq({ data: undefined }))],
  ['SET_IRQS: bool data shorter than count', 'EINVAL', (w) => w.dev.setIrqs(irq({ flags: VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, data: [] }))],
  ['SET_IRQS: eventfd is not a sink', 'EBADF', (w) => w.dev.setIrqs(irq({ data: any([42]) }))],
  ['SET_IRQS: UNMASK INTx before it is enabled', 'EINVAL', (w) => w.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, index: 0, start: 0, count: 1 })],
  ['SET_IRQS: MASK MSI', 'ENOTTY', (w) => w.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, index: 1, start: 0, count: 1 })],
  ['SET_IRQS: ERR index 3', 'ENOTTY', (w) => w.dev.setIrqs(irq({ index: 3 }))],
  ['SET_IRQS: software trigger of MSI that is not enabled', 'EINVAL', (w) => w.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index: 1, start: 0, count: 1 })],
  // ---- migration / state streams on the device ----
  ['restoreState: 60-byte stream into an mtty-2', 'EINVAL', (w) => w.mtty.device(UUID_A)!.vendor.restoreState(w.mtty.device(UUID_B)!.vendor.saveState())],
  ['restoreState: bad magic', 'EINVAL', (w) => {
    const s = w.mtty.device(UUID_A)!.vendor.saveState();
    s[0] ^= 0xff;
    w.mtty.device(UUID_A)!.vendor.restoreState(s);
  }],
  ['restoreState: flags not 0', 'EINVAL', (w) => {
    const s = w.mtty.device(UUID_A)!.vendor.saveState();
    s[20] = 1;
    w.mtty.device(UUID_A)!.vendor.restoreState(s);
  }],
  ['restoreState: second port record count 17 (first port valid)', 'EINVAL', (w) => {
    const v = w.mtty.device(UUID_A)!.vendor;
    const s = v.saveState();
    s[0] = s[0]!; // header intact
    s[24 + 1] = 0x0f; // port 0 IER changed: must be rolled back when port 1 fails
    s[24 + 36 + 26] = 17;
    v.restoreState(s);
  }],
  ['restoreState: not bytes', 'EINVAL', (w) => w.mtty.device(UUID_A)!.vendor.restoreState(any('stream'))],
  ['restoreFullState: too short', 'EINVAL', (w) => w.mtty.device(UUID_A)!.vendor.restoreFullState(new Uint8Array(10))],
  ['restoreFullState: other device\'s full state (1 port)', 'EINVAL', (w) => w.mtty.device(UUID_A)!.vendor.restoreFullState(w.mtty.device(UUID_B)!.vendor.saveFullState())],
  ['restoreFullState: trailing byte', 'EINVAL', (w) => {
    const v = w.mtty.device(UUID_A)!.vendor;
    const s = v.saveFullState();
    const t = new Uint8Array(s.length + 1);
    t.set(s);
    v.restoreFullState(t);
  }],
  ['restoreFullState: second UART blob forged (RX count 17), first valid and different', 'EINVAL', (w) => {
    const v = w.mtty.device(UUID_A)!.vendor;
    const s = v.saveFullState();
    const fixed = 16 + 255;
    const len = new DataView(s.buffer).getUint32(fixed, true);
    s[fixed + 4 + 8 + 5] ^= 0xff; // port 0 SCR: must be rolled back
    s[fixed + 4 + len + 4 + 8 + 17] = 17;
    v.restoreFullState(s);
  }],
  ['migration: set state 99', 'EINVAL', (w) => w.dev.migration!.setState(99)],
  ['migration: set state ERROR', 'EINVAL', (w) => w.dev.migration!.setState(0)],
];

test('the fingerprint sees a register write, an IRQ set-up and a pool change (so "unchanged" means something)', async () => {
  const w = await makeWorld();
  const f0 = fingerprint(w);
  w.dev.write(BAR1 + 7, 1, 0x12);
  const f1 = fingerprint(w);
  assert.is.not(f1, f0);
  w.dev.setIrqs(irq({}));
  const f2 = fingerprint(w);
  assert.is.not(f2, f1);
  await w.mtty.parent.type('mtty-1')!.create().remove();
  assert.is(fingerprint(w), f2);
  w.mtty.parent.type('mtty-1')!.create();
  assert.is.not(fingerprint(w), f2);
});

test('every bad input gets its errno and changes nothing', async () => {
  const w = await makeWorld();
  const failures: string[] = [];
  for (const [what, code, call] of ROWS) {
    const before = fingerprint(w);
    let got: unknown = null;
    try {
      await call(w);
    } catch (e) {
      got = e;
    }
    await new Promise((r) => setImmediate(r)); // let any removal started by the row finish
    const after = fingerprint(w);
    if (!isMttyError(got)) failures.push(`${what}: expected ${code}, got ${got === null ? 'success' : String(got)}`);
    else if (got.code !== code) failures.push(`${what}: expected ${code}, got ${got.code} (${got.message})`);
    if (after !== before) failures.push(`${what}: state changed`);
  }
  assert.equal(failures, []);
  // Still serving: a valid write/read on the open device, and the other device still answers.
  w.dev.write(BAR1 + 7, 1, 0x11);
  assert.is(w.dev.read(BAR1 + 7, 1), 0x11);
  const other = w.mtty.device(UUID_B)!;
  w.dev.close();
  const h = other.open();
  assert.is(h.read(BAR0 + 7, 1), 0x5a);
  h.close();
});

test('migration data fds: offsets, oversize, foreign header, short resume', async () => {
  const w = await makeWorld();
  const m = w.dev.migration!;
  const before = fingerprint(w);
  // STOP -> RESUMING gives the write-only fd.
  m.setState(1);
  const fd = m.setState(4)!;
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return isMttyError(e) ? e.code : String(e);
    }
    return 'success';
  };
  assert.is(codeOf(() => fd.write(new Uint8Array(4), 0)), 'ESPIPE');
  assert.is(codeOf(() => fd.write(new Uint8Array(97))), 'ENOMEM');
  assert.is(codeOf(() => fd.read(4)), 'EBADF');
  assert.is(codeOf(() => fd.write(any([1, 2]))), 'EFAULT');
  const foreign = w.mtty.device(UUID_B)!.vendor.saveState(); // nr_ports 1
  assert.is(codeOf(() => fd.write(foreign.subarray(0, 24))), 'EFAULT');
  // RESUMING -> STOP with an incomplete stream fails and leaves the UARTs alone.
  assert.is(codeOf(() => m.setState(1)), 'EINVAL');
  assert.is(m.state, 4);
  const after = JSON.parse(fingerprint(w)) as { devices: { fullState: string }[] };
  assert.equal(after.devices.map((d) => d.fullState), (JSON.parse(before) as typeof after).devices.map((d) => d.fullState));
});

test('closed handles and removed devices', async () => {
  const w = await makeWorld();
  const d = w.mtty.device(UUID_A)!;
  const vendor = d.vendor;
  w.dev.close();
  const codeOf = async (fn: () => unknown) => {
    try {
      await fn();
    } catch (e) {
      return isMttyError(e) ? e.code : String(e);
    }
    return 'success';
  };
  assert.is(await codeOf(() => w.dev.read(BAR0, 1)), 'EBADF');
  assert.is(await codeOf(() => w.dev.close()), 'EBADF');
  await d.remove();
  assert.is(await codeOf(() => d.remove()), 'ENODEV');
  assert.is(await codeOf(() => d.open()), 'ENODEV');
  assert.is(await codeOf(() => vendor.read(BAR0, 1)), 'ENODEV');
  assert.is(await codeOf(() => w.mtty.sysfs.write(`/sys/bus/mdev/devices/${UUID_A}/remove`, '1')), 'ENOENT');
  // A removal in progress (device open elsewhere): the second one is EAGAIN.
  const other = w.mtty.device(UUID_B)!;
  const h = other.open();
  const removing = other.remove();
  assert.is(await codeOf(() => other.remove()), 'EAGAIN');
  assert.is(await codeOf(() => other.open()), 'ENODEV');
  h.close();
  await removing;
  assert.equal(w.mtty.parent.types.map((t) => t.availableInstances), [8, 4]);
});

test.run();
