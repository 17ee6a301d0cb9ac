/**
 * What the register inspector shows, taken with side-effect-free peeks.
 *
 * Why peeks: reading IIR, LSR, MSR or RBR on a real UART changes it (clears a
 * THRE interrupt, error bits, delta bits, pops a byte). An inspector that used
 * read() would change the very behaviour the student is watching, so every
 * value here comes from Uart.peek() (what a read *would* return).
 */
import type { RegName } from '../uart/decode.js';

/** The part of the Uart contract the inspector needs (structural, so tests can fake it). */
export interface PeekableUart {
  peek(offset: number): number;
  readonly irq: boolean;
  /** The wasm Uart has it; the divisor is otherwise only visible while DLAB=1. */
  readonly lineSettings?: { divisor: number };
}

export type RegisterViewRegs = Record<Exclude<RegName, 'THR' | 'FCR'>, number>;

export interface RegisterView {
  regs: RegisterViewRegs;
  /** LCR.DLAB: offsets 0/1 currently reach DLL/DLM. */
  dlab: boolean;
  /** IER cannot be peeked while DLAB=1 (offset 1 is DLM): true when `regs.IER` is the last value seen. */
  ierStale: boolean;
  /** The UART's INTR output. */
  irq: boolean;
}

/**
 * Peek every register. `previous` supplies IER (and RBR) while DLAB hides them,
 * so the inspector keeps showing the value the chip still holds.
 */
export function takeRegisterView(uart: PeekableUart, previous?: RegisterView): RegisterView {
  const lcr = uart.peek(3);
  const dlab = (lcr & 0x80) !== 0;
  // While DLAB=1 the latch is right there at offsets 0/1; otherwise ask the
  // Uart, or keep what was seen the last time DLAB was set.
  const divisor = dlab
    ? uart.peek(0) | (uart.peek(1) << 8)
    : (uart.lineSettings?.divisor ?? ((previous?.regs.DLL ?? 0) | ((previous?.regs.DLM ?? 0) << 8))) & 0xffff;
  const regs: RegisterViewRegs = {
    RBR: dlab ? (previous?.regs.RBR ?? 0) : uart.peek(0),
    IER: dlab ? (previous?.regs.IER ?? 0) : uart.peek(1),
    IIR: uart.peek(2),
    LCR: lcr,
    MCR: uart.peek(4),
    LSR: uart.peek(5),
    MSR: uart.peek(6),
    SCR: uart.peek(7),
    DLL: divisor & 0xff,
    DLM: divisor >> 8,
  };
  return { regs, dlab, ierStale: dlab, irq: uart.irq };
}
