/**
 * What a host back-end works with: a port it can take (MttyPort from
 * src/mtty), and the HostLink the port hands out. A back-end never touches
 * the Uart itself: the link is the wire, the port keeps the chip's clock,
 * timer and interrupts right (docs/host-backends.md).
 */
import type { LineSettings } from '../uart/uart.js';
import type { HostLink } from '../mtty/port.js';
import { MSR, MODEM_CONNECTED } from '../uart/registers.js';

// Types only (erased at run time): the host layer stays free of the wasm module.
export type { LineSettings, HostLink };
export { MODEM_CONNECTED };

/**
 * A port whose line can be taken: MttyPort.takeForHost. EBUSY while another
 * back-end holds it, ENODEV once its device is removed.
 */
export interface HostPort {
  takeForHost(onTransmit: (byte: number) => void): HostLink;
}

/** MSR high-nibble input bits, as setModemInputs() takes them. */
export const MODEM_IN = { CTS: MSR.CTS, DSR: MSR.DSR, RI: MSR.RI, DCD: MSR.DCD } as const;

/** Nothing on the wire: every input low, so the UART raises DCTS/DDSR/DDCD. */
export const MODEM_DISCONNECTED = 0;

/** MCR output bits as modemOutputs reports them. */
export const MODEM_OUT = { DTR: 0x01, RTS: 0x02, OUT1: 0x04, OUT2: 0x08 } as const;

/**
 * Duration of one character on the wire in ns (start + data + parity + stop
 * bits at the guest's baud): the pace at which the RX pump lets host bytes
 * into the FIFO (a real line delivers no faster). The figure is the core's
 * (LineSettings.charTimeNs, the one character-time function); at a speed no
 * line runs at (usableBaud: e.g. the mtty profile's zeroed divisor) the same
 * frame is timed at 9600 baud instead.
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
