import { Uart } from '../uart/index.js';
import type { UartFactory } from './port-uart.js';

/** The production UART of every port: the wasm 16550A core. */
export const createWasmUart: UartFactory = (opts) => Uart.create({ profile: opts.profile, wiring: opts.wiring });
