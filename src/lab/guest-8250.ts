/**
 * The lab's small guest driver: the register sequences of Linux's 8250 driver
 * reduced to what a lesson needs (start-up, console-style transmit, interrupt
 * handler), written as generators so step mode can stop between any two
 * accesses (see guest-ops.ts). Constants come from src/guest/uart-regs.ts,
 * named as in linux/serial_reg.h.
 */
import type { GuestRoutine } from './guest-ops.js';
import {
  UART_DLL, UART_DLM, UART_FCR, UART_FCR_CLEAR_RCVR, UART_FCR_CLEAR_XMIT, UART_FCR_ENABLE_FIFO,
  UART_IER, UART_IER_RDI, UART_IIR, UART_IIR_ID, UART_IIR_NO_INT, UART_LCR, UART_LCR_DLAB,
  UART_LCR_WLEN8, UART_LSR, UART_LSR_DR, UART_LSR_THRE, UART_MCR, UART_MCR_DTR, UART_MCR_OUT2,
  UART_MCR_RTS, UART_MSR, UART_RX, UART_TX,
} from '../guest/uart-regs.js';
import { charLabel } from './decode-register.js';

/** Linux polls LSR for a while before giving up on THRE (wait_for_xmitr); the model polls this often. */
const THRE_POLLS = 4;
/** serial8250_interrupt's PASS_LIMIT, scaled down: guards against an IIR that never clears. */
const PASS_LIMIT = 8;
/** Bytes taken per RX burst (Linux: 256), bounded so a stuck DR cannot hang the page. */
const RX_BURST = 32;

/** Start-up of one port (serial8250_do_startup + set_termios, 115200 8N1, RX interrupts). */
export function* startPort(port: number): GuestRoutine {
  yield { kind: 'write', port, offset: UART_LCR, value: UART_LCR_DLAB, why: 'set DLAB so offsets 0/1 reach the divisor latch' };
  yield { kind: 'write', port, offset: UART_DLL, value: 0x01, why: 'divisor low byte: 115200 / 1' };
  yield { kind: 'write', port, offset: UART_DLM, value: 0x00, why: 'divisor high byte' };
  yield { kind: 'write', port, offset: UART_LCR, value: UART_LCR_WLEN8, why: '8 data bits, no parity, 1 stop (8N1); DLAB off again' };
  yield {
    kind: 'write', port, offset: UART_FCR,
    value: UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT,
    why: 'enable and clear the FIFOs; RX trigger 1 byte so every key interrupts at once',
  };
  // Linux clears whatever a previous user left pending before enabling interrupts.
  const lsr = yield { kind: 'read', port, offset: UART_LSR, why: 'clear stale line status' };
  if (lsr & UART_LSR_DR) yield { kind: 'read', port, offset: UART_RX, why: 'drop a stale received byte' };
  yield { kind: 'read', port, offset: UART_IIR, why: 'clear a stale THR-empty interrupt' };
  yield { kind: 'read', port, offset: UART_MSR, why: 'clear stale modem status deltas' };
  yield {
    kind: 'write', port, offset: UART_MCR, value: UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2,
    why: 'DTR and RTS on; OUT2 on, which on a PC routes INTR to the interrupt controller',
  };
  yield { kind: 'write', port, offset: UART_IER, value: UART_IER_RDI, why: 'interrupt when received data is available' };
}

/** Console-style transmit (serial8250_console_putchar): wait for THRE, then write THR. */
export function* transmit(port: number, bytes: Uint8Array): GuestRoutine {
  for (const b of bytes) {
    for (let i = 0; ; i++) {
      const lsr = yield { kind: 'read', port, offset: UART_LSR, why: `wait until THR is empty before sending ${charLabel(b) || 'the byte'}` };
      if (lsr & UART_LSR_THRE) break;
      if (i + 1 >= THRE_POLLS) break; // Linux gives up waiting and writes anyway
      yield { kind: 'wait', port, why: 'THR still full: let time pass' };
    }
    yield { kind: 'write', port, offset: UART_TX, value: b, why: 'send the byte' };
  }
}

/**
 * The interrupt handler for all ports of the device: they share one INTx,
 * like ports on a shared IRQ line (serial8250_interrupt walks them all).
 * `onByte` receives each byte read from RBR: the tty layer's input.
 */
export function* interruptHandler(ports: number, onByte: (port: number, byte: number) => void): GuestRoutine {
  for (let port = 0; port < ports; port++) {
    for (let pass = 0; pass < PASS_LIMIT; pass++) {
      const iir = yield { kind: 'read', port, offset: UART_IIR, why: 'which interrupt is pending on this port?' };
      if (iir & UART_IIR_NO_INT) break;
      let lsr = yield { kind: 'read', port, offset: UART_LSR, why: 'line status: data ready? errors?' };
      for (let n = 0; lsr & UART_LSR_DR && n < RX_BURST; n++) {
        const byte = yield { kind: 'read', port, offset: UART_RX, why: 'take the received byte' };
        onByte(port, byte);
        lsr = yield { kind: 'read', port, offset: UART_LSR, why: 'more data?' };
      }
      if ((iir & UART_IIR_ID) === 0) yield { kind: 'read', port, offset: UART_MSR, why: 'modem status interrupt: reading MSR clears it' };
    }
  }
  yield { kind: 'unmask', why: 'end of interrupt: the VMM unmasks INTx (VFIO_DEVICE_SET_IRQS UNMASK)' };
}
