/**
 * The one register decoder: bit-by-bit meaning of the 16550A registers
 * (PC16550D datasheet, section 8 "Registers"), for `mtty replay`'s read
 * annotations (registers.describeRegister), the lab's inspector, access log
 * and step explanations. Kept as data (one row per field) so a table and a
 * one-line summary come from the same source: a student sees the same words
 * everywhere.
 *
 * Pure functions over numbers: no Uart here, so Node and the browser share it.
 */

/** The names a register offset takes, depending on direction and DLAB. */
export type RegName =
  | 'RBR' | 'THR' | 'IER' | 'IIR' | 'FCR' | 'LCR' | 'MCR' | 'LSR' | 'MSR' | 'SCR' | 'DLL' | 'DLM';

export interface BitField {
  /** "7" or "3:1": the bit range as the datasheet writes it. */
  bits: string;
  /** Datasheet mnemonic (DLAB, THRE, ...). */
  name: string;
  /** The field's value (already shifted down). */
  value: number;
  /** What this value means, in words. */
  text: string;
  /** A few characters for a multi-bit field's cell in the inspector ("RX data", "8 bits"). */
  short?: string;
}

export interface DecodedRegister {
  name: RegName;
  value: number;
  /** One-line meaning, used after "=" in the access log. */
  summary: string;
  fields: BitField[];
}

/** A byte as a student wants to see it on a serial line: 'A', '\r', or nothing. */
export function charLabel(byte: number): string {
  const named: Record<number, string> = { 0x0a: "'\\n'", 0x0d: "'\\r'", 0x09: "'\\t'", 0x08: "'\\b'", 0x7f: 'DEL', 0x1b: 'ESC', 0x00: 'NUL' };
  if (byte in named) return named[byte];
  if (byte >= 0x20 && byte < 0x7f) return `'${String.fromCharCode(byte)}'`;
  return '';
}

export function hex2(v: number): string {
  return '0x' + (v & 0xff).toString(16).padStart(2, '0');
}

const bit = (v: number, n: number) => (v >> n) & 1;

/** One single-bit field; `on`/`off` are the words for 1 and 0. */
function flag(v: number, n: number, name: string, on: string, off: string): BitField {
  return { bits: String(n), name, value: bit(v, n), text: bit(v, n) ? on : off };
}

function reserved(v: number, hi: number, lo: number): BitField {
  const value = (v >> lo) & ((1 << (hi - lo + 1)) - 1);
  return { bits: hi === lo ? String(hi) : `${hi}:${lo}`, name: '-', value, text: value ? 'reserved (reads back set)' : 'reserved' };
}

/** IIR bits 3:1 (+ bit 0 = 0) as the datasheet's interrupt identification table. */
export function iirSource(v: number): string {
  if (v & 1) return 'no interrupt pending';
  switch (v & 0x0e) {
    case 0x06: return 'receiver line status';
    case 0x04: return 'RX data available';
    case 0x0c: return 'character timeout';
    case 0x02: return 'THR empty';
    case 0x00: return 'modem status';
    default: return `unknown id ${hex2(v & 0x0f)}`;
  }
}

const WORD_LENGTH = [5, 6, 7, 8];
/** IIR bits 3:1 -> a cell-sized name (index = the 3-bit ID). */
const IIR_SHORT: Record<number, string> = { 0: 'modem', 1: 'THR empty', 2: 'RX data', 3: 'line status', 6: 'timeout' };
const TRIGGER = [1, 4, 8, 14];

function parityText(lcr: number): string {
  if (!(lcr & 0x08)) return 'N';
  if (lcr & 0x20) return lcr & 0x10 ? 'S' : 'M';
  return lcr & 0x10 ? 'E' : 'O';
}

/** "8N1": the way everyone writes line settings. */
export function frameText(lcr: number): string {
  const data = WORD_LENGTH[lcr & 3];
  const stop = lcr & 0x04 ? (data === 5 ? '1.5' : '2') : '1';
  return `${data}${parityText(lcr)}${stop}`;
}

/** Names of the set bits among `names` (index = bit number), joined by spaces. */
function setNames(v: number, names: readonly (string | null)[]): string {
  return names.filter((n, i) => n && bit(v, i)).join(' ');
}

