/**
 * The RX and TX FIFOs: 16-entry rings inside the port slot. RX entries carry
 * the PE/FE/BI bits of their byte because the datasheet attaches line errors
 * to the character, revealed in LSR when that character reaches the top of
 * the FIFO (so a driver reads LSR before RBR and learns about that byte).
 */
import {
  S_RXHEAD, S_RXCOUNT, S_RXDATA, S_RXFLAGS, S_RXERRS, S_TXHEAD, S_TXCOUNT, S_TXDATA,
  S_LSRERR, S_CTIP, S_CTIARMED, FIFO_SIZE, FIFO_MASK,
} from './layout';

// @ts-ignore: decorator
@inline
export function rxCount(p: usize): u32 {
  return load<u8>(p + S_RXCOUNT);
}

// @ts-ignore: decorator
@inline
export function txCount(p: usize): u32 {
  return load<u8>(p + S_TXCOUNT);
}

/** Append a byte (caller checked there is room). */
// @ts-ignore: decorator
@inline
export function rxPush(p: usize, byte: u32, flags: u32): void {
  const c = rxCount(p);
  const i = (<u32>load<u8>(p + S_RXHEAD) + c) & FIFO_MASK;
  store<u8>(p + S_RXDATA + i, <u8>byte);
  store<u8>(p + S_RXFLAGS + i, <u8>flags);
  store<u8>(p + S_RXCOUNT, <u8>(c + 1));
  if (flags != 0) store<u8>(p + S_RXERRS, load<u8>(p + S_RXERRS) + 1);
  if (c == 0) store<u8>(p + S_LSRERR, load<u8>(p + S_LSRERR) | <u8>flags);
}

/** Replace the newest byte: 16450 overrun ("destroying the previous character"). */
export function rxOverwriteNewest(p: usize, byte: u32, flags: u32): void {
  const c = rxCount(p);
  const i = (<u32>load<u8>(p + S_RXHEAD) + c - 1) & FIFO_MASK;
  if (load<u8>(p + S_RXFLAGS + i) != 0) store<u8>(p + S_RXERRS, load<u8>(p + S_RXERRS) - 1);
  store<u8>(p + S_RXDATA + i, <u8>byte);
  store<u8>(p + S_RXFLAGS + i, <u8>flags);
  if (flags != 0) store<u8>(p + S_RXERRS, load<u8>(p + S_RXERRS) + 1);
  if (c == 1) store<u8>(p + S_LSRERR, load<u8>(p + S_LSRERR) | <u8>flags);
}

/** Remove the oldest byte (caller checked the FIFO is not empty). */
// @ts-ignore: decorator
@inline
export function rxPop(p: usize): u32 {
  const head = <u32>load<u8>(p + S_RXHEAD);
  const byte = <u32>load<u8>(p + S_RXDATA + head);
  if (load<u8>(p + S_RXFLAGS + head) != 0) {
    store<u8>(p + S_RXFLAGS + head, 0);
    store<u8>(p + S_RXERRS, load<u8>(p + S_RXERRS) - 1);
  }
  const c = rxCount(p) - 1;
  const next = (head + 1) & FIFO_MASK;
  store<u8>(p + S_RXHEAD, <u8>next);
  store<u8>(p + S_RXCOUNT, <u8>c);
  if (c != 0) store<u8>(p + S_LSRERR, load<u8>(p + S_LSRERR) | load<u8>(p + S_RXFLAGS + next));
  return byte;
}

/** RX FIFO reset: empties the FIFO and forgets a pending/armed character timeout. */
export function rxClear(p: usize): void {
  store<u8>(p + S_RXHEAD, 0);
  store<u8>(p + S_RXCOUNT, 0);
  store<u8>(p + S_RXERRS, 0);
  memory.fill(p + S_RXFLAGS, 0, FIFO_SIZE);
  store<u8>(p + S_CTIP, 0);
  store<u8>(p + S_CTIARMED, 0);
}

/** Queue a TX byte; a full TX FIFO drops its oldest byte (what QEMU does). */
export function txPush(p: usize, byte: u32): void {
  let c = txCount(p);
  let head = <u32>load<u8>(p + S_TXHEAD);
  if (c == FIFO_SIZE) {
    head = (head + 1) & FIFO_MASK;
    store<u8>(p + S_TXHEAD, <u8>head);
    c--;
  }
  store<u8>(p + S_TXDATA + ((head + c) & FIFO_MASK), <u8>byte);
  store<u8>(p + S_TXCOUNT, <u8>(c + 1));
}

export function txPop(p: usize): u32 {
  const head = <u32>load<u8>(p + S_TXHEAD);
  store<u8>(p + S_TXHEAD, <u8>((head + 1) & FIFO_MASK));
  store<u8>(p + S_TXCOUNT, <u8>(txCount(p) - 1));
  return load<u8>(p + S_TXDATA + head);
}

export function txClear(p: usize): void {
  store<u8>(p + S_TXHEAD, 0);
  store<u8>(p + S_TXCOUNT, 0);
}
