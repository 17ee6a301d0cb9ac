import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, SocketClient, type Daemon } from '../src/control/index.js';
import { MttyError } from '../src/errors/errno.js';

let dir = '';
let daemon: Daemon;
let sock = '';

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtty-ctl-'));
  sock = join(dir, 'run', 'control.sock');
  daemon = await startDaemon({ socketPath: sock, configDir: join(dir, 'cfg') });
});

test.after.each(async () => {
  await daemon.close();
  await rm(dir, { recursive: true, force: true });
});

async function rejects(p: Promise<unknown>): Promise<MttyError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, MttyError);
    return e as MttyError;
  }
  throw new Error('expected a rejection');
}

test('socket is 0600 in a 0700 directory; close removes it', async () => {
  assert.is((await stat(sock)).mode & 0o777, 0o600);
  assert.is((await stat(join(dir, 'run'))).mode & 0o777, 0o700);
  await daemon.close();
  assert.not.ok(existsSync(sock));
});

test('two separate clients see the same devices', async () => {
  const a = await SocketClient.connect(sock);
  const b = await SocketClient.connect(sock);
  const { uuid } = await a.call<{ uuid: string }>('create', { type: 'mtty-2', uuid: '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001' });
  assert.is(uuid, '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001');
  const seen = await b.call<{ uuid: string; type: string }[]>('list');
  assert.equal(seen.map((d) => [d.uuid, d.type]), [[uuid, 'mtty-2']]);
  const types = await b.call<{ type: string; availableInstances: number }[]>('types');
  assert.equal(types.map((t) => [t.type, t.availableInstances]), [['mtty-1', 22], ['mtty-2', 11]]);
  const { text } = await b.call<{ text: string }>('lspci', { uuid });
  assert.ok(text.includes('00: 48 43 53 32 01 00 00 02 10 02 00 07 00 00 00 00'));
  const ss = await a.call<{ lines: string[] }>('setserial', { uuid });
  assert.equal(ss.lines, ['BAR0 (no guest tty), UART: 16550A, Port: 0x0000, IRQ: 0', 'BAR1 (no guest tty), UART: 16550A, Port: 0x0000, IRQ: 0']);
  // Students' register access: a byte written to THR comes back from RBR (mtty's loopback).
  assert.is((await a.call<{ value: number }>('reg.read', { uuid, port: 0, reg: 5 })).value & 0x60, 0x60);
  await a.call('reg.write', { uuid, port: 0, reg: 0, value: 0x41 });
  assert.is((await b.call<{ value: number }>('reg.read', { uuid, port: 0, reg: 0 })).value, 0x41);
  // Looking at the device (lspci/setserial) never touches the UART registers.
  await a.call('reg.write', { uuid, port: 1, reg: 4, value: 0x0b });
  await b.call('lspci', { uuid });
  await b.call('setserial', { uuid });
  assert.is((await a.call<{ value: number }>('reg.read', { uuid, port: 1, reg: 4 })).value, 0x0b);
  await b.call('remove', { uuid });
  assert.equal(await a.call('list'), []);
  await a.close();
  await b.close();
});

test('errno replies: bad UUID, unknown device, pool exhausted', async () => {
  const c = await SocketClient.connect(sock);
  let e = await rejects(c.call('remove', { uuid: 'not-a-uuid' }));
  assert.is(e.code, 'EINVAL');
  assert.is(e.errno, 22);
  e = await rejects(c.call('remove', { uuid: '00000000-0000-0000-0000-000000000001' }));
  assert.is(e.code, 'ENODEV');
  assert.is(e.errno, 19);
  e = await rejects(c.call('create', { type: 'mtty-2', uuid: 'xyz' }));
  assert.is(e.code, 'EINVAL');
  for (let i = 0; i < 12; i++) await c.call('create', { type: 'mtty-2' });
  e = await rejects(c.call('create', { type: 'mtty-2' }));
  assert.is(e.code, 'ENOSPC');
  assert.is(e.errno, 28);
  assert.match(e.message, /^ENOSPC \(No space left on device\): /);
  e = await rejects(c.call('create', { type: 'mtty-3' }));
  assert.is(e.code, 'ENOENT');
  e = await rejects(c.call('create', { type: 'mtty-1', parent: 'MTTY' }));
  assert.is(e.code, 'ENODEV');
  assert.match(e.message, /did you mean 'mtty'/);
  e = await rejects(c.call('reg.read', { uuid: (await c.call<{ uuid: string }[]>('list'))[0].uuid, port: 2, reg: 0 }));
  assert.is(e.code, 'EINVAL');
  await c.close();
});

