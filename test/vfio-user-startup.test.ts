/**
 * The QEMU (>= 10.1) vfio-user-pci start-up sequence against our server,
 * through the project's client, over a real UNIX socket, with eventfds
 * passed as SCM_RIGHTS and read back after a UART interrupt.
 */
import { once } from 'node:events';
import { readdirSync, statSync, openSync, closeSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VfioUserClient } from '../src/vfio-user/client.js';
import { native } from '../src/vfio-user/native.js';
import { qemuShutdown, qemuStartup } from '../src/vfio-user/qemu-startup.js';
import { CMD } from '../src/vfio-user/protocol.js';
import { serveFakeDevice } from './support/vfio-user-fake-device.js';
import { fail } from '../src/errors/errno.js';

const setup = serveFakeDevice;

const openFds = () => readdirSync('/proc/self/fd').length;

test('socket is created with mode 0600', async () => {
  const t = setup();
  try {
    const st = statSync(t.path);
    assert.ok(st.isSocket());
    assert.is(st.mode & 0o777, 0o600);
  } finally {
    await t.done();
  }
  assert.throws(() => statSync(t.path), /ENOENT/);
});

test('QEMU start-up sequence, INTx eventfd fires on IER=THRI, automask and UNMASK', async () => {
  const t = setup();
  const client = VfioUserClient.connect(t.path);
  try {
    const r = await qemuStartup(client);
    // VERSION: 0.0, our limits, no migration, and no write_multiple although QEMU offers it:
    // QEMU 10.2 sets VFIO_PROXY_USE_MULTI as 0x16, which carries FORCE_QUEUED (0x4) and
    // sends every guest access through its iothread (src/vfio-user/version.ts).
    assert.is(r.version.major, 0);
    assert.is(r.version.minor, 0);
    assert.equal(r.version.capabilities, { max_msg_fds: 8, max_data_xfer_size: 1048576 });
    assert.equal(r.info, { flags: 0x2, numRegions: 9, numIrqs: 5 });
    assert.equal(
      r.regions.map((x) => [x.index, x.size, x.flags, x.argsz, x.capOffset]),
      [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => [i, i <= 1 ? 8 : i === 7 ? 255 : 0, 3, 32, 0]),
    );
    assert.is(r.regions[7]!.offset, 7 * 2 ** 40);
    assert.equal(r.irqs.map((i) => (i.info ? [i.index, i.info.flags, i.info.count] : [i.index, 'errno', i.errno])), [
      [0, 7, 1],
      [1, 9, 1],
      [3, 'errno', 22],
      [4, 'errno', 22],
    ]);
    assert.is(r.config.length, 255);
    assert.equal([...r.config.subarray(0, 4)], [0x48, 0x43, 0x53, 0x32]);
    assert.is(r.config[0x3d], 1);
    assert.ok(r.intx);
    assert.is(r.intx!.resampleErrno, 25, 'UNMASK|EVENTFD (resample) answered ENOTTY');

    const efd = r.intx!.eventfd;
    const n = native();
    assert.is(n.eventfdRead(efd), -1, 'no interrupt yet');
    // Guest driver enables the THR-empty interrupt: IER (BAR0 offset 1) = 0x02.
    await client.regionWrite(0, 1, Uint8Array.of(0x02));
    assert.is(n.eventfdRead(efd), 1, 'INTx eventfd signalled once');
    await client.regionWrite(0, 1, Uint8Array.of(0x02));
    assert.is(n.eventfdRead(efd), -1, 'automasked until UNMASK');
    await client.setIrqs({ flags: 0x11, index: 0, start: 0, count: 1 }); // UNMASK|NONE, as QEMU on EOI
    await client.regionWrite(0, 1, Uint8Array.of(0x02));
    assert.is(n.eventfdRead(efd), 1, 'fires again after UNMASK');

    // Register round trip and the BAR read path.
    await client.regionWrite(0, 7, Uint8Array.of(0x5a));
    assert.equal([...(await client.regionRead(0, 7, 1))], [0x5a]);

    await qemuShutdown(client, r);
    assert.is(t.mdev.device.resets, 1);
    const gone = once(t.server, 'disconnect');
    await client.close();
    assert.equal(await gone, [null]);
    assert.is(t.mdev.device.closed, 1, 'device handle closed on disconnect');
  } finally {
    await t.done();
  }
});

test('SET_IRQS: fd -1 (no fds) de-assigns; replacing an eventfd closes the old one in the server', async () => {
  const t = setup();
  const client = VfioUserClient.connect(t.path);
  const n = native();
  try {
    await client.version();
    await client.getInfo();
    const a = n.eventfd(0);
    const b = n.eventfd(0);
    const base = openFds();
    await client.setIrqs({ flags: 0x24, index: 0, start: 0, count: 1, fds: [a] });
    assert.is(openFds(), base + 1, 'the server holds its copy of eventfd a');
    await client.setIrqs({ flags: 0x24, index: 0, start: 0, count: 1, fds: [b] });
    assert.is(openFds(), base + 1, 'old copy closed when b replaced it');
    await client.regionWrite(0, 1, Uint8Array.of(0x02));
    assert.is(n.eventfdRead(a), -1);
    assert.is(n.eventfdRead(b), 1);
    // QEMU's "fd -1": DATA_EVENTFD with count 1 and no fds at all.
    await client.setIrqs({ flags: 0x24, index: 0, start: 0, count: 1 });
    assert.is(openFds(), base, 'de-assigned: the server copy is closed');
    assert.is(t.mdev.device.intx, null);
    await client.regionWrite(0, 1, Uint8Array.of(0x02));
    assert.is(n.eventfdRead(b), -1);
    // MSI takes its eventfd the same way; disable with count 0 + DATA_NONE.
    await client.setIrqs({ flags: 0x24, index: 1, start: 0, count: 1, fds: [a] });
    await client.regionWrite(0, 1, Uint8Array.of(0x02));
    assert.is(n.eventfdRead(a), 1, 'MSI eventfd signalled');
    // Disconnect closes every eventfd the server still holds.
    const gone = once(t.server, 'disconnect');
    await client.close();
    await gone;
    assert.is(openFds(), base - 2, 'both socket ends and the MSI eventfd copy released');
    n.close(a);
    n.close(b);
  } finally {
    await t.done();
  }
});

