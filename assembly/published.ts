/**
 * Bytes the wrapper reads straight from a port's slot instead of calling in,
 * for the accesses a guest makes most: polling LSR (an 8250 driver reads it
 * before every THR write and RBR read). S_LSRFAST holds what an LSR read
 * returns now if that read has no side effect, else 0xFF (no side-effect-free
 * LSR value is 0xFF: it would carry all of OE/PE/FE/BI, which the read clears).
 *
 * Kept exact by publishing after every export that can change what LSR
 * shows (index.ts: all state-changing exports; of the register accesses only
 * THR/FCR writes and RBR/LSR reads, the only ones that touch the FIFOs or the
 * error bits) and
 * before every call out to the host (host.ts), so whenever JS runs, the byte
 * is the core's own pcLsr()/mttyLsr() of the current state. The seeded fuzz
 * (test/fuzz-uart.test.ts) compares every read with peek() computed in the core.
 * Not part of the snapshot (derived).
 */
import { S_LSRFAST, S_PROFILE, PROFILE_MTTY } from './layout';
import { LSR_ERRORS } from './regbits';
import { pcLsr } from './regs';
import { mttyLsr } from './mtty';

export const LSR_NOT_FAST: u8 = 0xff;

export function publish(p: usize): void {
  let v: u32;
  if (load<u8>(p + S_PROFILE) == PROFILE_MTTY) {
    v = mttyLsr(p); // the sample's LSR read has no side effect
  } else {
    v = pcLsr(p);
    if ((v & LSR_ERRORS) != 0) v = LSR_NOT_FAST; // the read clears them: take the call
  }
  store<u8>(p + S_LSRFAST, <u8>v);
}
