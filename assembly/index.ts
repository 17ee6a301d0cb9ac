/**
 * Exports of the 16550A core (numbers only; see src/uart for the TS face).
 *
 * Every export takes the port handle first and returns a negative E_* code
 * for a dead handle or an out-of-range argument, so the wrapper can turn it
 * into EINVAL without pre-checking on the hot path.
 */
import {
  S_PROFILE, S_WIRING, S_MODEMIN, S_FLAGS, S_IRQ, S_NOW, S_LCR, S_CTIP, S_CTIARMED, S_LSRFAST, S_SCR, S_DEADLINE, FLAG_OUT2GATE,
  PROFILE_MTTY, PROFILE_COUNT, E_HANDLE, E_ARG, E_STATE,
} from './layout';
import { defineProfile } from './profiles';
import { publish } from './published';
import { IO, IO_SIZE, slot, valid, allocSlot, freeSlot, live } from './table';
import { pcPeek, pcRead, pcWrite } from './regs';
import { mttyPeek, mttyRead, mttyWrite } from './mtty';
import { receiveFromHost, rxSpace } from './line';
import { msrInputs, latchDeltas, modemOutputs } from './modem';
import { updateIrq } from './irq';
import { checkTimeout, restartTimeout, charTimeNs, divisor } from './timing';
import { masterReset } from './reset';
import { writeMany, readMany, writeReadMany, receiveMany, exchange } from './batch';
import { save, restore, toMtty, fromMtty } from './snapshot';
import { LSR_PE, LSR_FE, LSR_BI } from './regbits';

export { E_HANDLE, E_ARG, E_STATE };

export function io_ptr(): usize {
  return IO;
}

export function io_size(): u32 {
  return IO_SIZE;
}

export function live_ports(): u32 {
  return live();
}

/** Profiles the core implements (codes 0..count-1). */
export function profile_count(): u32 {
  return PROFILE_COUNT;
}

/** A profile's reset values from its definition (src/uart/profile.ts); 0 ok, E_ARG bad code/value. */
export function uart_define_profile(code: u32, resetDivisor: u32): i32 {
  return defineProfile(code, resetDivisor) ? 0 : E_ARG;
}

/**
 * Address of the port's slot in linear memory (0 for a dead handle). The
 * wrapper reads the "character timeout armed" byte (layout.ts S_CTIARMED)
 * there directly: one memory load instead of a call per register access.
 * Slots never move (memory only grows at the end).
 */
export function uart_slot(h: u32): usize {
  return valid(h) ? slot(h) : 0;
}

/** Offset of the armed byte inside a slot. */
export function slot_armed_offset(): u32 {
  return S_CTIARMED;
}

/** Offsets of the f64 fields the wrapper reads for the next deadline (timing.ts): the port's time and the due time. */
export function slot_now_offset(): u32 {
  return S_NOW;
}
export function slot_deadline_offset(): u32 {
  return S_DEADLINE;
}

/** Offset of the published LSR byte inside a slot (published.ts; 0xFF = read it through uart_read). */
export function slot_lsr_offset(): u32 {
  return S_LSRFAST;
}

/** Where SCR lives in a slot: plain storage in both profiles (no side effect, no callback), so the wrapper reads and writes it there. */
export function slot_scr_offset(): u32 {
  return S_SCR;
}

/** New port after a master reset; 0 if memory is exhausted or arguments are bad. */
export function uart_create(profile: u32, wiring: u32, modemInputs: u32): u32 {
  if (profile >= PROFILE_COUNT || wiring > 1 || (modemInputs & ~0xf0) != 0) return 0;
  const h = allocSlot();
  if (h == 0) return 0;
  const p = slot(h);
  store<u8>(p + S_PROFILE, <u8>profile);
  store<u8>(p + S_WIRING, <u8>wiring);
  store<u8>(p + S_MODEMIN, <u8>modemInputs);
  masterReset(h, p);
  publish(p);
  return h;
}

