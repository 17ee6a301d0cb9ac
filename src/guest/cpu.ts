/**
 * The guest's one CPU. Every guest routine (firmware enumeration, the 8250
 * driver's open/close/write, the interrupt handler) is a generator that yields
 * one GuestOp per device access and receives what a read returned. The CPU
 * performs them, so the same driver code
 *   - runs to completion (run(): the walk-through, the daemon's console, the
 *     tests), or
 *   - is stepped one access at a time (submit() + step(): the lab's step mode),
 * and produces the same access order either way.
 *
 * Interrupts: the device raises a line (InterruptController.raise) from inside
 * an access; the CPU takes it between two accesses, when the running code is
 * not inside an interrupts-off section (spin_lock_irqsave in the driver; the
 * 'irq-save'/'irq-restore' ops) and no handler is running already. The
 * handler is then pushed on top of the preempted routine, which resumes after
 * it, as on a real CPU. A line raised from the host side (a back-end, a
 * timer), when no guest code runs, is taken on the next microtask in run mode,
 * or at the next step() in step mode.
 */
import type { VfioDevice } from '../vfio/api.js';
import { InterruptController } from './interrupts.js';
import { IoSpace } from './io-space.js';
import { cfgRead, cfgWrite } from './pci-function.js';

/** One thing a guest routine asks of the CPU. `why` is the teaching label the lab shows. */
export type GuestOp =
  /** inb: a byte read of an I/O port. */
  | { kind: 'in'; port: number; why: string }
  /** outb */
  | { kind: 'out'; port: number; value: number; why: string }
  /** A config-space read through the device's VFIO config region (the firmware's enumeration). */
  | { kind: 'cfg-read'; device: VfioDevice; offset: number; size: 1 | 2 | 4; why: string }
  | { kind: 'cfg-write'; device: VfioDevice; offset: number; size: 1 | 2 | 4; value: number; why: string }
  /** End of interrupt on a line: the VMM's INTx UNMASK (VFIO_DEVICE_SET_IRQS) runs here. */
  | { kind: 'eoi'; irq: number; why: string }
  /** local_irq_save / restore: not accesses, performed without a step of their own. */
  | { kind: 'irq-save' }
  | { kind: 'irq-restore' }
  /** disable_irq / enable_irq of one line (the 8250 THRE test). Not accesses either. */
  | { kind: 'disable-irq'; irq: number }
  | { kind: 'enable-irq'; irq: number };

/** The ops that touch the device or the VMM: the unit of a step. */
export type GuestAccess = Extract<GuestOp, { why: string }>;

/** A guest routine: yields ops, receives each read's value (0 for everything else), returns T. */
export type GuestRoutine<T = void> = Generator<GuestOp, T, number>;

export function isAccess(op: GuestOp): op is GuestAccess {
  return 'why' in op;
}

interface Frame {
  title: string;
  isr: boolean;
  routine: GuestRoutine<unknown>;
  /** The access fetched from the routine and not yet performed. */
  op?: GuestAccess;
  /** Value sent into the routine at its next resume. */
  result: number;
  done: boolean;
  value?: unknown;
}

/** What the step panel shows: which routine makes the next access, and the access. */
export interface NextAccess {
  task: string;
  isr: boolean;
  op: GuestAccess;
}

/** Told around every performed access (the lab's log and register diff hang here). */
export interface AccessObserver {
  before?(op: GuestAccess, task: string): void;
  after?(op: GuestAccess, value: number, task: string): void;
}

/**
 * Perform a routine that only touches config space, without a CPU (the daemon
 * sizes BARs this way too). An I/O or interrupt op here is a programming error.
 */
export function runConfigRoutine<T>(routine: GuestRoutine<T>): T {
  let value = 0;
  for (;;) {
    const it = routine.next(value);
    if (it.done) return it.value;
    const op = it.value;
    if (op.kind === 'cfg-read') value = cfgRead(op.device, op.offset, op.size);
    else if (op.kind === 'cfg-write') {
      cfgWrite(op.device, op.offset, op.size, op.value);
      value = 0;
    } else throw new Error(`runConfigRoutine: '${op.kind}' needs a GuestCpu`);
  }
}

