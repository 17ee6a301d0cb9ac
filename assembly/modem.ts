/**
 * Modem status: what MSR bits 4-7 show and when delta bits 0-3 latch.
 *
 * Normally the high nibble is the host's modem input pins. With MCR.LOOP the
 * inputs are disconnected and driven by the modem outputs inside the chip:
 * RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. Any change of the visible nibble
 * (a pin change, an MCR write in loopback, entering/leaving loopback) latches
 * the delta bits; TERI latches only on RI's trailing edge (bit 6 1->0).
 */
import { S_MCR, S_MODEMIN, S_MSRDELTA } from './layout';
import { MCR_LOOP, MCR_RTS, MCR_DTR, MCR_OUT1, MCR_OUT2, MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD, MSR_TERI } from './regbits';

/** MSR bits 4-7 as the chip sees them now. */
export function msrInputs(p: usize): u32 {
  const mcr = <u32>load<u8>(p + S_MCR);
  if ((mcr & MCR_LOOP) == 0) return load<u8>(p + S_MODEMIN);
  return ((mcr & MCR_RTS) << 3) | ((mcr & MCR_DTR) << 5) | ((mcr & MCR_OUT1) << 4) | ((mcr & MCR_OUT2) << 4);
}

/** Latch delta bits for a change of the visible inputs from `before` to `after`. */
export function latchDeltas(p: usize, before: u32, after: u32): void {
  const changed = before ^ after;
  if (changed == 0) return;
  let d: u32 = (changed & (MSR_CTS | MSR_DSR | MSR_DCD)) >> 4;
  if ((before & MSR_RI) != 0 && (after & MSR_RI) == 0) d |= MSR_TERI;
  store<u8>(p + S_MSRDELTA, load<u8>(p + S_MSRDELTA) | <u8>d);
}

/** The modem outputs the far end sees: forced inactive in loopback. */
export function modemOutputs(p: usize): u32 {
  const mcr = <u32>load<u8>(p + S_MCR);
  if (mcr & MCR_LOOP) return 0;
  return mcr & (MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2);
}
