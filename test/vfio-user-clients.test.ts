/**
 * Client lifecycle: one client at a time (a second one is told EBUSY),
 * disconnect and reconnect with the device usable, server shutdown, stale
 * socket files, and serveVfioUser following a bus's add/remove uevents.
 */
import { EventEmitter, once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attachVfioUser, serveVfioUser } from '../src/vfio-user/serve.js';
import { VfioUserServer } from '../src/vfio-user/server.js';
import { VfioUserClient } from '../src/vfio-user/client.js';
import { native } from '../src/vfio-user/native.js';
import { qemuStartup, qemuShutdown } from '../src/vfio-user/qemu-startup.js';
import { MttyError } from '../src/errors/errno.js';
import { FakeMdev } from './support/vfio-user-fake-device.js';

function tmp() {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vu-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a second client is refused with EBUSY; the first keeps working', async () => {
  const { dir, done } = tmp();
  const mdev = new FakeMdev();
  const logs: string[] = [];
  const server = attachVfioUser(mdev, join(dir, 'a.sock'), { log: (l) => logs.push(l) });
  try {
    const a = VfioUserClient.connect(server.socketPath);
    await a.version();
    const refused = once(server, 'refuse');
    const b = VfioUserClient.connect(server.socketPath);
    const err = await b.version().then(
      () => null,
      (e: { code: string }) => e.code,
    );
    assert.is(err, 'EBUSY');
    assert.match(String((await refused)[0]), /in use by another client/);
    assert.match(String(await b.closed), /in use by another client|^null$/);
    assert.ok(logs.some((l) => l.includes('refusing a client')));
    assert.is(mdev.opens, 1, 'the refused client never opened the device');
    assert.equal(await a.getInfo(), { flags: 2, numRegions: 9, numIrqs: 5 });
    await a.close();
  } finally {
    await server.close();
    done();
  }
});

test('disconnect then reconnect: device reopened, eventfds fresh, register state kept', async () => {
  const { dir, done } = tmp();
  const mdev = new FakeMdev();
  const server = attachVfioUser(mdev, join(dir, 'b.sock'), { log: () => {} });
  const n = native();
  try {
    const a = VfioUserClient.connect(server.socketPath);
    const ra = await qemuStartup(a);
    await a.regionWrite(0, 7, Uint8Array.of(0xa5)); // scratch register survives the client
    const left = once(server, 'disconnect');
    await a.close(); // QEMU killed: no shutdown messages
    await left;
    n.close(ra.intx!.eventfd);
    assert.is(mdev.device.closed, 1);
    assert.is(mdev.device.intx, null, 'last close dropped the eventfd');
    assert.not.ok(server.busy);

    const b = VfioUserClient.connect(server.socketPath);
    const rb = await qemuStartup(b);
    assert.is(mdev.opens, 2);
    assert.equal([...(await b.regionRead(0, 7, 1))], [0xa5]);
    await b.regionWrite(0, 1, Uint8Array.of(0x02));
    assert.is(n.eventfdRead(rb.intx!.eventfd), 1, 'the new client gets interrupts');
    await qemuShutdown(b, rb);
    await b.close();
  } finally {
    await server.close();
    done();
  }
});

test('reconnecting right after a hang-up gets the device, not EBUSY', async () => {
  const { dir, done } = tmp();
  const mdev = new FakeMdev();
  const server = attachVfioUser(mdev, join(dir, 'r.sock'), { log: () => {} });
  try {
    for (let i = 0; i < 5; i++) {
      const c = VfioUserClient.connect(server.socketPath);
      await c.version();
      await c.close(); // no waiting for the server to notice
    }
    assert.is(mdev.opens, 5);
  } finally {
    await server.close();
    done();
  }
});

test('server.close() disconnects the client and removes the socket', async () => {
  const { dir, done } = tmp();
  const mdev = new FakeMdev();
  const server = attachVfioUser(mdev, join(dir, 'c.sock'), { log: () => {} });
  const c = VfioUserClient.connect(server.socketPath);
  await c.version();
  await server.close();
  assert.is(await c.closed, null, 'the client sees EOF');
  assert.not.ok(existsSync(server.socketPath));
  assert.is(mdev.device.closed, 1);
  assert.throws(() => VfioUserClient.connect(server.socketPath), /ENOENT/);
  done();
});

