/**
 * Port state in and out through the io buffer.
 *
 * 1. Full snapshot (saveState/restoreState): "UART", u16 version, u16 length,
 *    then the STATE_BYTES of the slot verbatim (little-endian f64 clocks).
 *    Restore checks every field's range before touching the port, so a bad
 *    blob leaves the port unchanged. Version 2 added RBR's last byte (S_RBR);
 *    a version 1 blob (88 state bytes) still restores, with that byte 0.
 *
 * 2. The kernel sample's 36-byte `struct serial_port` (mtty migration stream):
 *      0-7   uart_reg[8]: [1]=IER (raw), [3]=LCR, [4]=MCR, [7]=SCR; 0,2,5,6 are 0
 *            (the sample never stores THR/IIR/LSR/MSR there)
 *      8-23  fifo[16]: our RX ring, same slot positions
 *      24 head = (tail + count) & 15, 25 tail = our RX head index, 26 count
 *      27 dlab = LCR bit 7, 28 overrun = LSR.OE, 29 pad
 *      30-31 divisor u16 LE = DLM:DLL, 32 fcr, 33 max_fifo_size, 34 intr_trigger_level, 35 pad
 *    Lost on export: PE/FE/BI and their per-byte flags, MSR deltas, THRE/CTI
 *    pending, the TX FIFO (always empty) and the clocks. Import resets those,
 *    except THRE pending, which import sets (the transmitter is empty).
 */
import {
  STATE_BYTES, S_FLAGS, S_IRQ, S_RXHEAD, S_RXCOUNT, S_TXHEAD, S_TXCOUNT, S_RXERRS, S_RXFLAGS,
  S_PROFILE, S_WIRING, S_MTTYMAX, S_CTIARMED, S_THRP, S_CTIP, S_NOW, S_LASTACT, S_LSRERR,
  S_MSRDELTA, S_MODEMIN, S_IER, S_LCR, S_MCR, S_SCR, S_RXDATA, S_DLL, S_DLM, S_FCR, S_MTTYTRIG,
  FLAG_INUSE, FLAG_OUT2GATE, FIFO_SIZE, FIFO_MASK, E_STATE, PROFILE_COUNT, STATE_BYTES_V1, S_RBR,
} from './layout';
import { LSR_ERRORS, LSR_OE, LSR_PE, LSR_FE, LSR_BI, LCR_DLAB } from './regbits';
import { IO } from './table';
import { updateIrq } from './irq';
import { restartTimeout, checkTimeout, refreshDeadline } from './timing';
import { txClear } from './fifo';

export const SNAP_VERSION: u32 = 2;
export const SNAP_HEADER: u32 = 8;
export const SNAP_BYTES: u32 = SNAP_HEADER + STATE_BYTES;
export const MTTY_RECORD_BYTES: u32 = 36;

export function save(p: usize): u32 {
  store<u8>(IO, 0x55); // 'U'
  store<u8>(IO + 1, 0x41); // 'A'
  store<u8>(IO + 2, 0x52); // 'R'
  store<u8>(IO + 3, 0x54); // 'T'
  store<u16>(IO + 4, <u16>SNAP_VERSION);
  store<u16>(IO + 6, <u16>STATE_BYTES);
  memory.copy(IO + SNAP_HEADER, p, STATE_BYTES);
  store<u8>(IO + SNAP_HEADER + S_FLAGS, load<u8>(p + S_FLAGS) & ~FLAG_INUSE);
  return SNAP_BYTES;
}

function finiteNonNeg(x: f64): bool {
  return x >= 0 && x < Infinity;
}

/** Range checks of a snapshot payload at s (no side effects). */
function check(s: usize): bool {
  if ((load<u8>(s + S_FLAGS) & ~(FLAG_INUSE | FLAG_OUT2GATE)) != 0) return false;
  if (load<u8>(s + S_RXHEAD) >= FIFO_SIZE || load<u8>(s + S_RXCOUNT) > FIFO_SIZE) return false;
  if (load<u8>(s + S_TXHEAD) >= FIFO_SIZE || load<u8>(s + S_TXCOUNT) > FIFO_SIZE) return false;
  if (<u32>load<u8>(s + S_PROFILE) >= PROFILE_COUNT || load<u8>(s + S_WIRING) > 1) return false;
  if (load<u8>(s + S_THRP) > 1 || load<u8>(s + S_CTIP) > 1 || load<u8>(s + S_CTIARMED) > 1) return false;
  if (load<u8>(s + S_IRQ) > 1) return false;
  const max = load<u8>(s + S_MTTYMAX);
  if (max != 1 && max != 16) return false;
  if ((load<u8>(s + S_LSRERR) & ~LSR_ERRORS) != 0) return false;
  if ((load<u8>(s + S_MSRDELTA) & 0xf0) != 0 || (load<u8>(s + S_MODEMIN) & 0x0f) != 0) return false;
  if (!finiteNonNeg(load<f64>(s + S_NOW)) || !finiteNonNeg(load<f64>(s + S_LASTACT))) return false;
  // Per-entry error flags: only PE/FE/BI, only on live entries, and the count must match.
  const head = <u32>load<u8>(s + S_RXHEAD);
  const count = <u32>load<u8>(s + S_RXCOUNT);
  let errs: u32 = 0;
  for (let i: u32 = 0; i < FIFO_SIZE; i++) {
    const f = <u32>load<u8>(s + S_RXFLAGS + i);
    if ((f & ~(<u32>(LSR_PE | LSR_FE | LSR_BI))) != 0) return false;
    const live = ((i - head) & FIFO_MASK) < count;
    if (f != 0 && !live) return false;
    if (f != 0) errs++;
  }
  return errs == <u32>load<u8>(s + S_RXERRS);
}

