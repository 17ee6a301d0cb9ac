import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../src/clock/clock.js';
import { loadMtty } from '../src/mtty/load.js';
import type { MdevUevent } from '../src/mdev/uevent.js';
import { DOC_UUID, expectErrno, expectErrnoSync, freshMtty } from './support/mtty-support.js';

test('types: names, device_api, fresh available_instances 24/12', async () => {
  const { parent, type1, type2 } = await freshMtty();
  assert.equal(parent.types.map((t) => t.id), ['mtty-1', 'mtty-2']);
  assert.is(type1.name, 'Single port serial');
  assert.is(type2.name, 'Dual port serial');
  assert.is(type1.deviceApi, 'vfio-pci');
  assert.is(type1.description, undefined);
  assert.is(type1.availableInstances, 24);
  assert.is(type2.availableInstances, 12);
});

test('available_instances: 24/12 -> 22/11 -> 21/10; 13th mtty-2 ENOSPC; others keep working; ports return', async () => {
  const { type1, type2 } = await freshMtty();
  const a = type2.create();
  assert.equal([type1.availableInstances, type2.availableInstances], [22, 11]);
  const b = type1.create();
  assert.equal([type1.availableInstances, type2.availableInstances], [21, 10]);
  await b.remove();
  const twos = [a];
  for (let i = 0; i < 11; i++) twos.push(type2.create());
  assert.equal([type1.availableInstances, type2.availableInstances], [0, 0]);
  expectErrnoSync(() => type2.create(), 'ENOSPC');
  expectErrnoSync(() => type1.create(), 'ENOSPC');
  assert.is(twos.length, 12);
  // Existing devices keep working after the failed creates.
  const h = twos[5].open();
  h.write(7, 1, 0xa5);
  assert.is(h.read(7, 1), 0xa5);
  h.close();
  await twos[0].remove();
  assert.equal([type1.availableInstances, type2.availableInstances], [2, 1]);
  type1.create();
  type1.create();
  expectErrnoSync(() => type1.create(), 'ENOSPC');
});

test('create: the doc UUID, upper case input, EEXIST on any parent, EINVAL bad text', async () => {
  const clock = new ManualClock();
  const first = await loadMtty({ clock });
  const second = await loadMtty({ clock, bus: first.bus, name: 'mtty_b' });
  const dev = first.parent.type('mtty-2')!.create(DOC_UUID.toUpperCase() + '\n');
  assert.is(dev.uuid, DOC_UUID);
  assert.is(first.bus.device(DOC_UUID), dev);
  expectErrnoSync(() => first.parent.type('mtty-1')!.create(DOC_UUID), 'EEXIST');
  expectErrnoSync(() => second.parent.type('mtty-2')!.create(DOC_UUID), 'EEXIST');
  expectErrnoSync(() => first.parent.type('mtty-1')!.create('not-a-uuid'), 'EINVAL');
  assert.is(second.parent.type('mtty-1')!.availableInstances, 24, 'a failed create takes no ports');
  assert.is(second.parent.sysfsPath, '/sys/devices/virtual/mtty/mtty_b');
});

test('remove: ENODEV once gone; EAGAIN while a removal waits for close; open device waits', async () => {
  const { type2 } = await freshMtty();
  const dev = type2.create(DOC_UUID);
  const handle = dev.open();
  await expectErrno(() => dev.open(), 'EBUSY');
  let removed = false;
  const removal = dev.remove().then(() => {
    removed = true;
  });
  await Promise.resolve();
  await Promise.resolve();
  assert.is(removed, false, 'remove waits for the opener');
  assert.is(dev.state, 'removing');
  await expectErrno(() => dev.remove(), 'EAGAIN');
  await expectErrno(() => dev.open(), 'ENODEV');
  expectErrnoSync(() => type2.create(DOC_UUID), 'EEXIST');
  handle.read(0, 1); // still usable until closed
  handle.close();
  await removal;
  assert.is(removed, true);
  assert.is(dev.state, 'gone');
  await expectErrno(() => dev.remove(), 'ENODEV');
  expectErrnoSync(() => handle.read(0, 1), 'EBADF');
  expectErrnoSync(() => dev.vendor, 'ENODEV');
  assert.is(type2.availableInstances, 12);
  // The UUID is free again.
  type2.create(DOC_UUID);
});

test('open: one handle at a time; close then reopen works; UART state persists across opens', async () => {
  const { type1 } = await freshMtty();
  const dev = type1.create();
  const a = dev.open();
  a.write(7, 1, 0x5a); // scratch register
  a.close();
  expectErrnoSync(() => a.close(), 'EBADF');
  const b = dev.open();
  assert.is(b.read(7, 1), 0x5a);
  b.close();
});

test('uevents: MDEV_STATE registered/unregistered on the parent; add/remove for devices', async () => {
  const { MdevBus } = await import('../src/mdev/bus.js');
  const bus = new MdevBus();
  const events: MdevUevent[] = [];
  bus.on('uevent', (e: MdevUevent) => events.push(e));
  const mtty = await loadMtty({ bus, clock: new ManualClock() });
  const dev = mtty.parent.type('mtty-1')!.create(DOC_UUID);
  await dev.remove();
  const created = mtty.parent.type('mtty-2')!.create();
  const h = created.open();
  const unloading = mtty.unload();
  expectErrnoSync(() => mtty.parent.type('mtty-1')!.create(), 'ENODEV');
  h.close();
  await unloading;
  assert.equal(
    events.map((e) => `${e.action} ${e.devpath} ${e.env.MDEV_STATE ?? e.env.MDEV_UUID}`),
    [
      'change /devices/virtual/mtty/mtty registered',
      `add /devices/virtual/mtty/mtty/${DOC_UUID} ${DOC_UUID}`,
      `remove /devices/virtual/mtty/mtty/${DOC_UUID} ${DOC_UUID}`,
      `add /devices/virtual/mtty/mtty/${created.uuid} ${created.uuid}`,
      `remove /devices/virtual/mtty/mtty/${created.uuid} ${created.uuid}`,
      'change /devices/virtual/mtty/mtty unregistered',
    ],
  );
  assert.is(bus.parents.length, 0);
});

test('a vendor failure during create leaves nothing behind', async () => {
  let calls = 0;
  const { type2, bus } = await freshMtty({
    createUart: () => {
      calls++;
      throw new Error('no uart');
    },
  });
  try {
    type2.create(DOC_UUID);
    assert.unreachable('create should fail');
  } catch (e) {
    assert.is((e as Error).message, 'no uart');
  }
  assert.is(calls, 1);
  assert.is(bus.device(DOC_UUID), undefined);
  assert.is(type2.availableInstances, 12);
});

test.run();
