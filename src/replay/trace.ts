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
 *
 * Multi-device traces (what `--record` writes, issue 10/12): an access line may
 * start with a DEVICE column naming one UART (e.g. `dev0.1 R 5 0x60`) and end
 * with `@NS`, the nanoseconds since the recording started (replay advances
 * that UART's clock, so character timeouts fall where they fell). Per device:
 *   # port DEV: profile=mtty|pc16550d wiring=loopback|host
 *   # initial DEV: ...            as '# initial:' above, for that UART
 *   # snapshot DEV @NS: <base64>  the UART's exact state (Uart.saveState) at
 *                                 that moment (taken when a client opens the
 *                                 device); replay restores it there
 *   # reset DEV @NS               VFIO_DEVICE_RESET reached this UART
 * Other '# ...' lines (config accesses, SET_IRQS, interrupts raised) are comments.
 * QEMU `-trace serial_*` log lines are accepted as well (serial_ioport_read/
 * serial_ioport_write up to QEMU 5.x, serial_read/serial_write later,
 * optionally "pid@time:" prefixed and with an "id#N" field); other QEMU
 * trace events in such a log are skipped.
 */
import { findUartProfile, UART_PROFILE_NAMES, type UartProfile } from '../uart/profile.js';

/** `device` is '' on lines without a DEVICE column (a single-UART trace). */
export type TraceEvent =
  | { kind: 'access'; line: number; device: string; op: 'R' | 'W'; offset: number; value: number; t: number | null }
  | { kind: 'irq'; line: number; device: string; level: boolean }
  | { kind: 'initial'; line: number; device: string; writes: { reg: string; offset: number; value: number }[]; modemInputs: number | null }
  | { kind: 'port'; line: number; device: string; profile: UartProfile | null; wiring: 'loopback' | 'host' | null }
  | { kind: 'snapshot'; line: number; device: string; state: Uint8Array; t: number | null }
  | { kind: 'reset'; line: number; device: string; t: number | null };

/** The DEVICE names of a trace, in order of first appearance ('' for untagged lines). */
export function traceDevices(trace: Trace): string[] {
  const seen = new Set<string>();
  for (const e of trace.events) if (e.kind === 'access' || e.kind === 'snapshot' || e.kind === 'initial') seen.add(e.device);
  return [...seen];
}

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
const DEVICE = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$/;

function parseTime(tok: string | undefined): number | null | undefined {
  if (tok === undefined || !tok.startsWith('@')) return undefined;
  return /^@\d+$/.test(tok) ? Number(tok.slice(1)) : null;
}

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
  const sawAccess = new Set<string>();
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
        events.push({ kind: 'irq', line: lineNo, device: '', level: irq[1] === '1' });
        continue;
      }
      const initial = /^initial(?:\s+([^\s:]+))?\s*:(.*)$/i.exec(body);
      if (initial) {
        const device = initial[1] ?? '';
        if (sawAccess.has(device)) err(`'# initial${device ? ' ' + device : ''}:' must come before the first access${device ? ' of ' + device : ''}`);
        events.push(parseInitial(initial[2]!, err, lineNo, device));
        continue;
      }
      const port = /^port\s+(\S+?)\s*:(.*)$/.exec(body);
      if (port) {
        let profile: UartProfile | null = null;
        let wiring: 'loopback' | 'host' | null = null;
        for (const kv of port[2]!.trim().split(/\s+/).filter(Boolean)) {
          const [k, v] = kv.split('=');
          if (k === 'profile' && findUartProfile(v)) profile = findUartProfile(v)!.name;
          else if (k === 'wiring' && (v === 'loopback' || v === 'host')) wiring = v;
          else err(`'# port' item '${kv}' is not profile=${UART_PROFILE_NAMES.join('|')} or wiring=loopback|host`);
        }
        events.push({ kind: 'port', line: lineNo, device: port[1]!, profile, wiring });
        continue;
      }
      const snap = /^snapshot\s+(\S+?)(?:\s+(@\S+))?\s*:\s*(\S+)$/.exec(body);
      if (snap) {
        const t = parseTime(snap[2]);
        if (t === null) err(`time '${snap[2]}' is not @<nanoseconds>`);
        if (!/^[A-Za-z0-9+/]+=*$/.test(snap[3]!)) err('snapshot data is not base64');
        events.push({ kind: 'snapshot', line: lineNo, device: snap[1]!, state: Uint8Array.from(Buffer.from(snap[3]!, 'base64')), t: t ?? null });
        continue;
      }
      const reset = /^reset\s+(\S+?)(?:\s+(@\S+))?\s*$/.exec(body);
      if (reset) {
        const t = parseTime(reset[2]);
        if (t === null) err(`time '${reset[2]}' is not @<nanoseconds>`);
        events.push({ kind: 'reset', line: lineNo, device: reset[1]!, t: t ?? null });
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
      events.push({ kind: 'access', line: lineNo, device: '', op: q[1]!.toLowerCase() === 'read' ? 'R' : 'W', offset, value, t: null });
      sawAccess.add('');
      continue;
    }
    if (QEMU_EVENT.test(raw)) continue; // another QEMU trace event (memory_region_ops_*, ioapic_*, ...)

    const code = raw.split('#')[0]!.trim();
    const tok = code.split(/\s+/);
    // An optional DEVICE column before R/W (a multi-device trace).
    let device = '';
    if (tok.length > 1 && !/^[RW]$/i.test(tok[0]!) && /^[RW]$/i.test(tok[1]!)) {
      device = tok.shift()!;
      if (!DEVICE.test(device)) err(`device name '${device}' has characters other than letters, digits and _ . : / -`);
    }
    const t = parseTime(tok[tok.length - 1]);
    if (t === null) err(`time '${tok[tok.length - 1]}' is not @<nanoseconds>`);
    if (t !== undefined) tok.pop();
    const op = tok[0]!.toUpperCase();
    if (op !== 'R' && op !== 'W') err(`unknown operation '${tok[0]}' (expected R or W, optionally after a DEVICE column)`);
    if (tok.length !== 3) err(`expected '[DEVICE] ${op} <offset> 0x<value> [@ns]', got '${code}'`);
    const offset = parseNumber(tok[1]!);
    if (offset === null || offset > 7) err(`offset '${tok[1]}' is not 0-7`);
    const value = parseNumber(tok[2]!);
    if (value === null) err(`value '${tok[2]}' is not a number`);
    if (value! > 0xff) err(`value '${tok[2]}' does not fit a byte (0x00-0xff)`);
    events.push({ kind: 'access', line: lineNo, device, op: op as 'R' | 'W', offset: offset!, value: value!, t: t ?? null });
    sawAccess.add(device);
  }
  return { file, events };
}

function parseInitial(rest: string, err: (m: string) => never, line: number, device: string): TraceEvent {
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
  return { kind: 'initial', line, device, writes, modemInputs };
}
