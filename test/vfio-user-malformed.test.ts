/**
 * Malformed, truncated and oversize messages: each gets an errno reply or a
 * clean disconnect, and the server keeps serving (the same connection when
 * the framing is intact, the next client otherwise).
 */
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VfioUserClient } from '../src/vfio-user/client.js';
import { native } from '../src/vfio-user/native.js';
import { CMD, FLAG_ERROR, TYPE_REPLY } from '../src/vfio-user/protocol.js';
import { serveFakeDevice } from './support/vfio-user-fake-device.js';

const setup = serveFakeDevice;

/** A raw header: id, command, size, flags, error. */
function header(id: number, command: number, size: number, flags = 0, error = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(id, 0);
  b.writeUInt16LE(command, 2);
  b.writeUInt32LE(size, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(error, 12);
  return b;
}

const errnoOf = (p: Promise<unknown>) =>
  p.then(
    () => 0,
    (e: { errno: number }) => e.errno,
  );

async function negotiated(path: string): Promise<VfioUserClient> {
  const c = VfioUserClient.connect(path);
  await c.version();
  return c;
}

test('unknown commands answer ENOTTY; the connection stays usable', async () => {
  const t = setup();
  try {
    const c = await negotiated(t.path);
    assert.is(await errnoOf(c.request(99)), 25);
    assert.is(await errnoOf(c.request(CMD.DEVICE_GET_REGION_IO_FDS, Buffer.alloc(16))), 25);
    assert.is(await errnoOf(c.request(CMD.DEVICE_FEATURE, Buffer.alloc(8))), 25, 'no migration over vfio-user');
    assert.is(await errnoOf(c.request(CMD.DMA_READ, Buffer.alloc(16))), 25, 'a server-to-client command');
    assert.equal(await c.getInfo(), { flags: 2, numRegions: 9, numIrqs: 5 });
    await c.close();
  } finally {
    await t.done();
  }
});

test('payload size mismatches answer EINVAL without losing the stream', async () => {
  const t = setup();
  try {
    const c = await negotiated(t.path);
    assert.is(await errnoOf(c.request(CMD.DEVICE_GET_INFO, Buffer.alloc(4))), 22, 'GET_INFO with 4 bytes');
    assert.is(await errnoOf(c.request(CMD.DEVICE_GET_REGION_INFO, Buffer.alloc(12))), 22);
    assert.is(await errnoOf(c.request(CMD.DEVICE_SET_IRQS, Buffer.alloc(8))), 22);
    // REGION_WRITE announcing 4 bytes but carrying 2.
    const w = Buffer.alloc(18);
    w.writeUInt32LE(0, 8);
    w.writeUInt32LE(4, 12);
    assert.is(await errnoOf(c.request(CMD.REGION_WRITE, w)), 22);
    // REGION_READ with trailing junk.
    assert.is(await errnoOf(c.request(CMD.REGION_READ, Buffer.alloc(20))), 22);
    // REGION_WRITE_MULTI whose count disagrees with its length.
    const m = Buffer.alloc(8 + 24);
    m.writeBigUInt64LE(2n, 0);
    assert.is(await errnoOf(c.request(CMD.REGION_WRITE_MULTI, m)), 22);
    // DATA_BOOL with fewer bytes than count.
    const s = Buffer.alloc(20);
    s.writeUInt32LE(20, 0);
    s.writeUInt32LE(0x22, 4);
    s.writeUInt32LE(1, 16);
    assert.is(await errnoOf(c.request(CMD.DEVICE_SET_IRQS, s)), 22);
    // More eventfds than vectors: EINVAL, and the server closes what it got.
    await c.getInfo();
    const n = native();
    const fds = [n.eventfd(0), n.eventfd(0), n.eventfd(0)];
    const before = readdirSync('/proc/self/fd').length;
    assert.is(await errnoOf(c.setIrqs({ flags: 0x24, index: 0, start: 0, count: 1, fds })), 22);
    assert.is(readdirSync('/proc/self/fd').length, before, 'received fds closed');
    fds.forEach((fd) => n.close(fd));
    assert.equal(await c.getInfo(), { flags: 2, numRegions: 9, numIrqs: 5 });
    await c.close();
  } finally {
    await t.done();
  }
});

test('VERSION rules: first, once, valid JSON, major 0', async () => {
  const t = setup();
  try {
    const c = VfioUserClient.connect(t.path);
    assert.is(await errnoOf(c.getInfo()), 22, 'command before VERSION');
    const bad = Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from('{"capabilities":\0')]);
    assert.is(await errnoOf(c.request(CMD.VERSION, bad)), 22, 'malformed JSON');
    assert.is(await errnoOf(c.request(CMD.VERSION, Buffer.alloc(2))), 22, 'short VERSION');
    const v = await c.version({ max_msg_fds: 1 });
    assert.equal(v.capabilities, { max_msg_fds: 8, max_data_xfer_size: 1048576 }, 'no write_multiple');
    assert.is(await errnoOf(c.version()), 22, 'second VERSION');
    const cGone = once(t.server, 'disconnect');
    await c.close();
    await cGone;

    const d = VfioUserClient.connect(t.path);
    const gone = once(t.server, 'disconnect');
    assert.is(await errnoOf(d.version({}, 1, 0)), 22, 'major 1 refused');
    assert.is(await d.closed, null, 'then the server closes the connection');
    assert.equal(await gone, ['unsupported protocol major version 1 (this server speaks 0.0)']);
    const e = await negotiated(t.path);
    await e.close();
  } finally {
    await t.done();
  }
});