const IER_NAMES = ['RX data', 'THR empty', 'line status', 'modem status'] as const;
const MCR_NAMES = ['DTR', 'RTS', 'OUT1', 'OUT2', 'LOOP', 'AFE'] as const;
const LSR_NAMES = ['DR', 'OE', 'PE', 'FE', 'BI', 'THRE', 'TEMT', 'RXFE'] as const;
const MSR_NAMES = ['DCTS', 'DDSR', 'TERI', 'DDCD', 'CTS', 'DSR', 'RI', 'DCD'] as const;

/**
 * Decode one register value. `divisor` (the full 16-bit latch) lets DLL/DLM
 * show the resulting baud rate at the PC's 1.8432 MHz clock.
 */
export function decodeRegister(name: RegName, value: number, divisor?: number): DecodedRegister {
  const v = value & 0xff;
  let fields: BitField[] = [];
  let summary = '';
  switch (name) {
    case 'RBR':
    case 'THR': {
      const c = charLabel(v);
      fields = [{ bits: '7:0', name: 'DATA', value: v, text: c ? `character ${c}` : 'binary byte', short: c ? `${hex2(v)} ${c}` : hex2(v) }];
      summary = c ? `data byte ${c}` : 'data byte';
      break;
    }
    case 'DLL':
    case 'DLM': {
      const baud = divisor ? Math.round(115200 / divisor) : 0;
      fields = [{ bits: '7:0', name: name, value: v, text: `divisor ${name === 'DLL' ? 'low' : 'high'} byte`, short: hex2(v) }];
      summary = divisor === undefined ? 'divisor latch byte' : divisor ? `divisor ${divisor} = ${baud} baud` : 'divisor 0 (undefined baud)';
      break;
    }
    case 'IER':
      fields = [
        flag(v, 0, 'ERBFI', 'RX data available interrupt enabled', 'RX data interrupt off'),
        flag(v, 1, 'ETBEI', 'THR empty interrupt enabled', 'THR empty interrupt off'),
        flag(v, 2, 'ELSI', 'line status interrupt enabled', 'line status interrupt off'),
        flag(v, 3, 'EDSSI', 'modem status interrupt enabled', 'modem status interrupt off'),
        reserved(v, 7, 4),
      ];
      summary = v & 0x0f ? `enable ${IER_NAMES.filter((_, i) => bit(v, i)).join(', ')}` : 'all interrupts off';
      break;
    case 'IIR': {
      const fifo = (v >> 6) & 3;
      fields = [
        flag(v, 0, 'nINT', 'no interrupt pending', 'interrupt pending'),
        { bits: '3:1', name: 'ID', value: (v >> 1) & 7, text: iirSource(v), short: v & 1 ? '-' : IIR_SHORT[(v >> 1) & 7] ?? '?' },
        reserved(v, 5, 4),
        { bits: '7:6', name: 'FIFO', value: fifo, text: fifo === 3 ? 'FIFOs enabled (16550A)' : fifo ? 'FIFO bits unusable' : 'no FIFO (16450 mode)', short: fifo === 3 ? 'on' : fifo ? '?' : 'off' },
      ];
      summary = iirSource(v) + (fifo === 3 ? ', FIFOs on' : fifo ? `, FIFO bits ${hex2(v & 0xc0)}` : '');
      break;
    }
    case 'FCR': {
      fields = [
        flag(v, 0, 'FE', 'FIFOs enabled', 'FIFOs off (16450 mode)'),
        flag(v, 1, 'RFR', 'clear RX FIFO', '-'),
        flag(v, 2, 'TFR', 'clear TX FIFO', '-'),
        flag(v, 3, 'DMA', 'DMA mode 1', 'DMA mode 0'),
        reserved(v, 5, 4),
        { bits: '7:6', name: 'TRIG', value: v >> 6, text: `RX trigger level ${TRIGGER[v >> 6]} byte${v >> 6 ? 's' : ''}`, short: String(TRIGGER[v >> 6]) },
      ];
      if (!(v & 1)) {
        summary = 'FIFOs off (16450 mode)';
        break;
      }
      const parts = ['FIFOs on', `RX trigger ${TRIGGER[v >> 6]}`];
      if (v & 2) parts.push('clear RX');
      if (v & 4) parts.push('clear TX');
      if (v & 8) parts.push('DMA mode 1');
      summary = parts.join(', ');
      break;
    }
    case 'LCR':
      fields = [
        { bits: '1:0', name: 'WLS', value: v & 3, text: `${WORD_LENGTH[v & 3]} data bits`, short: `${WORD_LENGTH[v & 3]} bits` },
        flag(v, 2, 'STB', WORD_LENGTH[v & 3] === 5 ? '1.5 stop bits' : '2 stop bits', '1 stop bit'),
        flag(v, 3, 'PEN', 'parity on', 'no parity'),
        flag(v, 4, 'EPS', 'even parity', 'odd parity'),
        flag(v, 5, 'SP', 'stick parity', 'normal parity'),
        flag(v, 6, 'BC', 'sending break', 'no break'),
        flag(v, 7, 'DLAB', 'offsets 0/1 = divisor latch', 'offsets 0/1 = RBR/THR, IER'),
      ];
      summary = `${frameText(v)}${v & 0x40 ? ', break' : ''}${v & 0x80 ? ', DLAB on' : ''}`;
      break;
    case 'MCR':
      fields = [
        flag(v, 0, 'DTR', 'DTR asserted', 'DTR off'),
        flag(v, 1, 'RTS', 'RTS asserted', 'RTS off'),
        flag(v, 2, 'OUT1', 'OUT1 on', 'OUT1 off'),
        flag(v, 3, 'OUT2', 'OUT2 on (PC: IRQ routed to the bus)', 'OUT2 off (PC: IRQ not routed)'),
        flag(v, 4, 'LOOP', 'loopback mode', 'normal mode'),
        flag(v, 5, 'AFE', 'auto flow control (16750)', '-'),
        reserved(v, 7, 6),
      ];
      summary = setNames(v, MCR_NAMES) || 'all outputs off';
      break;
    case 'LSR':
      fields = [
        flag(v, 0, 'DR', 'data ready in RBR/FIFO', 'no data'),
        flag(v, 1, 'OE', 'overrun: a byte was lost', 'no overrun'),
        flag(v, 2, 'PE', 'parity error', 'no parity error'),
        flag(v, 3, 'FE', 'framing error', 'no framing error'),
        flag(v, 4, 'BI', 'break received', 'no break'),
        flag(v, 5, 'THRE', 'THR empty: may write', 'THR full'),
        flag(v, 6, 'TEMT', 'transmitter idle', 'transmitter busy'),
        flag(v, 7, 'RXFE', 'error byte in RX FIFO', 'no FIFO error'),
      ];
      summary = setNames(v, LSR_NAMES) || 'nothing set';
      break;
    case 'MSR':
      fields = [
        flag(v, 0, 'DCTS', 'CTS changed', 'CTS unchanged'),
        flag(v, 1, 'DDSR', 'DSR changed', 'DSR unchanged'),
        flag(v, 2, 'TERI', 'RI ended', '-'),
        flag(v, 3, 'DDCD', 'DCD changed', 'DCD unchanged'),
        flag(v, 4, 'CTS', 'clear to send', 'CTS off'),
        flag(v, 5, 'DSR', 'data set ready', 'DSR off'),
        flag(v, 6, 'RI', 'ring indicator', 'no ring'),
        flag(v, 7, 'DCD', 'carrier detect', 'no carrier'),
      ];
      summary = setNames(v, MSR_NAMES) || 'all modem inputs off';
      break;
    case 'SCR':
      fields = [{ bits: '7:0', name: 'SCR', value: v, text: 'scratch byte (no effect on the chip)', short: hex2(v) }];
      summary = 'scratch';
      break;
  }
  return { name, value: v, summary, fields };
}

/** The short list of set bit names of a flag register (inspector headers, diffs). */
export function bitNames(name: RegName): readonly string[] | null {
  switch (name) {
    case 'IER': return ['ERBFI', 'ETBEI', 'ELSI', 'EDSSI'];
    case 'MCR': return MCR_NAMES;
    case 'LSR': return LSR_NAMES;
    case 'MSR': return MSR_NAMES;
    case 'LCR': return ['WLS0', 'WLS1', 'STB', 'PEN', 'EPS', 'SP', 'BC', 'DLAB'];
    default: return null;
  }
}
