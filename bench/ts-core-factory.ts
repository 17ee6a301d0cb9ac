/**
 * The plain-TS baseline UART (bench/baseline/uart-ts.ts) dressed as a port
 * UART, so loadMtty({ createUart }) can build whole mtty devices on it. Why:
 * the device-level benchmarks (VFIO register accesses, loopback, create and
 * remove, interrupt latency) then run the *same* device, mdev and VFIO code
 * over either core, and the ratio isolates the core plus its wrapper. Only
 * what MttyDevice/MttyPort touch on those paths is provided. The baseline
 * keeps time like the core (advance, nextDeadline, the character timeout), so
 * the port reads the clock for it exactly when it does for the core.
 */
import type { UartFactory, PortUart } from '../src/mtty/port-uart.js';
import { TsUart } from './baseline/uart-ts.js';
import { parseUartProfile } from '../src/uart/profile.js';

class TsPortUart extends TsUart {
  readonly profile = 'pc16550d' as const;
  readonly profileDefinition = parseUartProfile('pc16550d');
  onIrqPulse: (() => void) | null = null;
  dispose(): void {
    this.onIrqLine = null;
    this.onTransmit = null;
  }
}

export const createTsUart: UartFactory = (opts) => {
  if (opts.profile !== 'pc16550d') throw new Error('the plain-TS baseline models only profile pc16550d');
  // The cast is the point of this file: the device code only uses the subset above on the benched paths.
  return new TsPortUart({ loopback: opts.wiring === 'loopback' }) as unknown as PortUart;
};