export class GuestCpu {
  readonly io = new IoSpace();
  readonly irqs = new InterruptController();
  readonly dmesg: string[] = [];
  /** 'run': queued work and host-side interrupts run at once; 'step': only step() advances. */
  private _mode: 'run' | 'step' = 'run';
  /** Called with every dmesg line as it is logged. */
  onLog: ((line: string) => void) | null = null;
  /** Step mode: work became runnable (a task queued, a line raised), so a view can refresh. */
  onRunnable: (() => void) | null = null;
  /** Where a failure in work taken outside any caller's stack goes (host-side interrupt in run mode). */
  onError: ((e: unknown) => void) | null = null;
  observer: AccessObserver | null = null;
  /** Running routines; the last one executes (an interrupt handler sits on top of what it preempted). */
  private stack: Frame[] = [];
  /** Submitted and not started, in order. */
  private ready: Frame[] = [];
  /** local_irq_save() nesting: > 0 means interrupts are not taken now. */
  private masked = 0;
  /** > 0 while run()/drain() execute synchronously: a raised line is picked up by that loop. */
  private executing = 0;
  private drainQueued = false;

  constructor() {
    this.irqs.onRaise = (_irq, now) => (now && this._mode === 'run' && this.executing === 0 ? void this.drain() : this.kick());
  }

  /** printk: one dmesg line. */
  log(line: string): void {
    this.dmesg.push(line);
    this.onLog?.(line);
  }

  get mode(): 'run' | 'step' {
    return this._mode;
  }

  /** Switching to run mode performs everything queued (and the interrupts it raises). */
  set mode(m: 'run' | 'step') {
    this._mode = m;
    if (m === 'run' && this.executing === 0) this.drain();
  }

  /** Run `routine` to completion now, with interrupts taken between its accesses; returns its value. */
  run<T>(routine: GuestRoutine<T>, title = 'guest'): T {
    const f: Frame = { title, isr: false, routine, result: 0, done: false };
    const floor = this.stack.length;
    const masked = this.masked;
    this.stack.push(f);
    this.executing++;
    try {
      while (!f.done) {
        if (!this.advance(floor)) throw new Error(`guest CPU: '${title}' stalled`);
      }
      // What the last access raised is taken before the caller continues (it left its locked section).
      if (this._mode === 'run') this.takeInterrupts(floor);
    } catch (e) {
      for (const fr of this.stack.splice(floor)) fr.routine.return(undefined);
      this.masked = masked;
      throw e;
    } finally {
      this.executing--;
    }
    return f.value as T;
  }

  /** Queue a routine (the lab: "write 'A' to ttyS1"). Run mode performs it at once. */
  submit(routine: GuestRoutine<unknown>, title: string): void {
    this.ready.push({ title, isr: false, routine, result: 0, done: false });
    if (this._mode === 'run' && this.executing === 0) this.drain();
    else this.onRunnable?.();
  }

  /** The access step() would perform now, or null when the guest has nothing to do. */
  peek(): NextAccess | null {
    for (;;) {
      this.settle();
      let top = this.stack[this.stack.length - 1];
      if (!top) {
        const next = this.ready.shift();
        if (!next) return null;
        this.stack.push(next);
        continue;
      }
      if (!top.op) {
        const it = top.routine.next(top.result);
        top.result = 0;
        if (it.done) {
          this.stack.pop();
          top.done = true;
          top.value = it.value;
          continue;
        }
        if (!isAccess(it.value)) {
          this.control(it.value);
          continue;
        }
        top.op = it.value;
      }
      top = this.stack[this.stack.length - 1];
      return { task: top.title, isr: top.isr, op: top.op! };
    }
  }

  /** Perform exactly one access (step mode's Step). Null when idle. */
  step(): (NextAccess & { value: number }) | null {
    const next = this.peek();
    if (!next) return null;
    const top = this.stack[this.stack.length - 1];
    this.executing++;
    try {
      const value = this.perform(top);
      return { ...next, value };
    } finally {
      this.executing--;
    }
  }

