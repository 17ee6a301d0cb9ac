/**
 * The serial line: bytes arriving on SIN and bytes leaving SOUT.
 *
 * Transmission is instantaneous (as in QEMU): a THR byte passes through the
 * TX FIFO and shift register at once, so THRE/TEMT are back before the write
 * returns. Where the byte goes:
 *   MCR.LOOP            -> this port's own receiver (SOUT stays idle)
 *   wiring 'loopback'   -> this port's own receiver too (mtty's host loop)
 *   wiring 'host'       -> the transmit import (host back-end)
 * Not modelled (as in QEMU): the datasheet's ~1 character delay of THRE when
 * the TX FIFO never held two bytes, and any baud-rate pacing of output; a
 * host that wants pacing throttles on its side (lineSettings gives the rate).
 */
import { S_LSRERR, S_MCR, S_PROFILE, S_WIRING, S_THRP, S_MTTYMAX, S_RBR, FIFO_SIZE, PROFILE_MTTY, WIRING_LOOPBACK } from './layout';
import { LSR_OE, MCR_LOOP } from './regbits';
import { rxCount, rxPush, rxOverwriteNewest, txPush, txPop, txCount } from './fifo';
import { fifoOn, restartTimeout } from './timing';
import { updateIrq } from './irq';
import { hostTransmit } from './host';
import { mttyAccept } from './mtty';

/**
 * A byte completes in the receiver (pc16550d). FIFO mode: a full FIFO keeps
 * its contents, the new byte is lost, OE is set. 16450 mode: the holding
 * register is overwritten and OE is set. Returns false on overrun.
 */
// @ts-ignore: decorator
@inline
export function pcAccept(h: u32, p: usize, byte: u32, flags: u32): bool {
  const c = rxCount(p);
  let ok = true;
  if (c < (fifoOn(p) ? FIFO_SIZE : 1)) {
    rxPush(p, byte, flags);
    // RBR as a plain register exists in 16450 mode only (QEMU's s->rbr too:
    // bytes received in FIFO mode do not change what an empty read shows later).
    if (!fifoOn(p)) store<u8>(p + S_RBR, <u8>byte);
  } else {
    ok = false;
    if (!fifoOn(p)) {
      rxOverwriteNewest(p, byte, flags);
      store<u8>(p + S_RBR, <u8>byte);
    }
    store<u8>(p + S_LSRERR, load<u8>(p + S_LSRERR) | LSR_OE);
  }
  restartTimeout(p);
  updateIrq(h, p);
  return ok;
}

/** Free receiver entries the host may fill without overrun (0 while SIN is disconnected). */
export function rxSpace(p: usize): u32 {
  if (load<u8>(p + S_PROFILE) == PROFILE_MTTY) {
    const max = <u32>load<u8>(p + S_MTTYMAX);
    const c = rxCount(p);
    return c < max ? max - c : 0;
  }
  if ((load<u8>(p + S_MCR) & MCR_LOOP) != 0) return 0;
  const cap: u32 = fifoOn(p) ? FIFO_SIZE : 1;
  const c = rxCount(p);
  return c < cap ? cap - c : 0;
}

/** A byte arriving on SIN from the host. In loopback mode SIN is disconnected: dropped. */
export function receiveFromHost(h: u32, p: usize, byte: u32, flags: u32): bool {
  if (load<u8>(p + S_PROFILE) == PROFILE_MTTY) return mttyAccept(h, p, byte);
  if ((load<u8>(p + S_MCR) & MCR_LOOP) != 0) return false;
  return pcAccept(h, p, byte, flags);
}

/**
 * THR write (pc16550d). INTR drops while THR is full and rises again when it
 * empties; QEMU logs exactly this low/high pair for every THR write with
 * THRE enabled, so the replay can compare it.
 */
// @ts-ignore: decorator
@inline
export function pcTransmit(h: u32, p: usize, byte: u32): void {
  if (load<u8>(p + S_THRP) != 0) {
    store<u8>(p + S_THRP, 0);
    updateIrq(h, p); // only a pending THRE can make the line drop here
  }
  if (txCount(p) == 0) {
    // The usual case: THR -> shift register -> line at once, the FIFO never holds it.
    deliver(h, p, byte);
  } else {
    txPush(p, byte);
    while (txCount(p) != 0) deliver(h, p, txPop(p));
  }
  store<u8>(p + S_THRP, 1);
  updateIrq(h, p);
}

// @ts-ignore: decorator
@inline
function deliver(h: u32, p: usize, b: u32): void {
  if ((load<u8>(p + S_MCR) & MCR_LOOP) != 0 || load<u8>(p + S_WIRING) == WIRING_LOOPBACK) {
    pcAccept(h, p, b, 0);
  } else {
    hostTransmit(h, p, b);
  }
}