test('malformed messages get error replies; the connection and the daemon keep serving', async () => {
  const c = await SocketClient.connect(sock);
  let r = await c.sendRaw('{bad json');
  assert.equal([r.id, r.ok, !r.ok && r.error.code, !r.ok && r.error.errno], [null, false, 'EINVAL', 22]);
  r = await c.sendRaw('[1,2,3]');
  assert.is(!r.ok && r.error.code, 'EINVAL');
  r = await c.sendRaw('{"id":"x7","op":"no.such.op"}');
  assert.equal([r.id, !r.ok && r.error.code], ['x7', 'EOPNOTSUPP']);
  r = await c.sendRaw('{"id":"x8","op":"create","args":{"type":5}}');
  assert.equal([r.id, !r.ok && r.error.code], ['x8', 'EINVAL']);
  r = await c.sendRaw('{"id":"x9","op":"create","args":"mtty-2"}');
  assert.equal([r.id, !r.ok && r.error.code], ['x9', 'EINVAL']);
  r = await c.sendRaw('x'.repeat((1 << 20) + 10));
  assert.is(!r.ok && r.error.code, 'EMSGSIZE');
  // Same connection still works...
  assert.is((await c.call<{ pid: number }>('ping')).pid, process.pid);
  // ...and so does a new one.
  const d = await SocketClient.connect(sock);
  assert.ok(await d.call('types'));
  await c.close();
  await d.close();
});

test('a handler that throws something unexpected answers EIO; the daemon survives', async () => {
  daemon.server.registerOp('test.boom', () => {
    throw new TypeError('kaboom');
  });
  const c = await SocketClient.connect(sock);
  const e = await rejects(c.call('test.boom'));
  assert.is(e.code, 'EIO');
  assert.match(e.message, /kaboom/);
  assert.ok(await c.call('ping'));
  await c.close();
});

test('host.attach is registered (from src/host) and validates its arguments', async () => {
  const c = await SocketClient.connect(sock);
  assert.ok((await c.call<string[]>('ops')).includes('host.attach'));
  const e = await rejects(c.call('host.attach', { uuid: '00000000-0000-0000-0000-000000000001', port: 0, spec: 'loopback' }));
  assert.is(e.code, 'ENODEV');
  await c.close();
});

test('a second daemon on the same socket is refused; a non-socket file is not replaced', async () => {
  const e = await rejects(startDaemon({ socketPath: sock, configDir: join(dir, 'cfg') }));
  assert.is(e.code, 'EBUSY');
  const plain = join(dir, 'run', 'plain');
  await writeFile(plain, 'data');
  const e2 = await rejects(startDaemon({ socketPath: plain, configDir: join(dir, 'cfg') }));
  assert.is(e2.code, 'EEXIST');
});

test('connecting where no daemon listens: ENOENT with a hint', async () => {
  const e = await rejects(SocketClient.connect(join(dir, 'nothing.sock')));
  assert.is(e.code, 'ENOENT');
  assert.match(e.message, /mtty serve/);
});

test('shutdown op asks the owner to stop', async () => {
  let asked = 0;
  await daemon.close();
  daemon = await startDaemon({ socketPath: sock, configDir: join(dir, 'cfg'), onShutdownRequest: () => asked++ });
  const c = await SocketClient.connect(sock);
  await c.call('shutdown');
  await new Promise((r) => setImmediate(r));
  assert.is(asked, 1);
  await c.close();
});

test.run();
