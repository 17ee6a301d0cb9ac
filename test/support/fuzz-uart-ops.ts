/**
 * Random operations on a Uart for the fuzz tests: what a guest driver, a host
 * back-end, time and a user switching settings can do to one port. Ops are
 * plain data (printable on failure) generated from a Prng and applied by
 * applyOp, which returns everything the op made observable so two UARTs can
 * be compared op by op.
 */
import { UART_PROFILE_NAMES, type UartProfile } from '../../src/uart/profile.js';
import type { Uart } from '../../src/uart/index.js';
import type { Prng } from './fuzz-prng.js';

export type UartOp =
  | { op: 'write'; off: number; value: number }
  | { op: 'read'; off: number }
  | { op: 'advance'; ns: number }
  | { op: 'receive'; byte: number }
  | { op: 'receiveError'; byte: number; bits: number }
  | { op: 'receiveMany'; bytes: number[] }
  | { op: 'writeMany'; bytes: number[] }
  | { op: 'readMany'; max: number }
  | { op: 'modem'; bits: number }
  | { op: 'profile'; profile: UartProfile }
  | { op: 'wiring'; wiring: 'host' | 'loopback' }
  | { op: 'out2Gate'; on: boolean }
  | { op: 'reset' };

/** Register values that matter more than random ones (FIFO on/off/reset, trigger levels, DLAB, LOOP, OUT2). */
const INTERESTING: Record<number, number[]> = {
  1: [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x0f, 0xff],
  2: [0x00, 0x01, 0x03, 0x05, 0x07, 0x41, 0x81, 0xc1, 0xc7, 0x06],
  3: [0x03, 0x83, 0x80, 0x00, 0x1f, 0xbf],
  4: [0x00, 0x03, 0x08, 0x0b, 0x10, 0x1b, 0x1f, 0x2b, 0xff],
};

/** Time steps around one character time at common rates (timeouts are 4 of them). */
const STEPS_NS = [0, 1, 1_000, 86_806, 347_222, 1_041_667, 4_166_667, 50_000_000];

export function randomOp(r: Prng): UartOp {
  switch (r.weighted([30, 30, 8, 8, 2, 3, 3, 3, 3, 1, 1, 1, 1])) {
    case 0: {
      const off = r.weighted([6, 3, 2, 2, 2, 1, 1, 1]);
      const pool = INTERESTING[off];
      return { op: 'write', off, value: pool && r.chance(0.7) ? r.pick(pool) : r.byte() };
    }
    case 1:
      return { op: 'read', off: r.weighted([6, 1, 3, 1, 1, 5, 2, 1]) };
    case 2:
      return { op: 'advance', ns: r.chance(0.8) ? r.pick(STEPS_NS) : r.below(10_000_000) };
    case 3:
      return { op: 'receive', byte: r.byte() };
    case 4:
      return { op: 'receiveError', byte: r.byte(), bits: r.pick([0x04, 0x08, 0x10, 0x0c, 0x1c]) };
    case 5:
      return { op: 'receiveMany', bytes: Array.from({ length: r.below(24) }, () => r.byte()) };
    case 6:
      return { op: 'writeMany', bytes: Array.from({ length: r.below(24) }, () => r.byte()) };
    case 7:
      return { op: 'readMany', max: r.below(20) };
    case 8:
      return { op: 'modem', bits: r.byte() & 0xf0 };
    case 9:
      return { op: 'profile', profile: r.pick(UART_PROFILE_NAMES) };
    case 10:
      return { op: 'wiring', wiring: r.pick(['host', 'loopback'] as const) };
    case 11:
      return { op: 'out2Gate', on: r.chance(0.5) };
    default:
      return { op: 'reset' };
  }
}

/**
 * Apply one op; returns what it made visible (read values, accepted counts).
 * For reads it also checks peek() agreed with the read beforehand, since
 * inspectors rely on peek showing exactly what the guest would get.
 */
export function applyOp(u: Uart, o: UartOp): unknown {
  switch (o.op) {
    case 'write':
      u.write(o.off, o.value);
      return null;
    case 'read': {
      const peeked = u.peek(o.off);
      const v = u.read(o.off);
      if (peeked !== v) throw new Error(`peek(${o.off}) = 0x${peeked.toString(16)} but read() = 0x${v.toString(16)}`);
      return v;
    }
    case 'advance':
      u.advance(o.ns);
      return null;
    case 'receive':
      return u.receive(o.byte);
    case 'receiveError':
      return u.receiveError(o.byte, o.bits);
    case 'receiveMany':
      return u.receiveMany(Uint8Array.from(o.bytes));
    case 'writeMany':
      return u.writeMany(Uint8Array.from(o.bytes));
    case 'readMany': {
      const out = new Uint8Array(o.max);
      const n = u.readMany(out);
      return [...out.subarray(0, n)];
    }
    case 'modem':
      u.setModemInputs(o.bits);
      return null;
    case 'profile':
      u.profile = o.profile;
      return null;
    case 'wiring':
      u.wiring = o.wiring;
      return null;
    case 'out2Gate':
      u.out2Gate = o.on;
      return null;
    case 'reset':
      u.reset();
      return null;
  }
}
