/**
 * Seeded hostile streams against the framing in C (native conn*): random mixes
 * of valid and broken messages (bad sizes, unknown commands, oversize counts,
 * fds on random messages, up to 12 of them), cut into random chunks, ending by
 * hang-up or by going silent mid-message. After every stream the server must
 * have dropped the client; at the end no fd has leaked and a normal client gets
 * right answers. A failure prints its seed and round, reproducible exactly.
 */
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMtty } from '../src/mtty/load.js';
import { attachVfioUser } from '../src/vfio-user/serve.js';
import { VfioUserClient } from '../src/vfio-user/client.js';
import { native } from '../src/vfio-user/native.js';
import { CMD, encodeMessage } from '../src/vfio-user/protocol.js';
import { encodeVersion, qemuCapabilities } from '../src/vfio-user/version.js';
import { Prng } from './support/fuzz-prng.js';

const SEED = 0x76fa11;
const ROUNDS = 120;

function access(rng: Prng, write: boolean): Buffer {
  const count = rng.pick([0, 1, 1, 2, 4, 8, 255, 256, 1 << 20, (1 << 20) + 1, rng.u32()]);
  // Data: what count says (when small) or a mismatch; never megabytes (the oversize tests cover those).
  const dataLen = write ? Math.min(count, rng.pick([0, 3, 64, 300])) : 0;
  const p = Buffer.alloc(16 + dataLen);
  p.writeUInt32LE(rng.pick([0, 5, 7, 0xfc, 0x100, rng.u32()]), 0);
  p.writeUInt32LE(rng.chance(0.1) ? rng.u32() : 0, 4);
  p.writeUInt32LE(rng.pick([0, 1, 2, 7, 8, 9, 4096, rng.u32()]), 8);
  p.writeUInt32LE(count, 12);
  for (let i = 16; i < p.length; i++) p[i] = rng.byte();
  return p;
}

/** One message: mostly well framed, sometimes not. */
function message(rng: Prng, id: number): Buffer {
  const kind = rng.below(10);
  if (kind < 4) return encodeMessage({ id, command: CMD.REGION_READ, flags: rng.chance(0.1) ? 0x10 : 0, error: 0 }, access(rng, false));
  if (kind < 7) return encodeMessage({ id, command: CMD.REGION_WRITE, flags: rng.chance(0.3) ? 0x10 : 0, error: 0 }, access(rng, true));
  if (kind === 7) {
    const payload = Buffer.alloc(rng.below(64));
    for (let i = 0; i < payload.length; i++) payload[i] = rng.byte();
    return encodeMessage({ id, command: rng.below(24), flags: rng.pick([0, 1, 0x10, 0x20]), error: 0 }, payload);
  }
  if (kind === 8) {
    // A header whose size field lies: too small, or past the limit.
    const m = encodeMessage({ id, command: CMD.DEVICE_GET_INFO, flags: 0, error: 0 }, Buffer.alloc(16));
    m.writeUInt32LE(rng.pick([0, 8, 15, 0x7fffffff, 0xffffffff]), 4);
    return m;
  }
  return encodeMessage({ id, command: CMD.DMA_MAP, flags: 0, error: 0 }, Buffer.alloc(32));
}

test(`hostile streams (seed 0x${SEED.toString(16)}, ${ROUNDS} rounds): the server drops each, leaks nothing, serves the next`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vu-hostile-'));
  const mtty = await loadMtty();
  const server = attachVfioUser(mtty.parent.type('mtty-1')!.create(), join(dir, 'a.sock'), { log: () => {}, incompleteTimeoutMs: 100 });
  const n = native();
  const rng = new Prng(SEED);
  const fdsBefore = readdirSync('/proc/self/fd').length;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const where = `seed 0x${SEED.toString(16)} round ${round}`;
      const gone = once(server, 'disconnect');
      const fd = n.connect(server.socketPath);
      const parts: { bytes: Buffer; fds: number[] }[] = [];
      if (rng.chance(0.9)) {
        parts.push({ bytes: encodeMessage({ id: 0, command: CMD.VERSION, flags: 0, error: 0 }, encodeVersion({ major: 0, minor: 0, capabilities: qemuCapabilities() })), fds: [] });
      }
      for (let i = 0, k = 1 + rng.below(12); i < k; i++) {
        const fds = rng.chance(0.2) ? Array.from({ length: rng.below(13) }, () => n.eventfd(0)) : [];
        parts.push({ bytes: message(rng, i + 1), fds });
      }
      const silent = rng.chance(0.1); // end by going quiet mid-message instead of hanging up
      let stream = Buffer.concat(parts.map((p) => p.bytes));
      const fdAt = new Map<number, number[]>();
      let off = 0;
      for (const p of parts) {
        if (p.fds.length) fdAt.set(off, p.fds);
        off += p.bytes.length;
      }
      if (silent) stream = Buffer.concat([stream, encodeMessage({ id: 99, command: CMD.DEVICE_GET_INFO, flags: 0, error: 0 }, Buffer.alloc(16)).subarray(0, 1 + rng.below(30))]);
      // Random chunks; each message's fds ride on its first byte's chunk.
      for (let pos = 0; pos < stream.length; ) {
        let len = 1 + rng.below(Math.min(rng.chance(0.5) ? 200 : 4096, stream.length - pos));
        for (const at of fdAt.keys()) if (at > pos && at < pos + len) len = at - pos;
        let sent: number;
        try {
          sent = n.send(fd, stream, pos, len, fdAt.get(pos) ?? []);
        } catch {
          break; // the server already dropped us (EPIPE/ECONNRESET)
        }
        if (sent < 0) break; // socket full: the server stopped reading us
        fdAt.delete(pos);
        pos += sent;
      }
      for (const fds of parts.map((p) => p.fds)) fds.forEach((f) => n.close(f));
      if (!silent) n.close(fd);
      const [reason] = await gone;
      if (silent) n.close(fd);
      assert.is(server.busy, false, `${where}: client dropped (${String(reason)})`);
    }
    assert.is(readdirSync('/proc/self/fd').length, fdsBefore, 'no fd leaked');
    const c = VfioUserClient.connect(server.socketPath);
    await c.version();
    await c.getInfo();
    await c.regionWrite(0, 7, Uint8Array.of(0xa5));
    assert.equal([...(await c.regionRead(0, 7, 1))], [0xa5], 'a normal client is served right after');
    await c.close();
  } finally {
    await server.close();
    await mtty.unload();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
