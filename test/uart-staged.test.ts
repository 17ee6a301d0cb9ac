/**
 * Uart.writeReadStaged (bytes in the core's io buffer, write + read in one
 * call) must leave exactly the state, return exactly the bytes and raise
 * exactly the callbacks of writeMany followed by readMany, on every profile,
 * FIFO mode, IER, wiring and overrun; and refuse what would corrupt a batch.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart, type UartProfile, type Wiring } from '../src/uart/index.js';
import { MttyError } from '../src/errors/errno.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function port(profile: UartProfile, wiring: Wiring, log: string[]): Uart {
  const u = Uart.create({ profile, wiring });
  u.onIrqLine = (l) => log.push(`irq${l ? 1 : 0}`);
  u.onTransmit = (b) => log.push(`tx${b}`);
  return u;
}

for (const profile of ['pc16550d', 'mtty'] as UartProfile[]) {
  for (const wiring of ['loopback', 'host'] as Wiring[]) {
    test(`${profile}/${wiring}: writeReadStaged == writeMany then readMany (seeded, 400 steps)`, () => {
      const r = rng(profile.length * 31 + wiring.length);
      const la: string[] = [];
      const lb: string[] = [];
      const a = port(profile, wiring, la); // two calls
      const b = port(profile, wiring, lb); // staged
      for (let step = 0; step < 400; step++) {
        const x = r();
        if (x < 0.15) {
          // Change the set-up both ways: FIFO on/off/trigger, IER, MCR.LOOP, LCR.
          const [off, v] = [
            [2, 0x01], [2, 0x00], [2, 0xc7], [1, 0x00], [1, 0x0f], [1, 0x01], [4, 0x10], [4, 0x08], [3, 0x03], [3, 0x1f],
          ][Math.floor(r() * 10)]!;
          a.write(off!, v!);
          b.write(off!, v!);
          continue;
        }
        if (x < 0.2) {
          const byte = Math.floor(r() * 256);
          assert.is(b.receive(byte), a.receive(byte));
          continue;
        }
        const n = Math.floor(r() * 24);
        const max = Math.floor(r() * 24);
        const bytes = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
        const wrote = a.writeMany(bytes);
        const out = new Uint8Array(max);
        const got = a.readMany(out);
        const st = b.stage;
        st.set(bytes);
        const gotB = b.writeReadStaged(n, max);
        assert.is(b.stagedWritten, wrote, `written, step ${step}`);
        assert.is(gotB, got, `read count, step ${step}`);
        assert.equal(Array.from(b.stage.subarray(0, gotB)), Array.from(out.subarray(0, got)), `bytes, step ${step}`);
        assert.equal(Array.from(b.saveState()), Array.from(a.saveState()), `state, step ${step}`);
        assert.equal(lb, la, `callbacks, step ${step}`);
        for (let off = 0; off < 8; off++) assert.is(b.peek(off), a.peek(off), `peek ${off}, step ${step}`);
      }
      a.dispose();
      b.dispose();
    });
  }
}

test('loopback FIFO port: 16 bytes out and back in one call; a 17th overruns (LSR.OE) like writeMany', () => {
  const u = Uart.create({ wiring: 'loopback' });
  u.write(2, 0x01);
  const st = u.stage;
  for (let i = 0; i < 17; i++) st[i] = 0x41 + i;
  assert.is(u.writeReadStaged(17, 0), 0);
  assert.is(u.stagedWritten, 17);
  assert.is(u.read(5) & 0x03, 0x03, 'DR and OE');
  assert.is(u.writeReadStaged(0, 16), 16);
  assert.equal(Array.from(u.stage.subarray(0, 16)), Array.from({ length: 16 }, (_, i) => 0x41 + i));
  assert.is(u.read(5) & 0x01, 0, 'receiver empty');
  u.dispose();
});

test('bad counts are EINVAL, a disposed port is EINVAL, and the port keeps working', () => {
  const u = Uart.create({ wiring: 'loopback' });
  u.write(2, 0x01);
  for (const [n, max] of [[-1, 0], [0, 4097], [4097, 0], [1.5, 1], [NaN, 0]] as const) {
    try {
      u.writeReadStaged(n, max);
      assert.unreachable(`writeReadStaged(${n}, ${max}) accepted`);
    } catch (e) {
      assert.instance(e, MttyError);
      assert.is((e as MttyError).code, 'EINVAL');
    }
  }
  u.stage[0] = 0x5a;
  assert.is(u.writeReadStaged(1, 1), 1);
  assert.is(u.stage[0], 0x5a);
  u.dispose();
  try {
    u.writeReadStaged(1, 1);
    assert.unreachable('disposed port accepted');
  } catch (e) {
    assert.is((e as MttyError).code, 'EINVAL');
  }
});

test('from a callback of a running batched call: stage and writeReadStaged are EBUSY, the outer batch is intact', () => {
  const host = Uart.create({ wiring: 'host' });
  const other = Uart.create({ wiring: 'loopback' });
  host.write(2, 0x01);
  const sent: number[] = [];
  const errors: string[] = [];
  host.onTransmit = (b) => {
    sent.push(b);
    for (const f of [() => other.stage, () => other.writeReadStaged(1, 1)]) {
      try {
        f();
      } catch (e) {
        errors.push((e as MttyError).code);
      }
    }
  };
  const st = host.stage;
  for (let i = 0; i < 8; i++) st[i] = 0x30 + i;
  assert.is(host.writeReadStaged(8, 0), 0);
  assert.equal(sent, [0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37]);
  assert.equal(errors, Array(16).fill('EBUSY'));
  host.dispose();
  other.dispose();
});

test.run();
