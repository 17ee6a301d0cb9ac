/**
 * Which UART core a device-level measurement runs on: 'wasm' (the product's
 * Uart over the AssemblyScript core) or 'ts' (bench/baseline's plain-TS model
 * behind the same device code, see ts-core-factory.ts).
 */
import { Uart } from '../src/uart/index.js';
import type { UartFactory } from '../src/mtty/port-uart.js';
import { TsUart } from './baseline/uart-ts.js';
import { createTsUart } from './ts-core-factory.js';

export type CoreName = 'wasm' | 'ts';

/** The loadMtty createUart option for a core (undefined = the default wasm Uart). */
export function uartFactory(core: CoreName): UartFactory | undefined {
  return core === 'ts' ? createTsUart : undefined;
}

/** A bare loopback-wired UART of that core, for the wrapper-level rows. */
export function bareLoopbackUart(core: CoreName): {
  read(off: number): number;
  write(off: number, v: number): void;
  writeMany(b: Uint8Array): number;
  readMany(b: Uint8Array): number;
  readonly stage: Uint8Array;
  readonly stagedWritten: number;
  writeReadStaged(n: number, max: number): number;
  exchangeStaged(n: number): number;
} {
  return core === 'ts' ? new TsUart({ loopback: true }) : Uart.create({ wiring: 'loopback' });
}
