/**
 * Register reads and writes of the PC16550D (profile 'pc16550d').
 *
 * peek() computes what a read returns; read() = peek() + that register's
 * read side effects, so inspectors and the chip can never disagree.
 *
 * The access paths (pcRead, pcPeek, pcWrite, readRbr, irq.ts pcIir, line.ts
 * pcTransmit, timing.ts refreshDeadline) are @inline: V8 as Node 20 ships it does not inline one
 * wasm function into another, and every call costs a frame and a stack
 * check. Inlined by binaryen, a THR write or an RBR read runs as one wasm
 * function: a THR write + RBR read pair went from ~40 to ~31 ns (raw calls,
 * docs/benchmarks.md).
 */
import {
  S_IER, S_LCR, S_MCR, S_LSRERR, S_MSRDELTA, S_SCR, S_FCR, S_DLL, S_DLM, S_THRP, S_CTIP,
  S_MTTYTRIG, S_MTTYMAX, S_RXERRS, S_RXDATA, S_RXHEAD, S_RBR,
} from './layout';
import {
  LCR_DLAB, IER_THRI, IIR_THRI, LSR_DR, LSR_OE, LSR_THRE, LSR_TEMT, LSR_FIFOERR, LSR_ERRORS,
  FCR_ENABLE, FCR_CLEAR_RX, FCR_CLEAR_TX,
} from './regbits';
import { rxCount, txCount, rxPop, rxClear, txClear } from './fifo';
import { fifoOn, restartTimeout, checkTimeout, refreshDeadline } from './timing';
import { msrInputs, latchDeltas } from './modem';
import { pcIir, updateIrq } from './irq';
import { pcTransmit } from './line';

// @ts-ignore: decorator
@inline
function dlab(p: usize): bool {
  return (load<u8>(p + S_LCR) & LCR_DLAB) != 0;
}

// @ts-ignore: decorator
@inline
export function pcLsr(p: usize): u32 {
  let v = <u32>load<u8>(p + S_LSRERR) & LSR_ERRORS;
  if (rxCount(p) != 0) v |= LSR_DR;
  if (txCount(p) == 0) v |= LSR_THRE | LSR_TEMT;
  if (fifoOn(p) && load<u8>(p + S_RXERRS) != 0) v |= LSR_FIFOERR;
  return v;
}

// @ts-ignore: decorator
@inline
export function pcPeek(p: usize, off: u32): u32 {
  switch (off) {
    case 0: {
      if (dlab(p)) return load<u8>(p + S_DLL);
      if (rxCount(p) == 0) return emptyRbr(p);
      return load<u8>(p + S_RXDATA + <usize>load<u8>(p + S_RXHEAD));
    }
    case 1:
      return dlab(p) ? <u32>load<u8>(p + S_DLM) : <u32>load<u8>(p + S_IER) & 0x0f;
    case 2:
      return pcIir(p);
    case 3:
      return load<u8>(p + S_LCR);
    case 4:
      // Stored &0x1F by pcWrite; a raw byte from the mtty profile (switch or record) still reads 0 in bits 5-7.
      return <u32>load<u8>(p + S_MCR) & 0x1f;
    case 5:
      return pcLsr(p);
    case 6:
      return <u32>load<u8>(p + S_MSRDELTA) | msrInputs(p);
    default:
      return load<u8>(p + S_SCR);
  }
}

/**
 * What an RBR read returns with nothing received since the last read. 16450
 * mode: RBR is a plain register and still holds the last byte received in
 * 16450 mode (the chip, and QEMU's `s->rbr`, which bytes received in FIFO
 * mode leave alone); FIFO mode: 0, as QEMU's empty-FIFO read (the datasheet
 * leaves it undefined). Both profiles: the sample's value there is
 * uninitialised kernel stack (mtty-facts), so the chip's answer is as valid.
 */
// @ts-ignore: decorator
@inline
export function emptyRbr(p: usize): u32 {
  return (load<u8>(p + S_FCR) & FCR_ENABLE) != 0 ? 0 : <u32>load<u8>(p + S_RBR);
}

/**
 * RBR read with DLAB clear: pops the oldest byte, clears a character timeout
 * and restarts its window. An empty RBR: emptyRbr(), no side effect.
 */
// @ts-ignore: decorator
@inline
export function readRbr(h: u32, p: usize): u32 {
  if (rxCount(p) == 0) return emptyRbr(p);
  const b = rxPop(p);
  store<u8>(p + S_CTIP, 0);
  restartTimeout(p);
  updateIrq(h, p);
  return b;
}

