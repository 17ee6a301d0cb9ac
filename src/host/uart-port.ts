/**
 * The part of the `Uart` contract (docs/ARCHITECTURE.md) a host back-end
 * touches. Back-ends are typed against this structural subset instead of
 * importing the class so that they stay testable with any object that honours
 * the contract, and so that the host layer never reaches into register
 * internals it has no business with (a back-end is the wire, not the driver).
 */
import type { Wiring, LineSettings } from '../uart/uart.js';
import { MSR, MODEM_CONNECTED } from '../uart/registers.js';

// Types only (erased at run time): the host layer stays free of the wasm module.
export type { Wiring, LineSettings };
export { MODEM_CONNECTED };

/**
 * The host side of one UART (what a back-end drives):
 * wiring, the transmit callback (one byte per call), batched receive with RX FIFO space for
 * flow control, modem inputs (MSR bits 4-7), modem outputs (MCR bits 0-3) and line settings.
 * Get one for a device port with hostUartOf(port).
 */
export interface HostUart {
  wiring: Wiring;
  onTransmit: ((byte: number) => void) | null;
  receiveMany(bytes: Uint8Array): number;
  rxSpace(): number;
  setModemInputs(bits: number): void;
  readonly modemOutputs: number;
  readonly lineSettings: LineSettings;
}

/** MSR high-nibble input bits, as setModemInputs() takes them. */
export const MODEM_IN = { CTS: MSR.CTS, DSR: MSR.DSR, RI: MSR.RI, DCD: MSR.DCD } as const;

/** Nothing on the wire: every input low, so the UART raises DCTS/DDSR/DDCD. */
export const MODEM_DISCONNECTED = 0;

/** MCR output bits as modemOutputs reports them. */
export const MODEM_OUT = { DTR: 0x01, RTS: 0x02, OUT1: 0x04, OUT2: 0x08 } as const;

/**
 * Duration of one character on the wire in ns (start + data + parity + stop
 * bits at the guest's baud). The RX pump polls at this rate while the host
 * side is paused, which is the rate a real line could deliver the next byte.
 * The figure is the core's (LineSettings.charTimeNs, the one character-time
 * function); at a speed no line runs at (usableBaud: e.g. the mtty profile's
 * zeroed divisor) the same frame is timed at 9600 baud instead.
 */
export function charTimeNs(s: LineSettings): number {
  const t = usableBaud(s) === undefined ? (s.charTimeNs * s.baud) / 9600 : s.charTimeNs;
  return Math.ceil(t);
}

/**
 * The guest's speed if it is one a line can run at, else undefined. Divisor 0
 * is undefined in the datasheet and the mtty profile zeroes the divisor, which
 * the core reports as a speed of ~2 baud: no host device takes that.
 */
export function usableBaud(s: LineSettings): number | undefined {
  const b = Math.round(s.baud);
  return Number.isFinite(b) && b >= 50 && b <= 4_000_000 ? b : undefined;
}
