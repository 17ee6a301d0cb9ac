/**
 * Drive a fresh Uart with a parsed trace: apply writes, perform reads, and
 * (with check) compare every read value and, when the trace records them,
 * every INTR level change with what our model does.
 *
 * IRQ comparison follows the trace's logging convention (QEMU's): the
 * changes caused by a write are logged after its W line, those caused by a
 * read before its R line. So between two accesses the recorded irq lines
 * must equal (changes of the previous access if it was a W) followed by
 * (changes of the next access if it is an R).
 */
import { fail } from '../errors/errno.js';
import { Uart, type UartProfile } from '../uart/uart.js';
import { DEFAULT_UART_PROFILE } from '../uart/profile.js';
import { describeRegister } from '../uart/registers.js';
import { traceDevices, type Trace, type TraceEvent } from './trace.js';

/**
 * A read replayed: trace line, offset, the value the model returned and the one the trace expected, decoded text.
 */
export interface ReplayRead {
  line: number;
  offset: number;
  value: number;
  expected: number;
  text: string;
}

/** A difference between the model and the trace: trace line and a sentence. */
export interface ReplayMismatch {
  line: number;
  message: string;
}

/**
 * What replayTrace found: every read, the mismatches (reads and INTR levels), access and IRQ-change counts.
 */
export interface ReplayResult {
  /** The DEVICE column replayed ('' for a single-UART trace without one). */
  device: string;
  /** The UART profile used (the option, else the trace's '# port', else pc16550d). */
  profile: UartProfile;
  reads: ReplayRead[];
  mismatches: ReplayMismatch[];
  accesses: number;
  irqChanges: number;
  /** Whether irq lines were compared (the trace has at least one '# irq'). */
  irqChecked: boolean;
}

/** Options of replayTrace: the UART profile to replay against (default 'pc16550d'). */
export interface ReplayOptions {
  /** Overrides the trace's '# port ... profile=' (default pc16550d). */
  profile?: UartProfile;
  /** Which DEVICE of a multi-device trace; required when the trace has several. */
  device?: string;
}

type Access = Extract<TraceEvent, { kind: 'access' }>;
type Irq = Extract<TraceEvent, { kind: 'irq' }>;

/**
 * Replay one UART of a trace on a fresh Uart. EINVAL if `device` is not in
 * the trace, or is missing while the trace has several devices.
 */
export function replayTrace(trace: Trace, opts: ReplayOptions = {}): ReplayResult {
  const devices = traceDevices(trace);
  let device = opts.device;
  if (device === undefined) {
    if (devices.length > 1) fail('EINVAL', `${trace.file} has ${devices.length} devices (${devices.join(', ')}); name one, or replay them all`);
    device = devices[0] ?? '';
  } else if (!devices.includes(device)) {
    fail('EINVAL', `${trace.file} has no device '${device}' (it has ${devices.map((d) => d || '(untagged)').join(', ') || 'no accesses'})`);
  }
  // Untagged '# irq' lines belong to an untagged (single-UART) trace only.
  const events = trace.events.filter((e) => e.device === device);
  const port = events.find((e) => e.kind === 'port');
  const profile = opts.profile ?? (port?.kind === 'port' ? port.profile : null) ?? DEFAULT_UART_PROFILE;
  const wiring = (port?.kind === 'port' ? port.wiring : null) ?? 'host';
  // The modem pins of '# initial:' are the line's state at power-up, so they are
  // given at create time (no delta bits, as on a port that was never touched).
  const initial = events.find((e) => e.kind === 'initial');
  const modemInputs = initial?.kind === 'initial' && initial.modemInputs !== null ? initial.modemInputs : undefined;
  const uart = Uart.create({ profile, modemInputs, wiring });
  try {
    return { device, profile, ...run(uart, { file: trace.file, events }) };
  } finally {
    uart.dispose();
  }
}

/** Every device of a trace, each on its own fresh Uart, in order of first appearance. */
export function replayAll(trace: Trace, opts: Omit<ReplayOptions, 'device'> = {}): ReplayResult[] {
  return traceDevices(trace).map((device) => replayTrace(trace, { ...opts, device }));
}

