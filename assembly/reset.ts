/**
 * Master reset (datasheet "UART reset configuration" table).
 *
 * Reset: IER 0, IIR 0x01, FCR 0 (16450 mode, FIFOs empty), LCR 0, MCR 0,
 * LSR 0x60, MSR deltas 0 (bits 4-7 follow the modem input pins).
 * Not in the table (power-on undefined), our choice, documented:
 *   SCR 0, RBR's last byte 0; the divisor comes from the profile definition
 *   (src/uart/profile.ts: 0x000C = 9600 baud for 'pc16550d', what QEMU and
 *   vm-superio start with; 0 for 'mtty', the sample's kzalloc'ed state).
 * Board configuration survives a reset: profile, wiring, modem input pins,
 * OUT2 gating and the virtual clock.
 */
import {
  S_IER, S_LCR, S_MCR, S_LSRERR, S_MSRDELTA, S_SCR, S_FCR, S_DLL, S_DLM, S_THRP, S_CTIP,
  S_MTTYTRIG, S_MTTYMAX, S_PROFILE, S_RBR,
} from './layout';
import { resetDivisor } from './profiles';
import { rxClear, txClear } from './fifo';
import { updateIrq } from './irq';

export function masterReset(h: u32, p: usize): void {
  store<u8>(p + S_IER, 0);
  store<u8>(p + S_LCR, 0);
  store<u8>(p + S_MCR, 0);
  store<u8>(p + S_LSRERR, 0);
  store<u8>(p + S_MSRDELTA, 0);
  store<u8>(p + S_SCR, 0);
  store<u8>(p + S_FCR, 0);
  const d = resetDivisor(load<u8>(p + S_PROFILE));
  store<u8>(p + S_DLL, <u8>d);
  store<u8>(p + S_DLM, <u8>(d >> 8));
  store<u8>(p + S_RBR, 0);
  store<u8>(p + S_THRP, 0);
  store<u8>(p + S_CTIP, 0);
  store<u8>(p + S_MTTYTRIG, 0);
  store<u8>(p + S_MTTYMAX, 16);
  rxClear(p);
  txClear(p);
  updateIrq(h, p);
}
