/**
 * A one-CPU scheduler for the guest driver's routines: tasks run one access
 * at a time, and an interrupt preempts the running task between two accesses
 * (as a real CPU takes an interrupt between two instructions). The lab's run
 * mode drains it at once; step mode executes one access per Step press.
 *
 * The scheduler never touches the device: peek() tells what the next access
 * is, the caller performs it and hands the result to complete().
 */
import type { GuestOp, GuestTask } from './guest-ops.js';

interface Frame {
  task: GuestTask;
  /** The access fetched from the routine and not yet performed. */
  op?: GuestOp;
  /** Value to send into the routine when fetching its next access. */
  result: number;
}

export interface NextAccess {
  task: GuestTask;
  op: GuestOp;
}

export class GuestCpu {
  /** Running tasks; the last one is executing (an ISR sits on top of what it preempted). */
  private stack: Frame[] = [];
  /** Tasks submitted and not started, in order. */
  private ready: Frame[] = [];
  /** Latched interrupt request (the eventfd was signalled). */
  private irqRequested = false;

  constructor(private readonly makeIsr: () => GuestTask) {}

  submit(task: GuestTask): void {
    this.ready.push({ task, result: 0 });
  }

  /** The device signalled its interrupt: the handler runs before the next access. */
  interrupt(): void {
    this.irqRequested = true;
  }

  /** The access Step would perform now, or null when the guest has nothing to do. */
  peek(): NextAccess | null {
    for (;;) {
      if (this.irqRequested && !this.stack.some((f) => f.task.isr)) {
        this.irqRequested = false;
        this.stack.push({ task: this.makeIsr(), result: 0 });
      }
      const top = this.stack[this.stack.length - 1];
      if (!top) {
        const next = this.ready.shift();
        if (!next) return null;
        this.stack.push(next);
        continue;
      }
      if (!top.op) {
        const it = top.task.routine.next(top.result);
        if (it.done) {
          this.stack.pop();
          continue;
        }
        top.op = it.value;
      }
      return { task: top.task, op: top.op };
    }
  }

  /** The access returned by peek() was performed; `value` is what a read returned. */
  complete(value: number): void {
    const top = this.stack[this.stack.length - 1];
    if (!top || !top.op) throw new Error('complete() without a pending access');
    top.op = undefined;
    top.result = value;
  }

  /** Titles for the queue view: running tasks (innermost first), then waiting ones. */
  titles(): { title: string; state: 'running' | 'preempted' | 'waiting' }[] {
    // Settle first: a requested interrupt shows as the running handler, as it will be at the next Step.
    this.peek();
    const running = [...this.stack].reverse().map((f, i) => ({ title: f.task.title, state: (i === 0 ? 'running' : 'preempted') as 'running' | 'preempted' }));
    return [...running, ...this.ready.map((f) => ({ title: f.task.title, state: 'waiting' as const }))];
  }

  get idle(): boolean {
    return this.peek() === null;
  }

  /** Drop everything (device removed or profile switched). */
  clear(): void {
    for (const f of [...this.stack, ...this.ready]) f.task.routine.return();
    this.stack = [];
    this.ready = [];
    this.irqRequested = false;
  }
}
