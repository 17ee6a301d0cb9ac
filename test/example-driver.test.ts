/**
 * A second vendor driver on the public mdev framework (examples/countdown-timer.ts):
 * it coexists with mtty on one bus (one UUID namespace, per-parent
 * available_instances, the same sysfs facade), works through the VFIO device
 * API (registers, level INTx with automask/unmask, reset, bad accesses), and
 * is served over vfio-user to our client replaying QEMU's start-up.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable, Writable } from 'node:stream';
import { startDaemon } from 'mtty/control';
import { main } from '../src/cli/main.js';
import { loadMtty, ManualClock, MttyError, VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_BAR0_REGION_INDEX, regionOffset, type IrqSink } from 'mtty';
import { attachVfioUser, VfioUserClient, qemuStartup, qemuShutdown, native } from 'mtty/vfio-user';
import { registerCountdownTimer, TIMER_REG, TIMER_CTRL, TIMER_ID, TICK_NS } from '../examples/countdown-timer.js';

const CT = '/sys/devices/virtual/ctimer/ctimer/mdev_supported_types/ctimer-1';
const M2 = '/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2';
const U1 = '5e0a1c3d-0000-4000-8000-00000000c001';
const U2 = '5e0a1c3d-0000-4000-8000-00000000c002';
const U3 = '5e0a1c3d-0000-4000-8000-00000000c003';

const CFG = regionOffset(VFIO_PCI_CONFIG_REGION_INDEX);
const BAR0 = regionOffset(VFIO_PCI_BAR0_REGION_INDEX);

async function setup(instances = 2) {
  const clock = new ManualClock();
  const mtty = await loadMtty({ clock });
  const parent = registerCountdownTimer(mtty.bus, { clock, instances });
  return { clock, mtty, parent };
}

function errno(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof MttyError) return e.code;
    throw e;
  }
  return 'ok';
}

async function errnoAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MttyError) return e.code;
    throw e;
  }
  return 'ok';
}

test('two parents on one bus: sysfs shows both, UUIDs are one namespace, instances are per parent', async () => {
  const { mtty } = await setup(2);
  const { sysfs } = mtty;
  assert.equal(sysfs.list('/sys/class/mdev_bus').sort(), ['ctimer', 'mtty']);
  assert.is(sysfs.read(`${CT}/name`), 'Countdown timer\n');
  assert.is(sysfs.read(`${CT}/device_api`), 'vfio-pci\n');
  assert.is(sysfs.read(`${CT}/available_instances`), '2\n');
  assert.is(sysfs.read(`${M2}/available_instances`), '12\n');

  await sysfs.write(`${CT}/create`, U1 + '\n');
  assert.is(sysfs.read(`${CT}/available_instances`), '1\n');
  assert.is(sysfs.read(`${M2}/available_instances`), '12\n', 'mtty does not count the timer');
  assert.is(sysfs.read(`/sys/bus/mdev/devices/${U1}/mdev_type/name`), 'Countdown timer\n');
  assert.is(sysfs.read(`/sys/bus/mdev/devices/${U1}/vendor/interrupts`), '0\n');

  // The same UUID on the other parent: EEXIST, and nothing changes on either side.
  assert.is(await errnoAsync(sysfs.write(`${M2}/create`, U1 + '\n')), 'EEXIST');
  assert.is(sysfs.read(`${M2}/available_instances`), '12\n');
  await sysfs.write(`${M2}/create`, U2 + '\n');
  assert.is(await errnoAsync(sysfs.write(`${CT}/create`, U2 + '\n')), 'EEXIST');
  assert.is(sysfs.read(`${CT}/available_instances`), '1\n');

  await sysfs.write(`${CT}/create`, U3 + '\n');
  assert.is(sysfs.read(`${CT}/available_instances`), '0\n');
  assert.is(await errnoAsync(sysfs.write(`${CT}/create`, '5e0a1c3d-0000-4000-8000-00000000c004\n')), 'ENOSPC');
  assert.is(sysfs.read(`${M2}/available_instances`), '11\n', 'mtty still has its own pool');

  await sysfs.write(`/sys/bus/mdev/devices/${U1}/remove`, '1\n');
  assert.is(sysfs.read(`${CT}/available_instances`), '1\n');
  assert.equal(mtty.bus.devices.map((d) => `${d.parent.name}/${d.type.id}`).sort(), ['ctimer/ctimer-1', 'mtty/mtty-2']);
  await mtty.bus.parent('ctimer')!.unregister();
  assert.equal(mtty.bus.parents.map((p) => p.name), ['mtty']);
  await mtty.unload();
});

test('the timer through the VFIO API: config IDs, registers, INTx level with automask and unmask', async () => {
  const { clock, mtty, parent } = await setup(1);
  const mdev = parent.type('ctimer-1')!.create(U1);
  const dev = mdev.open();
  assert.equal(dev.getInfo(), { flags: 0x3, numRegions: 9, numIrqs: 5 });
  assert.is(dev.getRegionInfo(0).size, 32);
  assert.is(dev.read(CFG + 0, 4), 0x71301234, 'vendor 1234, device 7130');
  assert.is(dev.read(CFG + 0x0a, 2), 0x0880, 'class: other system peripheral');
  dev.write(CFG + 0x10, 4, 0xffffffff); // BAR sizing
  assert.is(dev.read(CFG + 0x10, 4), 0xffffffe0, '32-byte BAR');
  assert.is(dev.read(BAR0 + TIMER_REG.ID, 4), TIMER_ID);

  let signals = 0;
  const sink: IrqSink = { signal: () => void signals++ };
  dev.setIrqs({ flags: 0x4 | 0x20, index: 0, start: 0, count: 1, data: [sink] }); // DATA_EVENTFD | ACTION_TRIGGER
  dev.write(BAR0 + TIMER_REG.COUNT, 4, 100);
  dev.write(BAR0 + TIMER_REG.CTRL, 4, TIMER_CTRL.RUN | TIMER_CTRL.IRQ);
  clock.advance(99 * TICK_NS);
  assert.is(signals, 0);
  assert.is(dev.read(BAR0 + TIMER_REG.COUNT, 4), 1, 'one tick left');
  clock.advance(TICK_NS);
  assert.is(signals, 1, 'expired: INTx');
  assert.is(dev.read(BAR0 + TIMER_REG.STATUS, 4), 1);
  assert.is(dev.read(BAR0 + TIMER_REG.CTRL, 4), TIMER_CTRL.IRQ, 'one-shot: RUN cleared');
  dev.setIrqs({ flags: 0x1 | 0x10, index: 0, start: 0, count: 1 }); // UNMASK while still asserted
  assert.is(signals, 2, 'level still high: signalled again and masked');
  dev.write(BAR0 + TIMER_REG.STATUS, 4, 1); // W1C
  dev.setIrqs({ flags: 0x1 | 0x10, index: 0, start: 0, count: 1 });
  assert.is(signals, 2, 'line dropped: nothing after unmask');

  // Periodic: three expiries in 30 ticks; masked in between, so one signal until unmask.
  dev.write(BAR0 + TIMER_REG.RELOAD, 4, 10);
  dev.write(BAR0 + TIMER_REG.COUNT, 4, 10);
  dev.write(BAR0 + TIMER_REG.CTRL, 4, TIMER_CTRL.RUN | TIMER_CTRL.IRQ | TIMER_CTRL.PERIODIC);
  clock.advance(30 * TICK_NS);
  assert.is(dev.read(BAR0 + TIMER_REG.EXPIRES, 4), 4);
  assert.is(signals, 3);
  assert.is(mtty.sysfs.read(`/sys/bus/mdev/devices/${U1}/vendor/interrupts`), '3\n');

  // Bad accesses get the kernel's errno and change nothing.
  assert.is(errno(() => dev.read(BAR0 + TIMER_REG.COUNT, 2)), 'EINVAL');
  assert.is(errno(() => dev.read(BAR0 + 1, 1)), 'EINVAL');
  assert.is(errno(() => dev.read(regionOffset(1), 4)), 'EINVAL');
  assert.is(errno(() => dev.setIrqs({ flags: 0x1 | 0x20, index: 1, start: 0, count: 1 })), 'EINVAL');
  assert.is(dev.read(BAR0 + TIMER_REG.RELOAD, 4), 10);

  dev.reset();
  assert.is(dev.read(BAR0 + TIMER_REG.CTRL, 4), 0);
  clock.advance(100 * TICK_NS);
  assert.is(dev.read(BAR0 + TIMER_REG.EXPIRES, 4), 0, 'reset stopped the timer');

  // Removal waits for the opener; release gives the instance back.
  dev.write(BAR0 + TIMER_REG.COUNT, 4, 5);
  dev.write(BAR0 + TIMER_REG.CTRL, 4, TIMER_CTRL.RUN | TIMER_CTRL.IRQ);
  const removed = mdev.remove();
  assert.is(parent.type('ctimer-1')!.availableInstances, 0, 'still open');
  dev.close();
  await removed;
  assert.is(parent.type('ctimer-1')!.availableInstances, 1);
  clock.advance(10 * TICK_NS); // the released device's timer was cancelled
  assert.is(signals, 3);
  await mtty.unload();
});

test('the timer over vfio-user: QEMU start-up, BAR0 writes, INTx on the eventfd', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-ctimer-'));
  const { clock, mtty, parent } = await setup(1);
  const mdev = parent.type('ctimer-1')!.create(U1);
  const server = attachVfioUser(mdev, join(dir, 'ctimer.sock'), { log: () => {} });
  const client = VfioUserClient.connect(server.socketPath);
  try {
    const r = await qemuStartup(client);
    assert.equal(r.info, { flags: 0x3, numRegions: 9, numIrqs: 5 });
    assert.is(Buffer.from(r.config).readUInt32LE(0), 0x71301234);
    assert.ok(r.intx, 'INTA# wired to an eventfd');
    const u32 = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
    assert.is(Buffer.from(await client.regionRead(0, TIMER_REG.ID, 4)).readUInt32LE(0), TIMER_ID);
    await client.regionWrite(0, TIMER_REG.COUNT, u32(50));
    await client.regionWrite(0, TIMER_REG.CTRL, u32(TIMER_CTRL.RUN | TIMER_CTRL.IRQ));
    const efd = r.intx!.eventfd;
    assert.is(native().eventfdRead(efd), -1, 'nothing yet');
    clock.advance(50 * TICK_NS);
    assert.is(native().eventfdRead(efd), 1, 'the timer expired: one interrupt on the eventfd');
    assert.is(Buffer.from(await client.regionRead(0, TIMER_REG.STATUS, 4)).readUInt32LE(0), 1);
    assert.is(await errnoAsync(client.regionRead(0, 2, 2)), 'EINVAL', 'a 2-byte BAR0 read is refused with EINVAL');
    await qemuShutdown(client, r);
  } finally {
    await client.close();
    await server.close();
    await mtty.unload();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mtty serve --driver: the timer is created, listed and removed through the same CLI', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-ctimer-cli-'));
  const sock = join(dir, 'control.sock');
  const driver = fileURLToPath(new URL('../examples/countdown-timer.js', import.meta.url));
  const logs: string[] = [];
  const daemon = await startDaemon({ socketPath: sock, configDir: join(dir, 'cfg'), drivers: [driver], log: (l) => logs.push(l) });
  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const w = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
    const code = await main([...args, '--socket', sock], { stdout: w((s) => (out += s)), stderr: w((s) => (err += s)), stdin: Readable.from([]) });
    return { code, out, err };
  };
  try {
    assert.ok(logs.some((l) => /registered ctimer/.test(l)), logs.join('\n'));
    const types = await run('types');
    assert.is(types.code, 0, types.err);
    assert.match(types.out, /ctimer\n  ctimer-1\n    Available instances: 4\n    Device API: vfio-pci\n    Name: Countdown timer/);
    assert.is((await run('create', '--type', 'ctimer-1', '--uuid', U1)).code, 0);
    assert.match((await run('list')).out, new RegExp(`${U1} ctimer ctimer-1`));
    const dup = await run('create', '--type', 'mtty-1', '--uuid', U1);
    assert.is(dup.code, 1);
    assert.match(dup.err, /EEXIST/);
    assert.is((await run('remove', U1)).code, 0);
    assert.match((await run('types')).out, /ctimer-1\n    Available instances: 4/);
  } finally {
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // A module that is not a driver: EINVAL, and no daemon is left listening.
  const bad = fileURLToPath(new URL('../examples/embedded.js', import.meta.url));
  assert.is(await errnoAsync(startDaemon({ socketPath: join(tmpdir(), `mtty-bad-${process.pid}.sock`), drivers: [bad] })), 'EINVAL');
});

test.run();
