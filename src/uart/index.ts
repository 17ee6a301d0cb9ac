/** src/uart public surface: the Uart class, its types, register names and the decoder. */
export { Uart } from './uart.js';
export type { UartProfile, Wiring, UartOptions, LineSettings } from './uart.js';
export * from './registers.js';
export * from './decode.js';
