/** src/uart public surface: the Uart class, its types, the profile definitions, register names and the decoder. */
export { Uart } from './uart.js';
export type { Wiring, UartOptions, LineSettings } from './uart.js';
export {
  UART_PROFILES,
  UART_PROFILE_NAMES,
  DEFAULT_UART_PROFILE,
  findUartProfile,
  parseUartProfile,
  type UartProfile,
  type UartProfileDefinition,
  type IrqStyle,
  type KnownUartProfile,
} from './profile.js';
export * from './registers.js';
export * from './decode.js';
