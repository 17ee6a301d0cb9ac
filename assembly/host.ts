/**
 * The only ways the core talks to the outside. Each import carries the port
 * handle; the TS wrapper dispatches it to the right Uart object. They are
 * called only on real events (a level change, a byte leaving SOUT, an mtty
 * trigger point) so an idle port costs the host nothing.
 *
 * Every call goes through the wrappers below, which first publish the
 * port's fast-read bytes (published.ts): the host may read registers from
 * inside its callback, and must then see the state as of this moment.
 */
import { publish } from './published';

// @ts-ignore: decorator
@external("env", "irqLine")
declare function importIrqLine(h: i32, level: i32): void;

// @ts-ignore: decorator
@external("env", "irqPulse")
declare function importIrqPulse(h: i32): void;

// @ts-ignore: decorator
@external("env", "transmit")
declare function importTransmit(h: i32, byte: i32): void;

export function hostIrqLine(h: u32, p: usize, level: u32): void {
  publish(p);
  importIrqLine(h, level);
}

export function hostIrqPulse(h: u32, p: usize): void {
  publish(p);
  importIrqPulse(h);
}

export function hostTransmit(h: u32, p: usize, byte: u32): void {
  publish(p);
  importTransmit(h, byte);
}
