/**
 * Batched entry points must leave exactly the state (and raise exactly the
 * callbacks) of the equivalent single register accesses, including the bulk
 * fast paths the core takes for quiet loopback ports.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Prng } from './support/fuzz-prng.js';
import { Uart, type UartProfile } from '../src/uart/index.js';

/** [0, 1) numbers from the fuzz tests' seeded PRNG (mulberry32), so a failure is reproducible. */
function rng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.float();
}

interface Port {
  u: Uart;
  log: string[];
}

function port(profile: UartProfile): Port {
  const u = Uart.create({ profile, wiring: 'loopback' });
  const log: string[] = [];
  u.onIrqLine = (l) => log.push(`irq${l ? 1 : 0}`);
  u.onIrqPulse = () => log.push('pulse');
  u.onTransmit = (b) => log.push(`tx${b}`);
  return { u, log };
}

/** The documented meaning of writeMany, spelled out with single accesses. */
function writeManySingle(u: Uart, bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    if (!(u.peek(5) & 0x20)) break;
    const burst = u.profile === 'mtty' ? u.toMttyRecord()[33]! : u.peek(2) & 0xc0 ? 16 : 1;
    for (let j = 0; j < burst && i < bytes.length; j++) u.write(0, bytes[i++]!);
  }
  return i;
}

function readManySingle(u: Uart, out: Uint8Array): number {
  let i = 0;
  while (i < out.length && u.peek(5) & 1) out[i++] = u.read(0);
  return i;
}

const IERS = [0x00, 0x00, 0x00, 0x01, 0x02, 0x05, 0x0f];
const FCRS = [0x00, 0x01, 0x81, 0xc7, 0x07];
const MCRS = [0x00, 0x0b, 0x10, 0x1b];

for (const profile of ['pc16550d', 'mtty'] as const) {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`${profile} seed ${seed}: writeMany/readMany/receiveMany == single accesses (state, callbacks)`, () => {
      const r = rng(seed * 7919 + (profile === 'mtty' ? 1 : 0));
      const a = port(profile); // batched
      const b = port(profile); // single accesses
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      for (let step = 0; step < 400; step++) {
        const op = Math.floor(r() * 10);
        let what = '';
        if (op <= 2) {
          const data = new Uint8Array(Math.floor(r() * 40)).map(() => Math.floor(r() * 256));
          what = `writeMany(${data.length})`;
          assert.is(a.u.writeMany(data), writeManySingle(b.u, data), what);
        } else if (op <= 4) {
          const n = Math.floor(r() * 24);
          const oa = new Uint8Array(n);
          const ob = new Uint8Array(n);
          what = `readMany(${n})`;
          assert.is(a.u.readMany(oa), readManySingle(b.u, ob), what);
          assert.equal([...oa], [...ob], what);
        } else if (op === 5) {
          const data = new Uint8Array(Math.floor(r() * 20)).map(() => Math.floor(r() * 256));
          what = `receiveMany(${data.length})`;
          let nb = 0;
          for (const x of data) {
            if (b.u.rxSpace() === 0) break;
            b.u.receive(x);
            nb++;
          }
          assert.is(a.u.receiveMany(data), nb, what);
        } else if (op === 6) {
          const [off, v] = pick([[1, pick(IERS)], [2, pick(FCRS)], [4, pick(MCRS)]] as const);
          what = `write ${off}=${v}`;
          a.u.write(off, v);
          b.u.write(off, v);
        } else if (op === 7) {
          const ns = Math.floor(r() * 5e6);
          what = `advance ${ns}`;
          a.u.advance(ns);
          b.u.advance(ns);
        } else if (op === 8) {
          const off = pick([0, 2, 5, 5, 6]);
          what = `read ${off}`;
          assert.is(a.u.read(off), b.u.read(off), what);
        } else {
          const w = pick(['host', 'loopback'] as const);
          what = `wiring ${w}`;
          a.u.wiring = w;
          b.u.wiring = w;
        }
        assert.equal([...a.u.saveState()], [...b.u.saveState()], `state after step ${step} (${what})`);
        assert.equal(a.log, b.log, `callbacks after step ${step} (${what})`);
      }
      a.u.dispose();
      b.u.dispose();
    });
  }
}

test.run();