test('DMA_MAP/UNMAP are accepted and a passed fd is closed at once', async () => {
  const t = setup();
  const client = VfioUserClient.connect(t.path);
  try {
    await client.version();
    const fd = openSync('/dev/zero', 'r');
    const base = openFds();
    await client.dmaMap({ addr: 0x1000, size: 0x1000 }, fd);
    assert.is(openFds(), base, 'no fd kept by the server');
    const reply = await client.request(CMD.DMA_UNMAP, Buffer.from(new Uint8Array(24).fill(0).map((_, i) => (i === 0 ? 24 : 0))));
    assert.is(reply.payload.length, 24, 'DMA_UNMAP reply echoes the entry');
    closeSync(fd);
    await client.close();
  } finally {
    await t.done();
  }
});

test('REGION_WRITE_MULTI and posted (no-reply) writes are applied in order', async () => {
  const t = setup();
  const client = VfioUserClient.connect(t.path);
  try {
    await client.version();
    const done = await client.regionWriteMulti([
      { region: 0, offset: 7, data: Uint8Array.of(0x11) },
      { region: 0, offset: 3, data: Uint8Array.of(0x03) },
    ]);
    assert.is(done, 2);
    await client.regionWrite(0, 7, Uint8Array.of(0x22), { noReply: true });
    // The server handles commands in order, so this read sees the posted write.
    assert.equal([...(await client.regionRead(0, 3, 5))], [0x03, 0, 0x60, 0, 0x22]);
    await client.close();
  } finally {
    await t.done();
  }
});

test('device errors come back as error replies with the errno', async () => {
  const t = setup();
  const client = VfioUserClient.connect(t.path);
  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: { code: string; errno: number }) => `${e.code}/${e.errno}`,
    );
  try {
    await client.version();
    assert.is(await code(client.getIrqInfo(0)), 'EINVAL/22', 'GET_IRQ_INFO before GET_INFO');
    await client.getInfo();
    assert.is(await code(client.getRegionInfo(9)), 'EINVAL/22');
    assert.is(await code(client.getIrqInfo(2)), 'EINVAL/22');
    assert.is(await code(client.setIrqs({ flags: 0x09, index: 1, start: 0, count: 1 })), 'ENOTTY/25');
    assert.is(await code(client.regionRead(6, 0, 4)), 'EINVAL/22');
    assert.is(await code(client.getRegionInfo(0, 16)), 'EINVAL/22', 'argsz below 32');
    // A non-eventfd fd with SET_IRQS: EINVAL, as eventfd_ctx_fdget answers.
    const fd = openSync('/dev/null', 'r');
    assert.is(await code(client.setIrqs({ flags: 0x24, index: 0, start: 0, count: 1, fds: [fd] })), 'EINVAL/22');
    closeSync(fd);
    // Still serving.
    assert.equal(await client.getInfo(), { flags: 2, numRegions: 9, numIrqs: 5 });
    await client.close();
  } finally {
    await t.done();
  }
});

test('a start-up that fails after the INTx eventfd was set leaks no eventfd on the client side', async () => {
  const base = openFds();
  const t = setup();
  const dev = t.mdev.device;
  const setIrqs = dev.setIrqs.bind(dev);
  // A device that refuses the INTx MASK QEMU sends next (any later step failing is the same).
  dev.setIrqs = (set) => {
    if ((set.flags & 0x38) === 0x08) fail('EIO', 'mask refused');
    setIrqs(set);
  };
  const client = VfioUserClient.connect(t.path);
  try {
    let err: unknown = null;
    await qemuStartup(client).catch((e) => (err = e));
    assert.ok(err, 'start-up failed as arranged');
    await client.close();
  } finally {
    await t.done();
  }
  assert.is(openFds(), base, 'every fd of the attempt is closed (socket, eventfds)');
});

test('qemuShutdown closes our eventfd copy even when the server refuses the INTx disable', async () => {
  const base = openFds();
  const t = setup();
  const dev = t.mdev.device;
  const client = VfioUserClient.connect(t.path);
  try {
    const r = await qemuStartup(client);
    const setIrqs = dev.setIrqs.bind(dev);
    dev.setIrqs = (set) => {
      if ((set.flags & 0x38) === 0x20 && set.count === 0) fail('EIO', 'disable refused');
      setIrqs(set);
    };
    let err: unknown = null;
    await qemuShutdown(client, r).catch((e) => (err = e));
    assert.ok(err, 'shutdown failed as arranged');
    assert.is(r.intx, null);
    await client.close();
  } finally {
    await t.done();
  }
  assert.is(openFds(), base, 'the INTx eventfd copy is closed');
});

test.run();
