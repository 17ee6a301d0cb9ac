/**
 * PC16550D register offsets and bit names for TypeScript code (device
 * models, drivers, the replay tool, the teaching lab), plus a decoder that
 * turns a register access into words a student can read.
 */
import { decodeRegister, type RegName } from './decode.js';

/** Register offsets 0..7 of a 16550 (PC16550D datasheet, Table II); DLL/DLM when LCR.DLAB is set. */
export const REG = {
  RBR: 0, THR: 0, DLL: 0,
  IER: 1, DLM: 1,
  IIR: 2, FCR: 2,
  LCR: 3,
  MCR: 4,
  LSR: 5,
  MSR: 6,
  SCR: 7,
} as const;

/** IER bits: RX data, THR empty, RX line status, modem status interrupts (datasheet 8.4). */
export const IER = { RDI: 0x01, THRI: 0x02, RLSI: 0x04, MSI: 0x08 } as const;
/**
 * IIR values: NO_INT bit, interrupt IDs in bits 1-3 (priority order), FIFO-enabled bits 6-7 (datasheet Table IV).
 */
export const IIR = { NO_INT: 0x01, ID_MASK: 0x0e, MSI: 0x00, THRI: 0x02, RDI: 0x04, RLSI: 0x06, CTI: 0x0c, FIFO: 0xc0 } as const;
/** FCR bits: FIFO enable, RX/TX clear, DMA mode, RX trigger level 1/4/8/14 bytes (datasheet 8.5). */
export const FCR = { ENABLE: 0x01, CLEAR_RX: 0x02, CLEAR_TX: 0x04, DMA: 0x08, TRIGGER_MASK: 0xc0, TRIGGER_1: 0x00, TRIGGER_4: 0x40, TRIGGER_8: 0x80, TRIGGER_14: 0xc0 } as const;
/** LCR bits: word length, stop bits, parity enable/even/stick, break, DLAB (datasheet 8.1). */
export const LCR = { WLEN5: 0x00, WLEN6: 0x01, WLEN7: 0x02, WLEN8: 0x03, STOP: 0x04, PARITY: 0x08, EPAR: 0x10, SPAR: 0x20, SBC: 0x40, DLAB: 0x80 } as const;
/** MCR bits: DTR, RTS, OUT1, OUT2 (gates INTR on PC boards), LOOP (datasheet 8.6). */
export const MCR = { DTR: 0x01, RTS: 0x02, OUT1: 0x04, OUT2: 0x08, LOOP: 0x10 } as const;
/**
 * LSR bits: data ready, overrun, parity, framing, break, THR empty, transmitter empty, RX FIFO error (datasheet 8.3).
 */
export const LSR = { DR: 0x01, OE: 0x02, PE: 0x04, FE: 0x08, BI: 0x10, THRE: 0x20, TEMT: 0x40, FIFOERR: 0x80 } as const;
/** MSR bits: delta CTS/DSR/DCD, trailing-edge RI, and the CTS/DSR/RI/DCD input levels (datasheet 8.7). */
export const MSR = { DCTS: 0x01, DDSR: 0x02, TERI: 0x04, DDCD: 0x08, CTS: 0x10, DSR: 0x20, RI: 0x40, DCD: 0x80 } as const;

/** Modem inputs of a connected line (CTS|DSR|DCD): the default of a new port. */
export const MODEM_CONNECTED = MSR.CTS | MSR.DSR | MSR.DCD;

/** Clock / 16 of the PC's 1.8432 MHz crystal: the baud rate of divisor 1. */
export const BASE_BAUD = 115200;

export type Direction = 'r' | 'w';

/** Name of the register an access hits (offsets 0-1 depend on LCR.DLAB, offset 2 on direction). */
export function registerName(offset: number, dir: Direction, dlab = false): string {
  switch (offset) {
    case 0: return dlab ? 'DLL' : dir === 'r' ? 'RBR' : 'THR';
    case 1: return dlab ? 'DLM' : 'IER';
    case 2: return dir === 'r' ? 'IIR' : 'FCR';
    case 3: return 'LCR';
    case 4: return 'MCR';
    case 5: return 'LSR';
    case 6: return 'MSR';
    case 7: return 'SCR';
    default: return `?${offset}`;
  }
}

/**
 * One line describing an access, e.g. describeRegister(5, 0x61, 'r') ->
 * "LSR 0x61: DR THRE TEMT". Pass dlab=true when LCR bit 7 was set. The words
 * come from the one decoder (decode.ts), which the lab shares.
 */
export function describeRegister(offset: number, value: number, dir: Direction, dlab = false): string {
  const name = registerName(offset, dir, dlab) as RegName;
  return `${name} 0x${value.toString(16).padStart(2, '0')}: ${decodeRegister(name, value).summary}`;
}