test('a stale socket file is replaced; a live one is EBUSY; a regular file is EEXIST', async () => {
  const { dir, done } = tmp();
  const path = join(dir, 'd.sock');
  const first = attachVfioUser(new FakeMdev(), path, { log: () => {} });
  assert.throws(() => attachVfioUser(new FakeMdev(), path, { log: () => {} }), /EBUSY/);
  // Simulate a crash: stop listening but leave the file behind.
  const fd = native().listen(join(dir, 'stale.sock'));
  native().close(fd);
  const again = VfioUserServer.listen({ socketPath: join(dir, 'stale.sock'), open: () => new FakeMdev().open(), log: () => {} });
  assert.is(statSync(join(dir, 'stale.sock')).mode & 0o777, 0o600);
  const c = VfioUserClient.connect(again.socketPath);
  await c.version();
  await c.close();
  writeFileSync(join(dir, 'file.sock'), 'x');
  assert.throws(() => attachVfioUser(new FakeMdev(), join(dir, 'file.sock'), { log: () => {} }), /EEXIST/);
  await first.close();
  await again.close();
  done();
});

test('an open() failure (device being removed) refuses the client with that errno', async () => {
  const { dir, done } = tmp();
  const server = VfioUserServer.listen({
    socketPath: join(dir, 'e.sock'),
    open: () => {
      throw new MttyError('ENODEV', 'mdev is being removed; it cannot be opened');
    },
    log: () => {},
  });
  const c = VfioUserClient.connect(server.socketPath);
  const err = await c.version().then(
    () => null,
    (e: { code: string }) => e.code,
  );
  assert.is(err, 'ENODEV');
  await c.closed;
  await server.close();
  done();
});

class FakeBus extends EventEmitter {
  readonly map = new Map<string, FakeMdev>();
  get devices() {
    return [...this.map.values()];
  }
  device(uuid: string) {
    return this.map.get(uuid);
  }
  add(uuid: string) {
    this.map.set(uuid, new FakeMdev(uuid));
    this.emit('uevent', { action: 'add', env: { MDEV_UUID: uuid } });
  }
  remove(uuid: string) {
    this.map.delete(uuid);
    this.emit('uevent', { action: 'remove', env: { MDEV_UUID: uuid } });
  }
}

test('serveVfioUser: one 0600 socket per device, following add/remove', async () => {
  const { dir, done } = tmp();
  const bus = new FakeBus();
  const u1 = '11111111-2222-3333-4444-555555555555';
  const u2 = '66666666-7777-8888-9999-aaaaaaaaaaaa';
  bus.map.set(u1, new FakeMdev(u1));
  const sockDir = join(dir, 'vfio-user');
  const svc = serveVfioUser({ dir: sockDir, bus, log: () => {} });
  try {
    assert.is(statSync(sockDir).mode & 0o777, 0o700);
    assert.ok(existsSync(join(sockDir, `${u1}.sock`)), 'existing device served');
    bus.add(u2);
    assert.ok(existsSync(svc.socketPath(u2)), 'new device served');
    assert.is(statSync(svc.socketPath(u2)).mode & 0o777, 0o600);
    const c = VfioUserClient.connect(svc.socketPath(u2));
    await c.version();
    assert.equal(await c.getInfo(), { flags: 2, numRegions: 9, numIrqs: 5 });
    await c.close();
    bus.remove(u2);
    assert.not.ok(existsSync(svc.socketPath(u2)), 'socket removed with the device');
    assert.equal([...svc.servers.keys()], [u1]);
  } finally {
    await svc.close();
    assert.not.ok(existsSync(join(sockDir, `${u1}.sock`)));
    done();
  }
});

test('native recv/send: a non-number fd, offset or length is a TypeError, never a silent undefined', () => {
  const n = native();
  const b = Buffer.alloc(4);
  assert.throws(() => n.recv('x' as never, b, 0, 4), /recv\(fd, buf, offset, length\)/);
  assert.throws(() => n.recv(0, b, 0, '4' as never), /recv\(fd, buf, offset, length\)/);
  assert.throws(() => n.send(0, b, '0' as never, 4), /send\(fd, buf, offset, length, fds\?\)/);
  assert.throws(() => n.send(0, 'abcd' as never, 0, 4), /Buffer or Uint8Array/);
  // The optional fds: numbers only, at most 32 (SCM_RIGHTS room), checked before anything is sent.
  assert.throws(() => n.send(0, b, 0, 4, ['3' as never]), /fds must be numbers/);
  assert.throws(() => n.send(0, b, 0, 4, Array(33).fill(0)), (e: unknown) => (e as { code?: string }).code === 'EINVAL');
});

test.run();
