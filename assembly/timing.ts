/**
 * Line timing and the character-timeout interrupt.
 *
 * The core never reads wall time: each port has its own virtual clock that
 * only moves in advance(ns). While a timeout runs (S_CTIARMED) its due time
 * is kept in S_DEADLINE, refreshed whenever the window restarts or the
 * character time changes; the host reads both from the slot (src/uart,
 * Uart.nextDeadline) and sets a timer (real or ManualClock) for it.
 *
 * Timeout rule (datasheet "FIFO interrupt mode operation"): in FIFO mode,
 * with >= 1 byte in the RX FIFO, 4 character times after the last byte was
 * received or the last RBR read. Character time comes from LCR and the
 * divisor with the PC's 1.8432 MHz clock (baud = 115200 / divisor).
 */
import { S_LCR, S_DLL, S_DLM, S_FCR, S_NOW, S_LASTACT, S_CTIARMED, S_CTIP, S_DEADLINE, S_CTKEY, S_CHARTIME, S_PROFILE, PROFILE_PC16550D } from './layout';
import { LCR_PARITY, LCR_STOP, LCR_WLEN, FCR_ENABLE } from './regbits';
import { rxCount } from './fifo';

/** 1.8432 MHz / 16: the baud rate of divisor 1. */
export const BASE_BAUD: f64 = 115200;

// @ts-ignore: decorator
@inline
export function divisor(p: usize): u32 {
  return <u32>load<u8>(p + S_DLL) | (<u32>load<u8>(p + S_DLM) << 8);
}

/** Bits on the wire per character: start + data + parity + stop(s). */
export function bitsPerChar(p: usize): f64 {
  const lcr = <u32>load<u8>(p + S_LCR);
  const data = 5 + (lcr & LCR_WLEN);
  let bits: f64 = <f64>(1 + data);
  if (lcr & LCR_PARITY) bits += 1;
  if (lcr & LCR_STOP) bits += data == 5 ? 1.5 : 2;
  else bits += 1;
  return bits;
}

/**
 * Nanoseconds per character. Divisor 0 is undefined in the datasheet; the
 * baud generator is a 16-bit down-counter, so 0 is taken as 65536 (slowest).
 */
export function charTimeNs(p: usize): f64 {
  let d = <f64>divisor(p);
  if (d == 0) d = 65536;
  return (bitsPerChar(p) * d * 1e9) / BASE_BAUD;
}

// @ts-ignore: decorator
@inline
export function fifoOn(p: usize): bool {
  return (load<u8>(p + S_FCR) & FCR_ENABLE) != 0;
}

/**
 * A byte was received or RBR was read: restart the 4-character window. The
 * timer only runs when a timeout could follow (pc16550d, FIFO mode, data in).
 */
// @ts-ignore: decorator
@inline
export function restartTimeout(p: usize): void {
  store<f64>(p + S_LASTACT, load<f64>(p + S_NOW));
  const armed = load<u8>(p + S_PROFILE) == PROFILE_PC16550D && fifoOn(p) && rxCount(p) != 0;
  store<u8>(p + S_CTIARMED, armed ? 1 : 0);
  if (armed) refreshDeadline(p);
}

/**
 * charTimeNs(), remembered with the LCR bits and divisor it was computed for:
 * every received byte restarts the window, and the division is not free, but
 * line settings change rarely. A key mismatch (or the zeroed slot) recomputes.
 */
// @ts-ignore: decorator
@inline
function charTimeCached(p: usize): f64 {
  const key = (<u32>load<u8>(p + S_LCR) & (LCR_WLEN | LCR_STOP | LCR_PARITY)) | (divisor(p) << 8) | (1 << 31);
  if (load<u32>(p + S_CTKEY) == key) return load<f64>(p + S_CHARTIME);
  return charTimeMiss(p, key);
}

function charTimeMiss(p: usize, key: u32): f64 {
  const t = charTimeNs(p);
  store<u32>(p + S_CTKEY, key);
  store<f64>(p + S_CHARTIME, t);
  return t;
}

/** S_DEADLINE from the window start and the character time (after either changed). */
// @ts-ignore: decorator
@inline
export function refreshDeadline(p: usize): void {
  store<f64>(p + S_DEADLINE, load<f64>(p + S_LASTACT) + 4 * charTimeCached(p));
}

/** Fire the timeout if its deadline has passed; true if CTI became pending. */
export function checkTimeout(p: usize): bool {
  if (load<u8>(p + S_CTIARMED) == 0) return false;
  if (load<f64>(p + S_NOW) < load<f64>(p + S_DEADLINE)) return false;
  store<u8>(p + S_CTIARMED, 0);
  store<u8>(p + S_CTIP, 1);
  return true;
}
