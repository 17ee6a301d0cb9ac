/**
 * Profile 'mtty': the observable register behaviour of the kernel's sample
 * driver (samples/vfio-mdev/mtty.c), reproduced from its documented facts.
 *
 * Kept: one ring for TX and RX (with wiring 'loopback' every THR byte lands in
 * RBR), IIR = OR of condition ids | 0xC0, trigger level 0 until the first FCR
 * write and 1 after it, divisor bytes ORed in and zeroed when DLAB is set,
 * IER read &0x0F, MCR stored raw, MSR constant 0xB3, LSR THRE/TEMT only while
 * the ring is empty, OE cleared only by the next accepted byte, and the six
 * edge-triggered interrupt points (hostIrqPulse). The IIR RX test is the
 * current kernel's `count >= level` (kernels before ~5.10 used `==`).
 *
 * Not kept (memory-unsafe or undefined in the sample): an empty RBR read
 * returns what the chip's would (regs.ts emptyRbr: the last byte with FCR
 * bit 0 clear, else 0) instead of stack garbage, and the ring uses a count,
 * so 16 queued bytes read as full instead of the sample's "head == tail looks
 * empty" lock-up.
 */
import {
  S_IER, S_LCR, S_MCR, S_LSRERR, S_SCR, S_FCR, S_DLL, S_DLM, S_MTTYTRIG, S_MTTYMAX, S_WIRING,
  S_RXDATA, S_RXHEAD, S_RBR, WIRING_LOOPBACK,
} from './layout';
import { emptyRbr } from './regs';
import {
  LCR_DLAB, IER_RDI, IER_THRI, IER_RLSI, IER_MSI, LSR_DR, LSR_OE, LSR_THRE, LSR_TEMT,
  MCR_OUT2, MCR_RTS, MCR_DTR, MCR_AFE, FCR_ENABLE, FCR_CLEAR_RX, FCR_CLEAR_TX,
} from './regbits';
import { rxCount, rxPush, rxPop, rxClear } from './fifo';
import { mttyIir, updateIrq } from './irq';
import { hostIrqPulse, hostTransmit } from './host';

// @ts-ignore: decorator
@inline
function dlab(p: usize): bool {
  return (load<u8>(p + S_LCR) & LCR_DLAB) != 0;
}

/** A byte enters the sample's ring (THR loopback or host input). */
export function mttyAccept(h: u32, p: usize, byte: u32): bool {
  const c = rxCount(p);
  const ier = <u32>load<u8>(p + S_IER);
  if (c < <u32>load<u8>(p + S_MTTYMAX)) {
    rxPush(p, byte, 0);
    if ((load<u8>(p + S_FCR) & FCR_ENABLE) == 0) store<u8>(p + S_RBR, <u8>byte); // as regs.ts emptyRbr reads it
    store<u8>(p + S_LSRERR, load<u8>(p + S_LSRERR) & ~LSR_OE);
    updateIrq(h, p);
    // Trigger point 1: RX data reached exactly the trigger level.
    if ((ier & IER_RDI) != 0 && c + 1 == <u32>load<u8>(p + S_MTTYTRIG)) hostIrqPulse(h, p);
    return true;
  }
  store<u8>(p + S_LSRERR, load<u8>(p + S_LSRERR) | LSR_OE);
  updateIrq(h, p);
  // Trigger point 2: byte dropped on a full ring with line-status interrupts on.
  if ((ier & IER_RLSI) != 0) hostIrqPulse(h, p);
  return false;
}

export function mttyLsr(p: usize): u32 {
  const c = rxCount(p);
  let v: u32 = 0;
  if (c != 0) v |= LSR_DR;
  if ((load<u8>(p + S_LSRERR) & LSR_OE) != 0) v |= LSR_OE;
  if (c == 0) v |= LSR_THRE | LSR_TEMT;
  return v;
}

