/**
 * Register-trace parser for `mtty replay`.
 *
 * Native format, one event per line:
 *   R <off> 0x<val>     a read of offset 0-7 and the value the device returned
 *   W <off> 0x<val>     a write
 *   # irq <0|1>         the INTR level changed (QEMU's order: a change made by a
 *                       write is logged after that W, one made by a read before that R)
 *   # initial: MCR=0x08 MSR-inputs=CTS,DSR,DCD (...)   state before the first access
 *   # anything else     comment; text after '#' on an access line is a comment too
 * QEMU `-trace serial_*` log lines are accepted as well (serial_ioport_read/
 * serial_ioport_write up to QEMU 5.x, serial_read/serial_write later,
 * optionally "pid@time:" prefixed and with an "id#N" field); other QEMU
 * trace events in such a log are skipped.
 */

/**
 * One line of a register trace: an access (R/W, offset 0..7, value), an INTR level change, or the initial state.
 */
export type TraceEvent =
  | { kind: 'access'; line: number; op: 'R' | 'W'; offset: number; value: number }
  | { kind: 'irq'; line: number; level: boolean }
  | { kind: 'initial'; line: number; writes: { reg: string; offset: number; value: number }[]; modemInputs: number | null };

/** A parsed register trace: its file name and events in order. */
export interface Trace {
  file: string;
  events: TraceEvent[];
}

/** Bad trace input: names the file and line (the CLI exits 2 with it). */
export class TraceError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'TraceError';
  }
}

const QEMU_SERIAL = /^(?:\d+@\d+(?:\.\d+)?:)?serial_(?:ioport_)?(read|write)\s+(?:id#(\d+)\s+)?(?:read|write)\s+addr\s+(0x[0-9a-f]+)\s+val\s+(0x[0-9a-f]+)\s*$/i;
const QEMU_EVENT = /^(?:\d+@\d+(?:\.\d+)?:)?[a-z][a-z0-9]*_[a-z0-9_]*(\s|$)/;

/** Register names usable in `# initial:` (written in this order, DLL/DLM under DLAB). */
const INITIAL_REGS: Record<string, number> = { IER: 1, FCR: 2, LCR: 3, MCR: 4, SCR: 7, DLL: 0, DLM: 1 };
const MODEM_NAMES: Record<string, number> = { CTS: 0x10, DSR: 0x20, RI: 0x40, DCD: 0x80 };

function parseNumber(tok: string): number | null {
  if (/^0x[0-9a-f]+$/i.test(tok)) return parseInt(tok.slice(2), 16);
  if (/^\d+$/.test(tok)) return parseInt(tok, 10);
  return null;
}

/**
 * Parse a register trace (the native R/W format or QEMU `-trace serial_*` logs, see the
 * file header). `file` names the input in errors. Throws TraceError (file, line, message).
 */
export function parseTrace(text: string, file: string): Trace {
  const events: TraceEvent[] = [];
  let qemuId: string | null = null;
  let sawAccess = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const err = (reason: string): never => {
      throw new TraceError(file, lineNo, reason);
    };

    if (raw.startsWith('#')) {
      const body = raw.slice(1).trim();
      const irq = /^irq\s+(\S+)\s*$/.exec(body);
      if (irq) {
        if (irq[1] !== '0' && irq[1] !== '1') err(`irq level must be 0 or 1, got '${irq[1]}'`);
        events.push({ kind: 'irq', line: lineNo, level: irq[1] === '1' });
        continue;
      }
      if (/^initial\s*:/i.test(body)) {
        if (sawAccess) err("'# initial:' must come before the first access");
        events.push(parseInitial(body.replace(/^initial\s*:/i, ''), err, lineNo));
      }
      continue;
    }

    const q = QEMU_SERIAL.exec(raw);
    if (q) {
      if (q[2] !== undefined) {
        if (qemuId === null) qemuId = q[2];
        else if (qemuId !== q[2]) err(`QEMU log mixes UARTs id#${qemuId} and id#${q[2]}; split it per UART`);
      }
      const offset = parseInt(q[3]!.slice(2), 16);
      const value = parseInt(q[4]!.slice(2), 16);
      if (offset > 7) err(`offset ${q[3]} is not 0-7`);
      if (value > 0xff) err(`value ${q[4]} does not fit a byte`);
      events.push({ kind: 'access', line: lineNo, op: q[1]!.toLowerCase() === 'read' ? 'R' : 'W', offset, value });
      sawAccess = true;
      continue;
    }
    if (QEMU_EVENT.test(raw)) continue; // another QEMU trace event (memory_region_ops_*, ioapic_*, ...)

    const code = raw.split('#')[0]!.trim();
    const tok = code.split(/\s+/);
    const op = tok[0]!.toUpperCase();
    if (op !== 'R' && op !== 'W') err(`unknown operation '${tok[0]}' (expected R or W)`);
    if (tok.length !== 3) err(`expected '${op} <offset> 0x<value>', got '${code}'`);
    const offset = parseNumber(tok[1]!);
    if (offset === null || offset > 7) err(`offset '${tok[1]}' is not 0-7`);
    const value = parseNumber(tok[2]!);
    if (value === null) err(`value '${tok[2]}' is not a number`);
    if (value! > 0xff) err(`value '${tok[2]}' does not fit a byte (0x00-0xff)`);
    events.push({ kind: 'access', line: lineNo, op: op as 'R' | 'W', offset: offset!, value: value! });
    sawAccess = true;
  }
  return { file, events };
}

function parseInitial(rest: string, err: (m: string) => never, line: number): TraceEvent {
  const writes: { reg: string; offset: number; value: number }[] = [];
  let modemInputs: number | null = null;
  for (const tok of rest.trim().split(/\s+/)) {
    if (tok === '' ) continue;
    if (tok.startsWith('(')) break; // free-text explanation follows
    const eq = tok.indexOf('=');
    if (eq < 0) err(`'# initial:' item '${tok}' is not NAME=VALUE`);
    const name = tok.slice(0, eq).toUpperCase();
    const val = tok.slice(eq + 1);
    if (name === 'MSR-INPUTS') {
      let bits = 0;
      if (val.toLowerCase() !== 'none') {
        const n = parseNumber(val);
        if (n !== null) bits = n;
        else {
          for (const pin of val.split(',')) {
            const b = MODEM_NAMES[pin.toUpperCase()];
            if (b === undefined) err(`unknown modem input '${pin}' (CTS, DSR, RI, DCD)`);
            bits |= b!;
          }
        }
      }
      if ((bits & 0xf0) !== bits) err(`MSR-inputs ${val} is not a set of MSR bits 4-7`);
      modemInputs = bits;
      continue;
    }
    const offset = INITIAL_REGS[name];
    if (offset === undefined) err(`'# initial:' register '${name}' is not one of ${Object.keys(INITIAL_REGS).join(' ')} MSR-inputs`);
    const value = parseNumber(val);
    if (value === null || value > 0xff) err(`'# initial:' value '${val}' for ${name} is not a byte`);
    writes.push({ reg: name, offset: offset!, value: value! });
  }
  return { kind: 'initial', line, writes, modemInputs };
}
