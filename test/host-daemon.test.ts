/**
 * The host ops inside the real daemon (startDaemon registers hostOps) on a
 * real mtty-2 device: a pty is attached to port 1, bytes written into the
 * pty are read by a "guest" through the daemon's reg.read/reg.write ops
 * (so through the MttyPort, not around it), and detaching restores mtty's
 * loopback (the console's own tests are in host-console.test.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, constants, openSync, readSync, writeSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SocketClient, startDaemon } from '../src/control/index.js';

const UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002';

async function poll<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, tries = 300, everyMs = 10): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`gave up waiting for ${what}`);
}

test('host.attach pty on a real device port; guest register ops see the bytes; detach restores loopback', async () => {
  const dir = await fs.mkdtemp(join(tmpdir(), 'mtty-host-daemon-'));
  const sock = join(dir, 'run', 'control.sock');
  const link = join(dir, 'ttyMTTY1');
  const daemon = await startDaemon({ socketPath: sock, configDir: join(dir, 'cfg'), autostart: false });
  const c = await SocketClient.connect(sock);
  let fd = -1;
  try {
    await c.call('create', { type: 'mtty-2', uuid: UUID });
    const st = await c.call<{ state: string; path: string; link: string }>('host.attach', { uuid: UUID, port: 1, spec: `pty:${link}` });
    assert.is(st.state, 'connected');
    assert.is(st.link, link);
    assert.is(await fs.readlink(link), st.path);
    fd = openSync(link, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    writeSync(fd, 'hi');
    const reg = async (r: number) => (await c.call<{ value: number }>('reg.read', { uuid: UUID, port: 1, reg: r })).value;
    await poll(async () => ((await reg(5)) & 1 ? true : undefined), 'LSR.DR on port 1');
    let got = String.fromCharCode(await reg(0));
    await poll(async () => ((await reg(5)) & 1 ? true : undefined), 'second byte');
    got += String.fromCharCode(await reg(0));
    assert.is(got, 'hi');
    await c.call('reg.write', { uuid: UUID, port: 1, reg: 0, value: 0x5a });
    const buf = Buffer.alloc(16);
    const out = await poll(() => {
      try {
        const n = readSync(fd, buf, 0, 16, null);
        return n > 0 ? buf.toString('latin1', 0, n) : undefined;
      } catch {
        return undefined; // EAGAIN
      }
    }, 'THR byte on the pty');
    assert.is(out, 'Z');
    const status = await c.call<{ port: number; kind: string; rxBytes: number; txBytes: number }[]>('host.status', { uuid: UUID });
    assert.equal(status.map((s) => [s.port, s.kind, s.rxBytes, s.txBytes]), [[0, 'loopback', 0, 0], [1, 'pty', 2, 1]]);
    await c.call('host.detach', { uuid: UUID, port: 1 });
    await c.call('reg.write', { uuid: UUID, port: 1, reg: 0, value: 0x41 });
    assert.is(await reg(0), 0x41, 'loopback again after detach');
    assert.not.ok(await fs.lstat(link).then(() => true, () => false), 'link gone');
  } finally {
    if (fd >= 0) closeSync(fd);
    await c.close();
    await daemon.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('removing a device under an attached pty closes the line (socat gone, link removed) and the daemon keeps serving', async () => {
  const dir = await fs.mkdtemp(join(tmpdir(), 'mtty-host-daemon-'));
  const sock = join(dir, 'run', 'control.sock');
  const link = join(dir, 'ttyGONE');
  const daemon = await startDaemon({ socketPath: sock, configDir: join(dir, 'cfg'), autostart: false });
  const c = await SocketClient.connect(sock);
  try {
    await c.call('create', { type: 'mtty-1', uuid: UUID });
    await c.call('host.attach', { uuid: UUID, port: 0, spec: `pty:${link}` });
    await c.call('remove', { uuid: UUID });
    assert.equal(await c.call('host.status', {}), [], 'the line went with its device');
    await poll(async () => ((await fs.lstat(link).then(() => true, () => false)) ? undefined : true), 'link removed');
    const code = await c.call('host.detach', { uuid: UUID, port: 0 }).then(() => 'ok', (e: { code: string }) => e.code);
    assert.is(code, 'ENODEV');
    assert.ok(Array.isArray(await c.call('list')), 'daemon still answers');
  } finally {
    await c.close();
    await daemon.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test.run();