  /** Perform everything queued and every interrupt it raises (bounded: a livelock cannot hang the caller). */
  drain(limit = 100_000): number {
    let n = 0;
    this.executing++;
    try {
      while (n < limit && this.advance(0)) n++;
    } finally {
      this.executing--;
    }
    return n;
  }

  get idle(): boolean {
    return this.peek() === null;
  }

  /** Titles for a queue view: running routines (innermost first), then waiting ones. */
  titles(): { title: string; state: 'running' | 'preempted' | 'waiting' }[] {
    this.peek();
    const running = [...this.stack].reverse().map((f, i) => ({ title: f.title, state: (i === 0 ? 'running' : 'preempted') as 'running' | 'preempted' }));
    return [...running, ...this.ready.map((f) => ({ title: f.title, state: 'waiting' as const }))];
  }

  /** Drop every routine (device removed, session reset). Pending lines stay latched. */
  clear(): void {
    for (const f of [...this.stack, ...this.ready]) f.routine.return(undefined);
    this.stack = [];
    this.ready = [];
    this.masked = 0;
  }

  // ---- internals -------------------------------------------------------------------------

  private kick(): void {
    if (this.executing > 0) return; // the running loop takes it after the current access
    if (this._mode === 'step') {
      this.onRunnable?.();
      return;
    }
    if (this.drainQueued) return;
    this.drainQueued = true;
    // A host-side event: deliver after the current call stack unwinds, so the
    // device is never re-entered from its own callback.
    queueMicrotask(() => {
      this.drainQueued = false;
      if (this._mode !== 'run' || this.executing > 0) return;
      try {
        this.drain();
      } catch (e) {
        this.clear();
        if (!this.onError) throw e;
        this.onError(e);
      }
    });
  }

  /** Take a pending interrupt if the CPU can: push its handler on top of what runs. */
  private settle(): boolean {
    if (this.masked > 0 || this.stack.some((f) => f.isr)) return false;
    const irq = this.irqs.nextDeliverable();
    if (irq === undefined) return false;
    this.irqs.take(irq);
    this.stack.push({ title: `interrupt handler (IRQ ${irq})`, isr: true, routine: this.irqs.service(irq), result: 0, done: false });
    return true;
  }

  private takeInterrupts(floor: number): void {
    for (;;) {
      const depth = this.stack.length;
      if (!this.settle()) return;
      while (this.stack.length > depth) this.advance(Math.max(floor, depth));
    }
  }

  /** One move of the routine on top: start a queued task, fetch an op, or perform one. False when nothing is runnable above `floor`. */
  private advance(floor: number): boolean {
    this.settle();
    const top = this.stack[this.stack.length - 1];
    if (!top || this.stack.length - 1 < floor) {
      if (floor === 0 && !top && this.ready.length) {
        this.stack.push(this.ready.shift()!);
        return true;
      }
      return false;
    }
    if (!top.op) {
      const it = top.routine.next(top.result);
      top.result = 0;
      if (it.done) {
        this.stack.pop();
        top.done = true;
        top.value = it.value;
        return true;
      }
      if (!isAccess(it.value)) {
        this.control(it.value);
        return true;
      }
      top.op = it.value;
    }
    this.perform(top);
    return true;
  }

  private control(op: GuestOp): void {
    switch (op.kind) {
      case 'irq-save': this.masked++; break;
      case 'irq-restore': if (this.masked > 0) this.masked--; break;
      case 'disable-irq': this.irqs.disable(op.irq); break;
      case 'enable-irq': this.irqs.enable(op.irq); break;
    }
  }

  private perform(f: Frame): number {
    const op = f.op!;
    this.observer?.before?.(op, f.title);
    let value = 0;
    switch (op.kind) {
      case 'in': value = this.io.inb(op.port); break;
      case 'out': this.io.outb(op.port, op.value); break;
      case 'cfg-read': value = cfgRead(op.device, op.offset, op.size); break;
      case 'cfg-write': cfgWrite(op.device, op.offset, op.size, op.value); break;
      case 'eoi': this.irqs.eoi(op.irq); break;
    }
    f.op = undefined;
    f.result = value;
    this.observer?.after?.(op, value, f.title);
    return value;
  }
}