/** Restore from IO[0..len); E_STATE (the port untouched) if anything is off. */
export function restore(h: u32, p: usize, len: u32): i32 {
  if (load<u8>(IO) != 0x55 || load<u8>(IO + 1) != 0x41 || load<u8>(IO + 2) != 0x52 || load<u8>(IO + 3) != 0x54) return E_STATE;
  const version = <u32>load<u16>(IO + 4);
  const bytes: u32 = version == SNAP_VERSION ? STATE_BYTES : version == 1 ? STATE_BYTES_V1 : 0;
  if (bytes == 0 || len != SNAP_HEADER + bytes || <u32>load<u16>(IO + 6) != bytes) return E_STATE;
  if (!check(IO + SNAP_HEADER)) return E_STATE;
  const level = load<u8>(p + S_IRQ); // what the host currently believes
  memory.copy(p, IO + SNAP_HEADER, bytes);
  if (bytes < STATE_BYTES) store<u8>(p + S_RBR, 0);
  store<u8>(p + S_FLAGS, load<u8>(p + S_FLAGS) | FLAG_INUSE);
  store<u8>(p + S_IRQ, level);
  // A snapshot whose timeout is already due fires it now, as an LCR write would
  // (regs.ts charTimeChanged): a running timeout always has a deadline ahead.
  refreshDeadline(p);
  checkTimeout(p);
  updateIrq(h, p); // re-assert (or drop) the line to match the restored state
  return 0;
}

export function toMtty(p: usize): u32 {
  memory.fill(IO, 0, MTTY_RECORD_BYTES);
  store<u8>(IO + 1, load<u8>(p + S_IER));
  store<u8>(IO + 3, load<u8>(p + S_LCR));
  store<u8>(IO + 4, load<u8>(p + S_MCR));
  store<u8>(IO + 7, load<u8>(p + S_SCR));
  memory.copy(IO + 8, p + S_RXDATA, FIFO_SIZE);
  const tail = <u32>load<u8>(p + S_RXHEAD);
  const count = <u32>load<u8>(p + S_RXCOUNT);
  store<u8>(IO + 24, <u8>((tail + count) & FIFO_MASK));
  store<u8>(IO + 25, <u8>tail);
  store<u8>(IO + 26, <u8>count);
  store<u8>(IO + 27, (load<u8>(p + S_LCR) & LCR_DLAB) != 0 ? 1 : 0);
  store<u8>(IO + 28, (load<u8>(p + S_LSRERR) & LSR_OE) != 0 ? 1 : 0);
  store<u8>(IO + 30, load<u8>(p + S_DLL));
  store<u8>(IO + 31, load<u8>(p + S_DLM));
  store<u8>(IO + 32, load<u8>(p + S_FCR));
  store<u8>(IO + 33, load<u8>(p + S_MTTYMAX));
  store<u8>(IO + 34, load<u8>(p + S_MTTYTRIG));
  return MTTY_RECORD_BYTES;
}

export function fromMtty(h: u32, p: usize, len: u32): i32 {
  if (len != MTTY_RECORD_BYTES) return E_STATE;
  const head = <u32>load<u8>(IO + 24);
  const tail = <u32>load<u8>(IO + 25);
  const count = <u32>load<u8>(IO + 26);
  const max = <u32>load<u8>(IO + 33);
  if (count > FIFO_SIZE || head >= FIFO_SIZE || tail >= FIFO_SIZE) return E_STATE;
  if (((tail + count) & FIFO_MASK) != head) return E_STATE;
  if (max != 1 && max != 16) return E_STATE;
  if (load<u8>(IO + 27) > 1 || load<u8>(IO + 28) > 1) return E_STATE;
  store<u8>(p + S_IER, load<u8>(IO + 1));
  const dlab: u8 = load<u8>(IO + 27) != 0 ? LCR_DLAB : 0;
  store<u8>(p + S_LCR, (load<u8>(IO + 3) & ~LCR_DLAB) | dlab);
  store<u8>(p + S_MCR, load<u8>(IO + 4));
  store<u8>(p + S_SCR, load<u8>(IO + 7));
  memory.copy(p + S_RXDATA, IO + 8, FIFO_SIZE);
  memory.fill(p + S_RXFLAGS, 0, FIFO_SIZE);
  store<u8>(p + S_RXHEAD, <u8>tail);
  store<u8>(p + S_RXCOUNT, <u8>count);
  store<u8>(p + S_RXERRS, 0);
  store<u8>(p + S_LSRERR, load<u8>(IO + 28) != 0 ? LSR_OE : 0);
  store<u8>(p + S_DLL, load<u8>(IO + 30));
  store<u8>(p + S_DLM, load<u8>(IO + 31));
  store<u8>(p + S_FCR, load<u8>(IO + 32));
  store<u8>(p + S_MTTYMAX, <u8>max);
  store<u8>(p + S_MTTYTRIG, load<u8>(IO + 34));
  store<u8>(p + S_MSRDELTA, 0);
  // The transmitter is empty after the import and the record cannot say whether
  // its THRE interrupt was already acknowledged: re-assert it (as vm-superio's
  // from_state does). A spurious THRE costs a driver one IIR read; a lost one
  // stalls its TX for good (Firecracker's "TX stall after snapshot restore").
  store<u8>(p + S_THRP, 1);
  store<u8>(p + S_CTIP, 0);
  store<u8>(p + S_RBR, 0); // not in the record
  txClear(p);
  restartTimeout(p);
  updateIrq(h, p);
  return 0;
}
