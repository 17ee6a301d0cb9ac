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
import { Uart, type UartProfile } from '../uart/uart.js';
import { describeRegister } from '../uart/registers.js';
import type { Trace, TraceEvent } from './trace.js';

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
  reads: ReplayRead[];
  mismatches: ReplayMismatch[];
  accesses: number;
  irqChanges: number;
  /** Whether irq lines were compared (the trace has at least one '# irq'). */
  irqChecked: boolean;
}

/** Options of replayTrace: the UART profile to replay against (default 'pc16550d'). */
export interface ReplayOptions {
  profile?: UartProfile;
}

type Access = Extract<TraceEvent, { kind: 'access' }>;
type Irq = Extract<TraceEvent, { kind: 'irq' }>;

/**
 * Replay a trace against a fresh Uart: writes are applied, reads and INTR levels compared
 * with the trace (a real Linux 8250 driver's accesses in /work/shared/traces). No I/O.
 */
export function replayTrace(trace: Trace, opts: ReplayOptions = {}): ReplayResult {
  // The modem pins of '# initial:' are the line's state at power-up, so they are
  // given at create time (no delta bits, as on a port that was never touched).
  const initial = trace.events.find((e) => e.kind === 'initial');
  const modemInputs = initial?.kind === 'initial' && initial.modemInputs !== null ? initial.modemInputs : undefined;
  const uart = Uart.create({ profile: opts.profile ?? 'pc16550d', modemInputs });
  try {
    return run(uart, trace);
  } finally {
    uart.dispose();
  }
}

function run(uart: Uart, trace: Trace): ReplayResult {
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

  for (const ev of trace.events) {
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