test('an unsolicited reply from the client is ignored', async () => {
  const t = setup();
  try {
    const c = await negotiated(t.path);
    c.sendRaw(header(7, CMD.DEVICE_GET_INFO, 16, TYPE_REPLY | FLAG_ERROR, 5));
    assert.equal(await c.getInfo(), { flags: 2, numRegions: 9, numIrqs: 5 });
    assert.ok(t.logs.some((l) => l.includes('unsolicited reply')));
    await c.close();
  } finally {
    await t.done();
  }
});

test('a header announcing fewer than 16 bytes: EINVAL reply, disconnect, next client served', async () => {
  const t = setup();
  try {
    const c = await negotiated(t.path);
    const gone = once(t.server, 'disconnect');
    const reply = c.expectReply(0x4242, CMD.DEVICE_GET_INFO);
    c.sendRaw(header(0x4242, CMD.DEVICE_GET_INFO, 8));
    assert.is(await errnoOf(reply), 22);
    assert.match(String((await gone)[0]), /smaller than the 16-byte header/);
    await c.closed;
    assert.is(t.mdev.device.closed, 1);
    const d = await negotiated(t.path);
    assert.equal(await d.getInfo(), { flags: 2, numRegions: 9, numIrqs: 5 });
    await d.close();
  } finally {
    await t.done();
  }
});

test('an oversize message: EMSGSIZE reply, disconnect, next client served', async () => {
  const t = setup();
  try {
    const c = await negotiated(t.path);
    const gone = once(t.server, 'disconnect');
    const reply = c.expectReply(9, CMD.REGION_WRITE);
    c.sendRaw(header(9, CMD.REGION_WRITE, 0x7fffffff));
    assert.is(await errnoOf(reply), 90);
    assert.match(String((await gone)[0]), /exceeds the limit/);
    const d = await negotiated(t.path);
    await d.close();
  } finally {
    await t.done();
  }
});

test('a truncated header or body at EOF: clean disconnect, device closed, next client served', async () => {
  const t = setup();
  try {
    for (const bytes of [header(1, CMD.DEVICE_GET_INFO, 32).subarray(0, 10), header(2, CMD.DEVICE_GET_INFO, 32)]) {
      const c = await negotiated(t.path);
      const gone = once(t.server, 'disconnect');
      c.sendRaw(bytes);
      await c.close();
      assert.match(String((await gone)[0]), /peer closed in the middle of a message/);
    }
    assert.is(t.mdev.device.closed, 2);
    const d = await negotiated(t.path);
    assert.equal(await d.getInfo(), { flags: 2, numRegions: 9, numIrqs: 5 });
    await d.close();
  } finally {
    await t.done();
  }
});

test.run();