export function mttyMsr(p: usize): u32 {
  // DCD|DSR|DDSR always; CTS|DCTS unless auto-flow (MCR bit 5) is set and the ring is full.
  const full = rxCount(p) >= <u32>load<u8>(p + S_MTTYMAX);
  if ((load<u8>(p + S_MCR) & MCR_AFE) != 0 && full) return 0xa2;
  return 0xb3;
}

// @ts-ignore: decorator
@inline
export function mttyPeek(p: usize, off: u32): u32 {
  switch (off) {
    case 0: {
      if (dlab(p)) return load<u8>(p + S_DLL);
      if (rxCount(p) == 0) return emptyRbr(p);
      return load<u8>(p + S_RXDATA + <usize>load<u8>(p + S_RXHEAD));
    }
    case 1:
      return dlab(p) ? <u32>load<u8>(p + S_DLM) : <u32>load<u8>(p + S_IER) & 0x0f;
    case 2:
      return mttyIir(p);
    case 3:
      return load<u8>(p + S_LCR);
    case 4:
      return load<u8>(p + S_MCR);
    case 5:
      return mttyLsr(p);
    case 6:
      return mttyMsr(p);
    default:
      return load<u8>(p + S_SCR);
  }
}

export function mttyRead(h: u32, p: usize, off: u32): u32 {
  const v = mttyPeek(p, off);
  if (off == 0 && !dlab(p)) {
    if (rxCount(p) != 0) rxPop(p);
    updateIrq(h, p);
    // Trigger point 4: the ring is (now or already) empty and THRE interrupts are on.
    if (rxCount(p) == 0 && (<u32>load<u8>(p + S_IER) & IER_THRI) != 0) hostIrqPulse(h, p);
  }
  return v;
}

export function mttyWrite(h: u32, p: usize, off: u32, v: u32): void {
  switch (off) {
    case 0: {
      if (dlab(p)) {
        store<u8>(p + S_DLL, load<u8>(p + S_DLL) | <u8>v); // ORed, not assigned
      } else if (load<u8>(p + S_WIRING) == WIRING_LOOPBACK) {
        mttyAccept(h, p, v);
      } else {
        hostTransmit(h, p, v);
      }
      return;
    }
    case 1: {
      if (dlab(p)) {
        store<u8>(p + S_DLM, load<u8>(p + S_DLM) | <u8>v);
        return;
      }
      store<u8>(p + S_IER, <u8>v); // stored raw, read back &0x0F
      updateIrq(h, p);
      // Trigger point 3: THRI written while the ring is empty.
      if ((v & IER_THRI) != 0 && rxCount(p) == 0) hostIrqPulse(h, p);
      return;
    }
    case 2: {
      store<u8>(p + S_FCR, <u8>v);
      if ((v & (FCR_CLEAR_RX | FCR_CLEAR_TX)) != 0) rxClear(p); // OE deliberately kept
      store<u8>(p + S_MTTYTRIG, 1); // decoded from bits 7:6, then forced to 1
      store<u8>(p + S_MTTYMAX, (v & FCR_ENABLE) != 0 ? 16 : 1);
      updateIrq(h, p);
      return;
    }
    case 3: {
      if ((v & LCR_DLAB) != 0) {
        store<u8>(p + S_DLL, 0); // entering DLAB zeroes the divisor
        store<u8>(p + S_DLM, 0);
      }
      store<u8>(p + S_LCR, <u8>v);
      return;
    }
    case 4: {
      store<u8>(p + S_MCR, <u8>v);
      updateIrq(h, p);
      const ier = <u32>load<u8>(p + S_IER);
      // Trigger points 5 and 6: two independent events for one MCR write.
      if ((ier & IER_MSI) != 0 && (v & MCR_OUT2) != 0) hostIrqPulse(h, p);
      if ((ier & IER_MSI) != 0 && (v & (MCR_RTS | MCR_DTR)) != 0) hostIrqPulse(h, p);
      return;
    }
    case 7:
      store<u8>(p + S_SCR, <u8>v);
      return;
    default:
      return;
  }
}