export function uart_dispose(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  freeSlot(h);
  return 0;
}

export function uart_read(h: u32, off: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (off > 7) return E_ARG;
  const p = slot(h);
  const v = load<u8>(p + S_PROFILE) == PROFILE_MTTY ? mttyRead(h, p, off) : pcRead(h, p, off);
  // Only RBR (pops a byte) and LSR (clears error bits) reads change what LSR shows.
  if (off == 0 || off == 5) publish(p);
  return v;
}

export function uart_peek(h: u32, off: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (off > 7) return E_ARG;
  const p = slot(h);
  return load<u8>(p + S_PROFILE) == PROFILE_MTTY ? mttyPeek(p, off) : pcPeek(p, off);
}

export function uart_write(h: u32, off: u32, v: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (off > 7 || v > 0xff) return E_ARG;
  const p = slot(h);
  if (load<u8>(p + S_PROFILE) == PROFILE_MTTY) mttyWrite(h, p, off, v);
  else pcWrite(h, p, off, v);
  // Only THR (data in, overrun) and FCR (FIFO mode, resets) writes change what
  // LSR shows, in either profile; the rest leave the published byte right.
  if (off == 0 || off == 2) publish(p);
  return 0;
}

/** 1 accepted, 0 dropped (overrun, or SIN disconnected in loopback). */
export function uart_receive(h: u32, byte: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (byte > 0xff) return E_ARG;
  const p = slot(h);
  const ok = receiveFromHost(h, p, byte, 0);
  publish(p);
  return ok ? 1 : 0;
}

/** A byte received with line errors (PE 0x04, FE 0x08, BI 0x10 as in LSR); a break is (0, BI). */
export function uart_receive_error(h: u32, byte: u32, lsrBits: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (byte > 0xff || (lsrBits & ~(<u32>(LSR_PE | LSR_FE | LSR_BI))) != 0) return E_ARG;
  const p = slot(h);
  const ok = receiveFromHost(h, p, byte, lsrBits);
  publish(p);
  return ok ? 1 : 0;
}

export function uart_rx_space(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  return rxSpace(slot(h));
}

export function uart_write_many(h: u32, n: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (n > IO_SIZE) return E_ARG;
  const p = slot(h);
  const got = writeMany(h, p, IO, n);
  publish(p);
  return got;
}

export function uart_read_many(h: u32, max: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (max > IO_SIZE) return E_ARG;
  const p = slot(h);
  const got = readMany(h, p, IO, max);
  publish(p);
  return got;
}

/**
 * uart_write_many of IO[0..n) then uart_read_many of up to max bytes into
 * IO[0..), in one call: the staged batch (src/uart Uart.writeReadStaged) for
 * a caller that fills the io buffer itself, e.g. a loopback-wired port whose
 * bytes come straight back. Same effects as the two calls in sequence.
 * Returns (bytes written << 16) | bytes read (both <= IO_SIZE), or E_*.
 */
export function uart_write_read_many(h: u32, n: u32, max: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (n > IO_SIZE || max > IO_SIZE) return E_ARG;
  const p = slot(h);
  const r = writeReadMany(h, p, IO, n, IO, max);
  publish(p);
  return <i32>r;
}

/**
 * batch.ts exchange(): IO[0..n) out a burst at a time, what comes back read
 * into IO[n..) after each burst (a staged loopback of many FIFOs' worth in
 * one call). Returns (bytes written << 16) | bytes read, or E_*.
 */
export function uart_exchange(h: u32, n: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (n > IO_SIZE) return E_ARG;
  const p = slot(h);
  const r = exchange(h, p, n);
  publish(p);
  return <i32>r;
}

export function uart_receive_many(h: u32, n: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (n > IO_SIZE) return E_ARG;
  const p = slot(h);
  const got = receiveMany(h, p, n);
  publish(p);
  return got;
}

