/**
 * vfio-user against the real mtty library (loadMtty): the QEMU start-up
 * sequence on an mtty-2, the INTx eventfd on a UART interrupt, the loopback
 * echo a guest would see, and serveVfioUser following create/remove.
 */
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMtty } from '../src/mtty/load.js';
import { attachVfioUser, serveVfioUser } from '../src/vfio-user/serve.js';
import { VfioUserClient } from '../src/vfio-user/client.js';
import { native } from '../src/vfio-user/native.js';
import { qemuShutdown, qemuStartup } from '../src/vfio-user/qemu-startup.js';

const UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

test('mtty-2 over vfio-user: QEMU start-up, INTx on IER=THRI, UNMASK, loopback echo', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vu-'));
  const mtty = await loadMtty({ profile: 'mtty' });
  const mdev = mtty.parent.types.find((t) => t.id === 'mtty-2')!.create(UUID);
  const server = attachVfioUser(mdev, join(dir, 'mtty.sock'), { log: () => {} });
  const client = VfioUserClient.connect(server.socketPath);
  const n = native();
  try {
    const r = await qemuStartup(client);
    assert.equal(r.info, { flags: 0x2, numRegions: 9, numIrqs: 5 });
    assert.equal(
      r.regions.map((x) => x.size),
      [8, 8, 0, 0, 0, 0, 0, 255, 0],
    );
    assert.equal(r.irqs.map((i) => i.info?.flags ?? -i.errno!), [0x7, 0x9, -22, -22]);
    const dv = Buffer.from(r.config).readUInt32LE(0);
    assert.is(dv, 0x32534348, 'config dword 0 reads "HCS2"');
    assert.is(Buffer.from(r.config).readUInt32LE(8), 0x07000210);
    assert.is(r.intx!.resampleErrno, 25);
    // The last config dword (a guest's full dump reads it): zeros, as the sample; past 256 EFAULT.
    assert.equal([...(await client.regionRead(7, 0xfc, 4))], [0, 0, 0, 0]);
    assert.equal((await client.regionRead(7, 0, 256)).subarray(0, 255), r.config.subarray(0, 255));
    await client.regionRead(7, 0xfd, 4).then(
      () => assert.unreachable('a read past 256 bytes must fail'),
      (e: { code?: string }) => assert.is(e.code, 'EFAULT'),
    );

    const efd = r.intx!.eventfd;
    assert.is(n.eventfdRead(efd), -1);
    await client.regionWrite(0, 1, Uint8Array.of(0x02)); // IER = THRI on an empty port
    assert.is(n.eventfdRead(efd), 1, 'one INTx event');
    await client.regionWrite(0, 1, Uint8Array.of(0x02));
    assert.is(n.eventfdRead(efd), -1, 'silence until UNMASK');
    await client.setIrqs({ flags: 0x11, index: 0, start: 0, count: 1 });
    await client.regionWrite(0, 1, Uint8Array.of(0x02));
    assert.is(n.eventfdRead(efd), 1, 'again after UNMASK');

    // Loopback echo, as the guest's 8250 driver would see it on ttyS1.
    await client.regionWrite(0, 1, Uint8Array.of(0x00)); // IER off
    await client.regionWrite(0, 2, Uint8Array.of(0x07)); // FCR: enable + clear FIFOs
    await client.regionWrite(0, 0, Uint8Array.of(0x41)); // THR 'A'
    assert.equal([...(await client.regionRead(0, 5, 1))], [0x01], 'LSR: data ready');
    assert.equal([...(await client.regionRead(0, 0, 1))], [0x41], "RBR: 'A' came back");
    assert.equal([...(await client.regionRead(0, 5, 1))], [0x60], 'LSR: THRE|TEMT, empty');

    await qemuShutdown(client, r);
    const gone = once(server, 'disconnect');
    await client.close();
    await gone;
    // The device was closed, so removal completes at once.
    await mdev.remove();
  } finally {
    await server.close();
    await mtty.unload();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serveVfioUser on the mtty bus: sockets follow create/remove; reconnect after disconnect', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vu-'));
  const mtty = await loadMtty({ profile: 'mtty' });
  const svc = serveVfioUser({ dir, bus: mtty.bus, log: () => {} });
  try {
    const mdev = mtty.parent.types.find((t) => t.id === 'mtty-1')!.create(UUID);
    const path = svc.socketPath(UUID);
    assert.ok(existsSync(path), 'socket created with the device');
    for (let round = 0; round < 2; round++) {
      const c = VfioUserClient.connect(path);
      const r = await qemuStartup(c);
      assert.equal(r.regions.map((x) => x.size), [8, 0, 0, 0, 0, 0, 0, 255, 0], 'mtty-1 has no BAR1');
      await c.regionWrite(0, 7, Uint8Array.of(0x30 + round));
      assert.equal([...(await c.regionRead(0, 7, 1))], [0x30 + round]);
      await qemuShutdown(c, r);
      await c.close();
    }
    await mdev.remove();
    assert.not.ok(existsSync(path), 'socket removed with the device');
  } finally {
    await svc.close();
    await mtty.unload();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