function run(uart: Uart, trace: Trace): Omit<ReplayResult, 'device' | 'profile'> {
  let changes: boolean[] = [];
  uart.onIrqLine = (level) => changes.push(level);

  const reads: ReplayRead[] = [];
  const mismatches: ReplayMismatch[] = [];
  const irqChecked = trace.events.some((e) => e.kind === 'irq');
  let accesses = 0;
  let irqChanges = 0;

  // Model irq changes still owed to the log: those of the last W (logged after it).
  let owedAfterWrite: boolean[] = [];
  let owedLine = 0;
  let recorded: Irq[] = [];

  const compareGap = (next: Access | null, beforeNext: boolean[]): void => {
    if (!irqChecked) return;
    const model = [...owedAfterWrite, ...beforeNext];
    const n = Math.max(model.length, recorded.length);
    for (let i = 0; i < n; i++) {
      const m = model[i];
      const r = recorded[i];
      if (m === r?.level) continue;
      const line = r?.line ?? next?.line ?? owedLine;
      if (r === undefined) {
        mismatches.push({ line, message: `model changed irq to ${m ? 1 : 0} here; the trace records no irq change` });
      } else if (m === undefined) {
        mismatches.push({ line, message: `trace records irq ${r.level ? 1 : 0}; the model's line did not change` });
      } else {
        mismatches.push({ line, message: `trace records irq ${r.level ? 1 : 0}; the model changed irq to ${m ? 1 : 0}` });
      }
      break; // one report per gap: later entries are shifted by the first difference
    }
    recorded = [];
    owedAfterWrite = [];
  };

  // Recorded time (ns since the recording began): the Uart is advanced to each
  // access's time first, so a character timeout fires where it fired live.
  let now: number | null = null;
  const advanceTo = (t: number | null): void => {
    if (t === null) return;
    if (now !== null && t > now) uart.advance(t - now);
    if (now === null || t > now) now = t;
  };

  for (const ev of trace.events) {
    if (ev.kind === 'port') continue;
    if (ev.kind === 'snapshot') {
      // The exact state when a client opened the device; the board's wiring stays as declared.
      const wiring = uart.wiring;
      uart.restoreState(ev.state);
      uart.wiring = wiring;
      now = ev.t;
      changes = [];
      continue;
    }
    if (ev.kind === 'reset') {
      advanceTo(ev.t);
      uart.reset();
      changes = [];
      continue;
    }
    if (ev.kind === 'irq') {
      recorded.push(ev);
      continue;
    }
    if (ev.kind === 'initial') {
      for (const w of ev.writes) {
        if (w.reg === 'DLL' || w.reg === 'DLM') {
          const lcr = uart.peek(3);
          uart.write(3, lcr | 0x80);
          uart.write(w.offset, w.value);
          uart.write(3, lcr);
        } else {
          uart.write(w.offset, w.value);
        }
      }
      // Setting up (e.g. MCR loopback bits) must not leave delta bits the trace never saw.
      if ((uart.peek(6) & 0x0f) !== 0) uart.read(6);
      changes = []; // the state before the trace starts; its level is the starting point
      continue;
    }
    accesses++;
    advanceTo(ev.t);
    changes = [];
    if (ev.op === 'W') {
      uart.write(ev.offset, ev.value);
      compareGap(ev, []);
      owedAfterWrite = changes;
      owedLine = ev.line;
    } else {
      const dlab = (uart.peek(3) & 0x80) !== 0;
      const value = uart.read(ev.offset);
      compareGap(ev, changes);
      reads.push({ line: ev.line, offset: ev.offset, value, expected: ev.value, text: describeRegister(ev.offset, value, 'r', dlab) });
      if (value !== ev.value) {
        mismatches.push({ line: ev.line, message: `R ${ev.offset}: trace 0x${hex(ev.value)}, model 0x${hex(value)} (${describeRegister(ev.offset, value, 'r', dlab)})` });
      }
    }
    irqChanges += changes.length;
  }
  compareGap(null, []);
  mismatches.sort((a, b) => a.line - b.line);
  return { reads, mismatches, accesses, irqChanges, irqChecked };
}

function hex(v: number): string {
  return v.toString(16).padStart(2, '0');
}
