/**
 * Bulk data in one wasm call through the io buffer, with the same effects as
 * the equivalent sequence of single register accesses.
 */
import {
  S_PROFILE, S_FCR, S_MTTYMAX, S_LCR, S_IER, S_MCR, S_WIRING, S_TXCOUNT, S_RXHEAD, S_RXCOUNT,
  S_RXDATA, S_RXFLAGS, S_RXERRS, S_LSRERR, S_THRP, S_CTIP, PROFILE_MTTY, WIRING_LOOPBACK, FIFO_SIZE, FIFO_MASK,
} from './layout';
import { LSR_THRE, LSR_DR, LSR_OE, FCR_ENABLE, LCR_DLAB, MCR_LOOP } from './regbits';
import { restartTimeout } from './timing';
import { IO, IO_SIZE } from './table';
import { pcPeek, pcRead, pcWrite, pcLsr, readRbr } from './regs';
import { pcTransmit } from './line';
import { mttyPeek, mttyRead, mttyWrite } from './mtty';
import { rxSpace, receiveFromHost } from './line';
import { rxCount } from './fifo';

// @ts-ignore: decorator
@inline
function isMtty(p: usize): bool {
  return load<u8>(p + S_PROFILE) == PROFILE_MTTY;
}

/**
 * A pc16550d port whose IER enables no source cannot change its INTR level
 * (it is low and stays low), so a batch on it needs no per-byte interrupt
 * bookkeeping. With the data looping back inside the core (MCR.LOOP or
 * wiring 'loopback') it needs no callback either: the bulk paths below then
 * move the bytes in one go, with exactly the end state of the per-byte path.
 */
// @ts-ignore: decorator
@inline
function quietPc(p: usize): bool {
  return load<u8>(p + S_PROFILE) != PROFILE_MTTY && (load<u8>(p + S_IER) & 0x0f) == 0 && (load<u8>(p + S_LCR) & LCR_DLAB) == 0;
}

/**
 * A pc16550d port that loops its data back inside the core in FIFO mode, with
 * no interrupt source enabled and the transmitter empty: a THR burst lands in
 * its own receiver with no callback and no INTR change (bulkLoopWrite).
 */
// @ts-ignore: decorator
@inline
function quietLoop(p: usize): bool {
  return (
    quietPc(p) &&
    (load<u8>(p + S_FCR) & FCR_ENABLE) != 0 &&
    load<u8>(p + S_TXCOUNT) == 0 &&
    ((load<u8>(p + S_MCR) & MCR_LOOP) != 0 || load<u8>(p + S_WIRING) == WIRING_LOOPBACK)
  );
}

/** Loopback THR burst into our own FIFO-mode receiver: first `space` bytes kept, the rest overrun. */
// @ts-ignore: decorator
@inline
function bulkLoopWrite(p: usize, src: usize, n: u32): u32 {
  const c = <u32>load<u8>(p + S_RXCOUNT);
  const space = FIFO_SIZE - c;
  const k = n < space ? n : space;
  const tail = <u32>load<u8>(p + S_RXHEAD) + c;
  for (let i: u32 = 0; i < k; i++) {
    const at = (tail + i) & FIFO_MASK;
    store<u8>(p + S_RXDATA + at, load<u8>(src + i));
    store<u8>(p + S_RXFLAGS + at, 0);
  }
  store<u8>(p + S_RXCOUNT, <u8>(c + k));
  if (n > k) store<u8>(p + S_LSRERR, load<u8>(p + S_LSRERR) | LSR_OE);
  store<u8>(p + S_THRP, 1);
  if (n != 0) restartTimeout(p);
  return n;
}

/** RBR reads of error-free bytes: copy out, clear a timeout, restart its window. */
// @ts-ignore: decorator
@inline
function bulkRead(p: usize, dst: usize, max: u32): u32 {
  const c = <u32>load<u8>(p + S_RXCOUNT);
  const k = max < c ? max : c;
  const head = <u32>load<u8>(p + S_RXHEAD);
  for (let i: u32 = 0; i < k; i++) store<u8>(dst + i, load<u8>(p + S_RXDATA + ((head + i) & FIFO_MASK)));
  store<u8>(p + S_RXHEAD, <u8>((head + k) & FIFO_MASK));
  store<u8>(p + S_RXCOUNT, <u8>(c - k));
  if (k != 0) {
    store<u8>(p + S_CTIP, 0);
    restartTimeout(p);
  }
  return k;
}

/**
 * How many bytes a driver loads into THR per THRE (Linux's tx_loadsz): 16
 * with FIFOs on, else 1; the mtty sample: its max_fifo_size.
 */
// @ts-ignore: decorator
@inline
function txBurst(p: usize): u32 {
  if (isMtty(p)) return load<u8>(p + S_MTTYMAX);
  return (load<u8>(p + S_FCR) & FCR_ENABLE) != 0 ? 16 : 1;
}

