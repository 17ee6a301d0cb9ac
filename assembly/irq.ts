/**
 * Interrupt identification and the INTR output.
 *
 * pc16550d: IIR shows exactly one source, the highest-priority enabled one
 * (RLS > CTI/RDA > THRE > MS); INTR is high while any enabled source is
 * pending. The level is recomputed after every side effect and reported to
 * the host only when it changes.
 *
 * mtty: the sample ORs the ids of its conditions together and always sets
 * 0xC0; its "level" here is simply "IIR does not say no-interrupt" (what a
 * guest polling IIR would conclude). The sample's real interrupts are the
 * edge events raised at its trigger points (mtty.ts -> hostIrqPulse).
 */
import {
  S_IER, S_LSRERR, S_CTIP, S_THRP, S_MSRDELTA, S_FCR, S_IRQ, S_PROFILE, S_FLAGS, S_MCR,
  S_MTTYTRIG, PROFILE_MTTY, FLAG_OUT2GATE,
} from './layout';
import {
  IER_RDI, IER_THRI, IER_RLSI, IER_MSI, IIR_NONE, IIR_RLSI, IIR_CTI, IIR_RDI, IIR_THRI, IIR_MSI,
  IIR_FIFO, LSR_ERRORS, LSR_OE, MCR_OUT2, MCR_LOOP,
} from './regbits';
import { rxCount } from './fifo';
import { fifoOn } from './timing';
import { hostIrqLine } from './host';

/** RX trigger level of FCR bits 7:6. */
// @ts-ignore: decorator
@inline
export function triggerLevel(p: usize): u32 {
  const t = <u32>load<u8>(p + S_FCR) >> 6;
  return t == 0 ? 1 : t == 1 ? 4 : t == 2 ? 8 : 14;
}

/** Highest-priority enabled pending source (IIR bits 0-3), IIR_NONE if none. */
// @ts-ignore: decorator
@inline
export function pendingId(p: usize): u32 {
  const ier = <u32>load<u8>(p + S_IER);
  if ((ier & IER_RLSI) != 0 && (load<u8>(p + S_LSRERR) & LSR_ERRORS) != 0) return IIR_RLSI;
  if ((ier & IER_RDI) != 0) {
    if (load<u8>(p + S_CTIP) != 0) return IIR_CTI;
    const c = rxCount(p);
    if (fifoOn(p) ? c >= triggerLevel(p) : c != 0) return IIR_RDI;
  }
  if ((ier & IER_THRI) != 0 && load<u8>(p + S_THRP) != 0) return IIR_THRI;
  if ((ier & IER_MSI) != 0 && load<u8>(p + S_MSRDELTA) != 0) return IIR_MSI;
  return IIR_NONE;
}

/** IIR as read, without side effects (pc16550d): bits 6-7 only while FIFOs are on. */
// @ts-ignore: decorator
@inline
export function pcIir(p: usize): u32 {
  return pendingId(p) | (fifoOn(p) ? IIR_FIFO : 0);
}

/** IIR of the mtty sample: OR of its condition ids, 0xC0 always. */
export function mttyIir(p: usize): u32 {
  const ier = <u32>load<u8>(p + S_IER);
  const c = rxCount(p);
  let v: u32 = 0;
  if ((ier & IER_RLSI) != 0 && (load<u8>(p + S_LSRERR) & LSR_OE) != 0) v |= IIR_RLSI;
  if ((ier & IER_RDI) != 0 && c >= <u32>load<u8>(p + S_MTTYTRIG)) v |= IIR_RDI;
  if ((ier & IER_THRI) != 0 && c == 0) v |= IIR_THRI;
  // An MS condition contributes id 0, i.e. it is invisible (the sample's quirk).
  if (v == 0) v = IIR_NONE;
  return v | IIR_FIFO;
}

// @ts-ignore: decorator
@inline
function levelNow(p: usize): bool {
  // Both profiles need an enabled source: with IER's low nibble clear the line is low.
  if ((load<u8>(p + S_IER) & 0x0f) == 0) return false;
  const raw = load<u8>(p + S_PROFILE) == PROFILE_MTTY ? (mttyIir(p) & 1) == 0 : pendingId(p) != IIR_NONE;
  if (!raw) return false;
  if ((load<u8>(p + S_FLAGS) & FLAG_OUT2GATE) == 0) return true;
  // PC-board gating: OUT2 drives the IRQ buffer; in loopback the pin is forced inactive.
  const mcr = <u32>load<u8>(p + S_MCR);
  return (mcr & MCR_OUT2) != 0 && (mcr & MCR_LOOP) == 0;
}

/** Recompute INTR; tell the host only on a change. */
// @ts-ignore: decorator
@inline
export function updateIrq(h: u32, p: usize): void {
  const level: u8 = levelNow(p) ? 1 : 0;
  if (level != load<u8>(p + S_IRQ)) {
    store<u8>(p + S_IRQ, level);
    hostIrqLine(h, p, level);
  }
}

