import type { Uart, UartProfile, Wiring } from '../uart/index.js';

/**
 * The UART behind each mtty port is the wasm Uart (src/uart), exposed as is
 * through `device.ports[i].uart` so host back-ends and inspectors get its
 * whole API. The factory is injectable so a test can make creation fail.
 */
export type { UartProfile, Wiring };
export type PortUart = Uart;
export type UartFactory = (opts: { profile: UartProfile; wiring: Wiring }) => Uart;