/**
 * THR writes of src[0..n) as a driver does them: whenever LSR says THRE, load
 * up to one FIFO's worth (txBurst) without re-reading LSR. Stops when THRE
 * is clear; returns how many bytes were written.
 */
export function writeMany(h: u32, p: usize, src: usize, n: u32): u32 {
  if (quietLoop(p)) return bulkLoopWrite(p, src, n);
  let i: u32 = 0;
  if (!isMtty(p) && (load<u8>(p + S_LCR) & LCR_DLAB) == 0) {
    // pc16550d data path: same steps as pcWrite(0), without the register dispatch.
    const burst = txBurst(p);
    while (i < n && (pcLsr(p) & LSR_THRE) != 0) {
      for (let j: u32 = 0; j < burst && i < n; j++) pcTransmit(h, p, load<u8>(src + i++));
      // A callback may have switched profile or set DLAB: finish on the general path.
      if (isMtty(p) || (load<u8>(p + S_LCR) & LCR_DLAB) != 0) break;
    }
  }
  while (i < n) {
    const mtty = isMtty(p);
    const lsr = mtty ? mttyPeek(p, 5) : pcPeek(p, 5);
    if ((lsr & LSR_THRE) == 0) break;
    const burst = txBurst(p);
    for (let j: u32 = 0; j < burst && i < n; j++) {
      const b = <u32>load<u8>(src + i++);
      if (isMtty(p)) mttyWrite(h, p, 0, b);
      else pcWrite(h, p, 0, b);
    }
  }
  return i;
}

/** RBR reads while LSR.DR, up to max bytes into dst. */
export function readMany(h: u32, p: usize, dst: usize, max: u32): u32 {
  if (quietPc(p) && load<u8>(p + S_RXERRS) == 0) return bulkRead(p, dst, max);
  let i: u32 = 0;
  while (i < max && !isMtty(p) && (load<u8>(p + S_LCR) & LCR_DLAB) == 0 && rxCount(p) != 0) {
    store<u8>(dst + i++, <u8>readRbr(h, p)); // pc16550d data path (LSR.DR == FIFO not empty)
  }
  while (i < max) {
    const mtty = isMtty(p);
    const lsr = mtty ? mttyPeek(p, 5) : pcPeek(p, 5);
    if ((lsr & LSR_DR) == 0) break;
    store<u8>(dst + i++, <u8>(mtty ? mttyRead(h, p, 0) : pcRead(h, p, 0)));
  }
  return i;
}

/**
 * writeMany(src[0..n)) then readMany(up to max into dst): the staged call
 * (index.ts uart_write_read_many) and one round of exchange(). On a quiet
 * loop with no line errors queued both take their bulk paths, so they run
 * back to back here without either one's dispatch. Returns (written << 16) | read.
 */
// @ts-ignore: decorator
@inline
export function writeReadMany(h: u32, p: usize, src: usize, n: u32, dst: usize, max: u32): u32 {
  if (quietLoop(p) && load<u8>(p + S_RXERRS) == 0) {
    const w = bulkLoopWrite(p, src, n);
    return (w << 16) | bulkRead(p, dst, max);
  }
  const w = writeMany(h, p, src, n); // callbacks it makes see a published LSR (line.ts)
  return (w << 16) | readMany(h, p, dst, max);
}

/**
 * Both directions kept going, as an interrupt-driven driver does on a busy
 * port: rounds of one burst of THR writes (writeMany of up to txBurst bytes
 * of IO[0..n)) then RBR reads while LSR.DR (readMany into IO[n..)), until
 * all n bytes are written or the read area (IO_SIZE - n bytes) is full, or
 * a round moves nothing. Exactly those writeMany/readMany calls in sequence;
 * on a looped-back port every byte comes back, a FIFO's worth per round,
 * many FIFOs' worth per call. Returns (written << 16) | read.
 */
export function exchange(h: u32, p: usize, n: u32): u32 {
  const out = IO + n;
  const cap = IO_SIZE - n;
  let written: u32 = 0;
  let got: u32 = 0;
  while (written < n && got < cap) {
    const left = n - written;
    const burst = txBurst(p);
    const r = writeReadMany(h, p, IO + written, left < burst ? left : burst, out + got, cap - got);
    written += r >> 16;
    got += r & 0xffff;
    if (r == 0) break; // nothing written, nothing read
  }
  return (written << 16) | got;
}

/**
 * Host bytes onto SIN, only as many as fit (never an overrun): a host
 * back-end keeps the rest and retries when rxSpace() grows.
 */
export function receiveMany(h: u32, p: usize, n: u32): u32 {
  let i: u32 = 0;
  while (i < n && rxSpace(p) != 0) {
    receiveFromHost(h, p, load<u8>(IO + i), 0);
    i++;
  }
  return i;
}
