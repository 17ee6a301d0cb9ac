/**
 * The framing the addon does in C (native conn*, src/vfio-user/channel.ts):
 * many messages per read, fds attached to the right message inside a batch,
 * replies batched into one send, and back-pressure when a client stops
 * reading its replies. Against the real mtty library.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMtty } from '../src/mtty/load.js';
import { mttyRecordingWrap } from '../src/mtty/record-target.js';
import { TraceRecorder } from '../src/replay/record.js';
import { attachVfioUser } from '../src/vfio-user/serve.js';
import { VfioUserClient } from '../src/vfio-user/client.js';
import { native } from '../src/vfio-user/native.js';
import { CMD, FLAG_ERROR, HEADER_SIZE, encodeMessage } from '../src/vfio-user/protocol.js';
import { encodeVersion, qemuCapabilities } from '../src/vfio-user/version.js';

async function world() {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vu-fr-'));
  const mtty = await loadMtty();
  const mdev = mtty.parent.type('mtty-1')!.create();
  const server = attachVfioUser(mdev, join(dir, 'a.sock'), { log: () => {} });
  return {
    server,
    async done() {
      await server.close();
      await mtty.unload();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readMsg(id: number, region: number, offset: number, count: number): Buffer {
  const p = Buffer.alloc(16);
  p.writeUInt32LE(offset, 0);
  p.writeUInt32LE(region, 8);
  p.writeUInt32LE(count, 12);
  return encodeMessage({ id, command: CMD.REGION_READ, flags: 0, error: 0 }, p);
}

test('pipelined requests with an eventfd in the middle: every reply in order, the fd bound to its SET_IRQS', async () => {
  const w = await world();
  const c = VfioUserClient.connect(w.server.socketPath);
  const n = native();
  const efd = n.eventfd(0);
  try {
    await c.version();
    await c.getInfo();
    await c.regionWrite(0, 7, Uint8Array.of(0x42));
    // Not awaited one by one: the server reads several in one recvmsg.
    const before = Array.from({ length: 20 }, () => c.regionRead(0, 7, 1));
    const irq = c.setIrqs({ flags: 0x24, index: 0, start: 0, count: 1, fds: [efd] }); // INTx TRIGGER|EVENTFD
    const after = Array.from({ length: 20 }, () => c.regionRead(0, 7, 1));
    const [b, , a] = await Promise.all([Promise.all(before), irq, Promise.all(after)]);
    assert.ok([...b, ...a].every((v) => v[0] === 0x42), 'all 40 reads answered 0x42');
    await c.regionWrite(0, 1, Uint8Array.of(0x02)); // IER = THRI on an empty port: an interrupt
    assert.is(n.eventfdRead(efd), 1, 'the eventfd that came in the batch is the one signalled');
  } finally {
    await c.close();
    n.close(efd);
    await w.done();
  }
});

test('a 600 KB message between small ones: read to its end, answered, and the small ones after it too', async () => {
  const w = await world();
  const c = VfioUserClient.connect(w.server.socketPath);
  try {
    await c.version();
    await c.getInfo();
    await c.regionWrite(0, 7, Uint8Array.of(0x3c));
    const big = c.regionWrite(0, 0, new Uint8Array(600_000)).then(
      () => 0,
      (e: { errno: number }) => e.errno,
    );
    const reads = Array.from({ length: 600 }, () => c.regionRead(0, 7, 1));
    assert.is(await big, 14, 'a 600 KB write to an 8-byte BAR: EFAULT');
    assert.ok((await Promise.all(reads)).every((v) => v[0] === 0x3c), 'the 600 reads behind it all answered');
  } finally {
    await c.close();
    await w.done();
  }
});

test('a client that stops reading its replies: nothing lost, every reply arrives in order once it reads again', async () => {
  const w = await world();
  const s = createConnection(w.server.socketPath);
  await once(s, 'connect');
  try {
    const version = encodeMessage({ id: 0, command: CMD.VERSION, flags: 0, error: 0 }, encodeVersion({ major: 0, minor: 0, capabilities: qemuCapabilities() }));
    // 200k requests (6.4 MB) whose 6.6 MB of replies pass the server's 4 MiB
    // bound on unsent replies: it must stop reading, then resume.
    const N = 200_000;
    const reqs = Buffer.alloc(N * 32);
    for (let i = 0; i < N; i++) readMsg((i + 1) & 0xffff, 0, 5, 1).copy(reqs, i * 32);
    s.pause();
    s.write(version);
    s.write(reqs);
    await new Promise((r) => setTimeout(r, 300));
    let buf: Buffer = Buffer.alloc(0);
    let got = 0;
    let bad = 0;
    let sawVersion = false;
    await new Promise<void>((resolve, reject) => {
      s.on('data', (d: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        let off = 0;
        while (buf.length - off >= HEADER_SIZE) {
          const size = buf.readUInt32LE(off + 4);
          if (buf.length - off < size) break;
          const id = buf.readUInt16LE(off);
          const flags = buf.readUInt32LE(off + 8);
          if (!sawVersion) sawVersion = id === 0 && !(flags & FLAG_ERROR);
          else {
            got++;
            if (id !== (got & 0xffff) || flags & FLAG_ERROR || size !== 33) bad++;
          }
          off += size;
        }
        buf = buf.subarray(off);
        if (got === N) resolve();
      });
      s.on('error', reject);
      s.resume();
    });
    assert.ok(sawVersion, 'VERSION answered first');
    assert.is(got, N, 'every request answered');
    assert.is(bad, 0, 'each reply in order, a 1-byte REGION_READ reply');
  } finally {
    s.destroy();
    await w.done();
  }
});

test('posted (no-reply) writes, good and refused, send nothing; the replies after them stay matched', async () => {
  const logs: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vu-fr-'));
  const mtty = await loadMtty();
  const server = attachVfioUser(mtty.parent.type('mtty-1')!.create(), join(dir, 'a.sock'), { log: (l) => logs.push(l) });
  const c = VfioUserClient.connect(server.socketPath);
  let strays = 0;
  c.on('protocol-error', () => strays++);
  try {
    await c.version();
    await c.getInfo();
    const posted = [
      c.regionWrite(0, 7, Uint8Array.of(0x10), { noReply: true }),
      c.regionWrite(1, 0, Uint8Array.of(0x11), { noReply: true }), // BAR1 is empty on an mtty-1: refused
      c.regionWrite(0, 7, Uint8Array.of(0x12), { noReply: true }),
    ];
    await Promise.all(posted);
    assert.equal([...(await c.regionRead(0, 7, 1))], [0x12], 'the posted writes were applied in order');
    assert.is(strays, 0, 'no reply came back for any posted write');
    assert.ok(logs.some((l) => /REGION_WRITE \(no reply requested\) failed/.test(l)), 'the refused posted write is logged');
  } finally {
    await c.close();
    await server.close();
    await mtty.unload();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a refused BAR access reaches the device once (a recorder logs one failure), an accepted one once too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vu-fr-'));
  const file = join(dir, 'rec.trace');
  const mtty = await loadMtty();
  const rec = new TraceRecorder(file);
  const server = attachVfioUser(mtty.parent.type('mtty-1')!.create(), join(dir, 'a.sock'), { log: () => {}, wrap: mttyRecordingWrap(rec) });
  const c = VfioUserClient.connect(server.socketPath);
  try {
    await c.version();
    await c.getInfo();
    const e = await c.regionRead(0, 8, 1).then(
      () => 0,
      (x: { errno: number }) => x.errno,
    );
    assert.is(e, 14, 'offset 8 of an 8-byte BAR: EFAULT');
    await c.regionWrite(0, 7, Uint8Array.of(0x61));
    assert.equal([...(await c.regionRead(0, 7, 1))], [0x61]);
  } finally {
    await c.close();
    await server.close();
    rec.close();
    await mtty.unload();
  }
  const text = readFileSync(file, 'utf8');
  assert.is(text.split('\n').filter((l) => / -> E[A-Z]+ @/.test(l)).length, 1, 'one failure line');
  assert.is(text.split('\n').filter((l) => /^dev0\.0 W 7 0x61 /.test(l)).length, 1, 'the write recorded once');
  assert.is(text.split('\n').filter((l) => /^dev0\.0 R 7 0x61 /.test(l)).length, 1, 'the read recorded once');
  rmSync(dir, { recursive: true, force: true });
});

test.run();
