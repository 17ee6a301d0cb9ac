/**
 * The only ways the core talks to the outside. Each import carries the port
 * handle; the TS wrapper dispatches it to the right Uart object. They are
 * called only on real events (a level change, a byte leaving SOUT, an mtty
 * trigger point) so an idle port costs the host nothing.
 */

// @ts-ignore: decorator
@external("env", "irqLine")
export declare function hostIrqLine(h: i32, level: i32): void;

// @ts-ignore: decorator
@external("env", "irqPulse")
export declare function hostIrqPulse(h: i32): void;

// @ts-ignore: decorator
@external("env", "transmit")
export declare function hostTransmit(h: i32, byte: i32): void;
