/**
 * Uart.writeReadStaged (bytes in the core's io buffer, write + read in one
 * call) must leave exactly the state, return exactly the bytes and raise
 * exactly the callbacks of writeMany followed by readMany, on every profile,
 * FIFO mode, IER, wiring and overrun; Uart.exchangeStaged exactly those of
 * its rounds (one burst of writeMany, then readMany); both refuse what would
 * corrupt a batch.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Prng } from './support/fuzz-prng.js';
import { Uart, type UartProfile, type Wiring } from '../src/uart/index.js';
import { MttyError } from '../src/errors/errno.js';

/** [0, 1) numbers from the fuzz tests' seeded PRNG (mulberry32), so a failure is reproducible. */
function rng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.float();
}

/** One random change of the set-up, the same on both ports: FIFO on/off/trigger, IER, MCR.LOOP, LCR. Returns [offset, value]. */
function changeSetUp(r: () => number, a: Uart, b: Uart): [number, number] {
  const [off, v] = [
    [2, 0x01], [2, 0x00], [2, 0xc7], [1, 0x00], [1, 0x0f], [1, 0x01], [4, 0x10], [4, 0x08], [3, 0x03], [3, 0x1f],
  ][Math.floor(r() * 10)]! as [number, number];
  a.write(off, v);
  b.write(off, v);
  return [off, v];
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
          changeSetUp(r, a, b);
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

/** exchangeStaged's rounds spelled out with writeMany/readMany: a burst is what a driver loads per THRE. */
function exchangeByRounds(u: Uart, input: Uint8Array, burst: number): { written: number; out: number[] } {
  const cap = 4096 - input.length;
  const out: number[] = [];
  let written = 0;
  while (written < input.length && out.length < cap) {
    const w = u.writeMany(input.subarray(written, written + Math.min(burst, input.length - written)));
    written += w;
    const buf = new Uint8Array(cap - out.length);
    const r = u.readMany(buf);
    out.push(...buf.subarray(0, r));
    if (w === 0 && r === 0) break;
  }
  return { written, out };
}

for (const profile of ['pc16550d', 'mtty'] as UartProfile[]) {
  for (const wiring of ['loopback', 'host'] as Wiring[]) {
    test(`${profile}/${wiring}: exchangeStaged == its rounds of writeMany + readMany (seeded, 300 steps)`, () => {
      const r = rng(profile.length * 17 + wiring.length * 5 + 1);
      const la: string[] = [];
      const lb: string[] = [];
      const a = port(profile, wiring, la); // rounds spelled out
      const b = port(profile, wiring, lb); // one call
      let fcr: number | null = null; // the burst follows FCR bit 0 (mtty: 16 until the first FCR write)
      for (let step = 0; step < 300; step++) {
        const x = r();
        if (x < 0.15) {
          const [off, v] = changeSetUp(r, a, b);
          if (off === 2) fcr = v;
          continue;
        }
        if (x < 0.25) {
          // Bytes from the line, some with PE/FE/BI (those keep the core off its bulk paths until read).
          const byte = Math.floor(r() * 256);
          const err = r() < 0.3 ? [0x04, 0x08, 0x10][Math.floor(r() * 3)]! : 0;
          assert.is(b.receiveError(byte, err), a.receiveError(byte, err));
          continue;
        }
        // Mostly short, sometimes many FIFOs' worth, sometimes a read area smaller than what comes back.
        const n = x < 0.9 ? Math.floor(r() * 40) : [4000, 4090, 4096, 2048][Math.floor(r() * 4)]!;
        const bytes = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
        const burst = fcr === null ? (profile === 'mtty' ? 16 : 1) : fcr & 1 ? 16 : 1;
        const want = exchangeByRounds(a, bytes, burst);
        b.stage.set(bytes);
        const got = b.exchangeStaged(n);
        assert.is(b.stagedWritten, want.written, `written, step ${step}`);
        assert.is(got, want.out.length, `read count, step ${step}`);
        assert.equal(Array.from(b.stage.subarray(n, n + got)), want.out, `bytes, step ${step}`);
        assert.equal(Array.from(b.stage.subarray(0, n)), Array.from(bytes), `input kept, step ${step}`);
        assert.equal(Array.from(b.saveState()), Array.from(a.saveState()), `state, step ${step}`);
        assert.equal(lb, la, `callbacks, step ${step}`);
        for (let off = 0; off < 8; off++) assert.is(b.peek(off), a.peek(off), `peek ${off}, step ${step}`);
      }
      a.dispose();
      b.dispose();
    });
  }
}

test('exchangeStaged on a loopback port: 2048 bytes out and back intact, FIFOs on (128 rounds) and off (1 byte per round)', () => {
  for (const fcr of [0x01, 0x00]) {
    const u = Uart.create({ wiring: 'loopback' });
    u.write(2, fcr);
    const st = u.stage;
    for (let i = 0; i < 2048; i++) st[i] = (i * 13 + 7) & 0xff;
    assert.is(u.exchangeStaged(2048), 2048);
    assert.is(u.stagedWritten, 2048);
    assert.equal(Array.from(st.subarray(2048, 4096)), Array.from(st.subarray(0, 2048)));
    assert.is(u.read(5), 0x60, 'THRE, TEMT; receiver empty, no overrun');
    u.dispose();
  }
});

test('exchangeStaged stops when the read area is full: 3000 out fill the 1096-byte area, the rest stays unsent', () => {
  const u = Uart.create({ wiring: 'loopback' });
  u.write(2, 0x01);
  const st = u.stage;
  for (let i = 0; i < 3000; i++) st[i] = i & 0xff;
  assert.is(u.exchangeStaged(3000), 1096);
  assert.is(u.stagedWritten, 1104, '69 bursts: the last one comes back only in part');
  assert.is(u.read(5) & 0x01, 0x01, 'its other 8 bytes wait in the receiver');
  u.dispose();
});

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
  for (const n of [-1, 4097, 1.5, NaN]) {
    try {
      u.exchangeStaged(n);
      assert.unreachable(`exchangeStaged(${n}) accepted`);
    } catch (e) {
      assert.instance(e, MttyError);
      assert.is((e as MttyError).code, 'EINVAL');
    }
  }
  u.stage[0] = 0x5a;
  assert.is(u.writeReadStaged(1, 1), 1);
  assert.is(u.stage[0], 0x5a);
  u.dispose();
  for (const f of [() => u.writeReadStaged(1, 1), () => u.exchangeStaged(1)]) {
    try {
      f();
      assert.unreachable('disposed port accepted');
    } catch (e) {
      assert.is((e as MttyError).code, 'EINVAL');
    }
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
    for (const f of [() => other.stage, () => other.writeReadStaged(1, 1), () => other.exchangeStaged(1)]) {
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
  assert.equal(errors, Array(24).fill('EBUSY'));
  host.dispose();
  other.dispose();
});

test.run();
