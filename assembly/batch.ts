/**
 * Bulk data in one wasm call through the io buffer, with the same effects as
 * the equivalent sequence of single register accesses.
 */
import { S_PROFILE, S_FCR, S_MTTYMAX, PROFILE_MTTY } from './layout';
import { LSR_THRE, LSR_DR, FCR_ENABLE } from './regbits';
import { IO } from './table';
import { pcPeek, pcRead, pcWrite } from './regs';
import { mttyPeek, mttyRead, mttyWrite } from './mtty';
import { rxSpace, receiveFromHost } from './line';

// @ts-ignore: decorator
@inline
function isMtty(p: usize): bool {
  return load<u8>(p + S_PROFILE) == PROFILE_MTTY;
}

/**
 * THR writes as a driver does them: whenever LSR says THRE, load up to one
 * FIFO's worth (16 with FIFOs on, else 1) without re-reading LSR. Stops when
 * THRE is clear; returns how many bytes were written.
 */
export function writeMany(h: u32, p: usize, n: u32): u32 {
  let i: u32 = 0;
  while (i < n) {
    const mtty = isMtty(p);
    const lsr = mtty ? mttyPeek(p, 5) : pcPeek(p, 5);
    if ((lsr & LSR_THRE) == 0) break;
    const burst: u32 = mtty
      ? <u32>load<u8>(p + S_MTTYMAX)
      : (load<u8>(p + S_FCR) & FCR_ENABLE) != 0 ? 16 : 1;
    for (let j: u32 = 0; j < burst && i < n; j++) {
      const b = <u32>load<u8>(IO + i++);
      if (isMtty(p)) mttyWrite(h, p, 0, b);
      else pcWrite(h, p, 0, b);
    }
  }
  return i;
}

/** RBR reads while LSR.DR, up to max bytes into IO. */
export function readMany(h: u32, p: usize, max: u32): u32 {
  let i: u32 = 0;
  while (i < max) {
    const mtty = isMtty(p);
    const lsr = mtty ? mttyPeek(p, 5) : pcPeek(p, 5);
    if ((lsr & LSR_DR) == 0) break;
    store<u8>(IO + i++, <u8>(mtty ? mttyRead(h, p, 0) : pcRead(h, p, 0)));
  }
  return i;
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