export function uart_set_modem_inputs(h: u32, bits: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if ((bits & ~0xf0) != 0) return E_ARG;
  const p = slot(h);
  const before = msrInputs(p);
  store<u8>(p + S_MODEMIN, <u8>bits);
  latchDeltas(p, before, msrInputs(p));
  updateIrq(h, p);
  publish(p);
  return 0;
}

export function uart_modem_inputs(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  return load<u8>(slot(h) + S_MODEMIN);
}

export function uart_modem_outputs(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  return modemOutputs(slot(h));
}

/** Divisor latch (DLM:DLL) regardless of DLAB. */
export function uart_divisor(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  return divisor(slot(h));
}

export function uart_lcr(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  return load<u8>(slot(h) + S_LCR);
}

export function uart_char_time(h: u32): f64 {
  if (!valid(h)) return E_HANDLE;
  return charTimeNs(slot(h));
}

export function uart_advance(h: u32, ns: f64): i32 {
  if (!valid(h)) return E_HANDLE;
  if (!(ns >= 0 && ns < Infinity)) return E_ARG;
  const p = slot(h);
  store<f64>(p + S_NOW, load<f64>(p + S_NOW) + ns);
  if (checkTimeout(p)) updateIrq(h, p);
  publish(p);
  return 0;
}

export function uart_now(h: u32): f64 {
  if (!valid(h)) return E_HANDLE;
  return load<f64>(slot(h) + S_NOW);
}


export function uart_irq(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  return load<u8>(slot(h) + S_IRQ);
}

export function uart_profile(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  return load<u8>(slot(h) + S_PROFILE);
}

/** Switch profile keeping register state; the level is re-derived under the new rules. */
export function uart_set_profile(h: u32, profile: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (profile >= PROFILE_COUNT) return E_ARG;
  const p = slot(h);
  if (<u32>load<u8>(p + S_PROFILE) != profile) {
    // A pending timeout indication is a pc16550d state; the sample has none. Drop
    // it at a real switch so a later switch back cannot show 0xCC with FIFOs off.
    store<u8>(p + S_CTIP, 0);
  }
  store<u8>(p + S_PROFILE, <u8>profile);
  // The timeout window restarts at the switch: armed under pc16550d rules, off under mtty.
  restartTimeout(p);
  updateIrq(h, p);
  publish(p); // LSR follows the profile's rules
  return 0;
}

export function uart_wiring(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  return load<u8>(slot(h) + S_WIRING);
}

export function uart_set_wiring(h: u32, wiring: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  if (wiring > 1) return E_ARG;
  store<u8>(slot(h) + S_WIRING, <u8>wiring);
  return 0;
}

/** PC-board OUT2 gating of INTR (off by default, as in QEMU and mtty). */
export function uart_set_out2_gate(h: u32, on: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  const p = slot(h);
  const f = load<u8>(p + S_FLAGS);
  store<u8>(p + S_FLAGS, on != 0 ? f | FLAG_OUT2GATE : f & ~FLAG_OUT2GATE);
  updateIrq(h, p);
  publish(p);
  return 0;
}

export function uart_out2_gate(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  return (load<u8>(slot(h) + S_FLAGS) & FLAG_OUT2GATE) != 0 ? 1 : 0;
}

export function uart_reset(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  const p = slot(h);
  masterReset(h, p);
  publish(p);
  return 0;
}

/** Full snapshot into IO; returns its length. */
export function uart_save(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  return save(slot(h));
}

export function uart_restore(h: u32, len: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  const p = slot(h);
  const r = restore(h, p, len);
  publish(p);
  return r;
}

export function uart_to_mtty(h: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  return toMtty(slot(h));
}

export function uart_from_mtty(h: u32, len: u32): i32 {
  if (!valid(h)) return E_HANDLE;
  const p = slot(h);
  const r = fromMtty(h, p, len);
  publish(p);
  return r;
}