// @ts-ignore: decorator
@inline
export function pcRead(h: u32, p: usize, off: u32): u32 {
  if (off == 0 && !dlab(p)) return readRbr(h, p);
  const v = pcPeek(p, off);
  switch (off) {
    case 0: {
      if (!dlab(p)) readRbr(h, p);
      break;
    }
    case 2: {
      // Reading IIR acknowledges THRE only when THRE is what it reported.
      if ((v & 0x0f) == IIR_THRI) {
        store<u8>(p + S_THRP, 0);
        updateIrq(h, p);
      }
      break;
    }
    case 5: {
      if ((v & LSR_ERRORS) != 0) {
        store<u8>(p + S_LSRERR, 0);
        updateIrq(h, p);
      }
      break;
    }
    case 6: {
      if ((v & 0x0f) != 0) {
        store<u8>(p + S_MSRDELTA, 0);
        updateIrq(h, p);
      }
      break;
    }
    default:
      break;
  }
  return v;
}

/**
 * RX FIFO reset. PE/FE/BI belong to the character at the top of the FIFO, so
 * they go with the bytes (else a spurious RLS interrupt with no character
 * behind it remains); OE is not a character's and stays until LSR is read.
 */
function resetRx(p: usize): void {
  rxClear(p);
  store<u8>(p + S_LSRERR, load<u8>(p + S_LSRERR) & LSR_OE);
}

function writeFcr(h: u32, p: usize, v: u32): void {
  const old = <u32>load<u8>(p + S_FCR);
  if (((old ^ v) & FCR_ENABLE) != 0) {
    // Toggling FIFO mode clears both FIFOs; the empty transmitter then asks for data.
    resetRx(p);
    txClear(p);
    store<u8>(p + S_THRP, 1);
  }
  if ((v & FCR_ENABLE) != 0) {
    if ((v & FCR_CLEAR_RX) != 0) resetRx(p);
    if ((v & FCR_CLEAR_TX) != 0) {
      txClear(p);
      store<u8>(p + S_THRP, 1);
    }
    store<u8>(p + S_FCR, <u8>(v & 0xc9)); // enable, DMA mode, trigger; reset bits self-clear
  } else {
    store<u8>(p + S_FCR, 0); // FIFO enable must be set for the other bits to be programmed
  }
  // Keep the sample's view consistent for a later switch to profile 'mtty'.
  store<u8>(p + S_MTTYTRIG, 1);
  store<u8>(p + S_MTTYMAX, (v & FCR_ENABLE) != 0 ? 16 : 1);
  updateIrq(h, p);
}

/**
 * LCR and the divisor set the character time, so a shorter one can move the
 * running timeout's deadline into the past. Fire it now: the host is told
 * a deadline ahead (>= 1 ns) while a timeout runs, and a host that re-arms a timer at
 * a deadline of 0 without moving time would otherwise wait forever.
 */
function charTimeChanged(h: u32, p: usize): void {
  refreshDeadline(p);
  if (checkTimeout(p)) updateIrq(h, p);
}

// @ts-ignore: decorator
@inline
export function pcWrite(h: u32, p: usize, off: u32, v: u32): void {
  switch (off) {
    case 0: {
      if (dlab(p)) {
        store<u8>(p + S_DLL, <u8>v);
        charTimeChanged(h, p);
      } else pcTransmit(h, p, v);
      break;
    }
    case 1: {
      if (dlab(p)) {
        store<u8>(p + S_DLM, <u8>v);
        charTimeChanged(h, p);
        break;
      }
      const old = <u32>load<u8>(p + S_IER);
      store<u8>(p + S_IER, <u8>(v & 0x0f));
      // ETBEI 0->1 with the transmitter empty raises THRE at once (SeaBIOS, Linux
      // THRE test, Windows); other IER writes do not re-raise it (no THRE storm).
      if ((old & IER_THRI) == 0 && (v & IER_THRI) != 0 && txCount(p) == 0) store<u8>(p + S_THRP, 1);
      updateIrq(h, p);
      break;
    }
    case 2:
      writeFcr(h, p, v);
      break;
    case 3: {
      store<u8>(p + S_LCR, <u8>v);
      charTimeChanged(h, p);
      break;
    }
    case 4: {
      const before = msrInputs(p);
      store<u8>(p + S_MCR, <u8>(v & 0x1f));
      latchDeltas(p, before, msrInputs(p));
      updateIrq(h, p); // MS interrupt, and OUT2 gating when enabled
      break;
    }
    case 7:
      store<u8>(p + S_SCR, <u8>v);
      break;
    default:
      break; // LSR/MSR writes are factory-test only: ignored
  }
}

