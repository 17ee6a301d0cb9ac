/**
 * The invariants a Uart must satisfy after every operation, whatever came
 * before. FIFO counts are not registers, so they are read from the port's
 * own snapshot (Uart.saveState(), layout in assembly/snapshot.ts and
 * assembly/layout.ts: an 8-byte header, then the slot bytes); everything else
 * is derived from register values via peek(), which has no side effects.
 */
import type { Uart } from '../../src/uart/index.js';

const HDR = 8;
const S_FCR = 6;
const S_PROFILE = 12;
const S_RXHEAD = 16;
const S_RXCOUNT = 17;
const S_TXHEAD = 18;
const S_TXCOUNT = 19;

/** IIR low nibbles the PC16550D can show (datasheet table 1.4); 0xC only with FIFOs on. */
const PC_IDS = new Set([0x1, 0x6, 0x4, 0xc, 0x2, 0x0]);
/** The mtty sample ORs RLS 6, RDA 4, THRE 2: any non-empty OR of those, or 1 for none. */
const MTTY_IDS = new Set([0x1, 0x2, 0x4, 0x6]);

export interface PortInternals {
  rxCount: number;
  txCount: number;
  fifoOn: boolean;
  profile: number;
}

export function internals(u: Uart): PortInternals {
  const s = u.saveState();
  if (s.length < HDR + 24) throw new Error(`snapshot only ${s.length} bytes`);
  if (s[HDR + S_RXHEAD]! >= 16 || s[HDR + S_TXHEAD]! >= 16) throw new Error(`FIFO head out of range: rx ${s[HDR + S_RXHEAD]} tx ${s[HDR + S_TXHEAD]}`);
  return { rxCount: s[HDR + S_RXCOUNT]!, txCount: s[HDR + S_TXCOUNT]!, fifoOn: (s[HDR + S_FCR]! & 1) !== 0, profile: s[HDR + S_PROFILE]! };
}

/** Throws a description of the first violated invariant; `lastLevel` is what onIrqLine last reported. */
export function checkInvariants(u: Uart, lastLevel: boolean): void {
  const st = internals(u);
  if (st.rxCount > 16) throw new Error(`RX FIFO count ${st.rxCount} > 16`);
  if (st.txCount > 16) throw new Error(`TX FIFO count ${st.txCount} > 16`);
  const profile = u.profile;
  if ((profile === 'mtty' ? 1 : 0) !== st.profile) throw new Error(`profile getter ${profile} disagrees with the state byte ${st.profile}`);

  const iir = u.peek(2);
  if (iir & 0x30) throw new Error(`IIR 0x${iir.toString(16)} has bits 4-5 set`);
  if (profile === 'pc16550d') {
    if (!PC_IDS.has(iir & 0x0f)) throw new Error(`IIR 0x${iir.toString(16)} is not a PC16550D code`);
    const fifoBits = st.fifoOn ? 0xc0 : 0x00;
    if ((iir & 0xc0) !== fifoBits) throw new Error(`IIR 0x${iir.toString(16)}: bits 6-7 must be 0x${fifoBits.toString(16)} with FCR0=${st.fifoOn ? 1 : 0}`);
    if ((iir & 0x0f) === 0xc && !st.fifoOn) throw new Error(`IIR 0x${iir.toString(16)}: char timeout reported with FIFOs off`);
  } else {
    if (!MTTY_IDS.has(iir & 0x0f) || (iir & 0xc0) !== 0xc0) throw new Error(`IIR 0x${iir.toString(16)} is not an mtty code`);
  }

  // INTR: pending enabled source (IIR bit0 == 0), gated by OUT2 (and LOOP) when the board gate is on.
  const mcr = u.peek(4);
  let expected = (iir & 1) === 0;
  if (u.out2Gate) expected = expected && (mcr & 0x08) !== 0 && (mcr & 0x10) === 0;
  if (u.irq !== expected) throw new Error(`INTR ${u.irq} but IIR 0x${iir.toString(16)}, MCR 0x${mcr.toString(16)}, gate ${u.out2Gate}`);
  if (u.irq !== lastLevel) throw new Error(`INTR ${u.irq} but onIrqLine last reported ${lastLevel}`);

  const lsr = u.peek(5);
  if (((lsr & 1) !== 0) !== (st.rxCount > 0)) throw new Error(`LSR.DR ${lsr & 1} but RX FIFO holds ${st.rxCount}`);
  if (profile === 'pc16550d' && ((lsr & 0x20) !== 0) !== (st.txCount === 0)) throw new Error(`LSR.THRE ${(lsr >> 5) & 1} but TX FIFO holds ${st.txCount}`);
}
