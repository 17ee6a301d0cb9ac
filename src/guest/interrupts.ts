/**
 * The guest's interrupt controller: numbered lines, handlers registered with
 * request_irq(), per-line disable_irq()/enable_irq(), and the EOI hook the VMM
 * uses for its INTx unmask. It only latches and counts: when a latched line is
 * taken is the CPU's decision (cpu.ts), between two accesses and never inside
 * an interrupts-off section.
 *
 * Why latch at all: mtty raises INTx as an *edge* (one eventfd signal per
 * event) from inside the register access that caused it. Running the handler
 * re-entrantly inside that access would produce orders of register accesses
 * Linux never makes.
 */
import type { GuestRoutine } from './cpu.js';

/**
 * A handler: true when it found work (IRQ_HANDLED), false for IRQ_NONE. A
 * driver handler returns a routine (its register accesses are steppable); a
 * plain boolean is for handlers that touch no device.
 */
export type IrqHandler = () => boolean | GuestRoutine<boolean>;

interface Line {
  handlers: { name: string; fn: IrqHandler }[];
  /** disable_irq() nesting depth for this line. */
  disabled: number;
  /** Called after the handlers ran (the EOI; for VFIO INTx: unmask the device). */
  eoi: (() => void)[];
  delivered: number;
  unhandled: number;
  /** Unhandled deliveries in a row (Linux's note_interrupt disables a line that keeps firing for nobody). */
  unhandledRun: number;
}

/** After this many unclaimed interrupts in a row the line is disabled ("irq N: nobody cared"). */
const NOBODY_CARED = 1000;

export class InterruptController {
  private lines = new Map<number, Line>();
  private pending = new Set<number>();
  /**
   * The CPU listens here: a line was raised (by the device: `now` false) or
   * re-enabled by guest code with an interrupt latched (`now` true: taken at
   * once, as enable_irq() does outside an interrupts-off section).
   */
  onRaise: ((irq: number, now: boolean) => void) | null = null;
  /** Told when a line was disabled for firing with no handler claiming it. */
  onNobodyCared: ((irq: number) => void) | null = null;

  private line(irq: number): Line {
    let l = this.lines.get(irq);
    if (!l) {
      l = { handlers: [], disabled: 0, eoi: [], delivered: 0, unhandled: 0, unhandledRun: 0 };
      this.lines.set(irq, l);
    }
    return l;
  }

  /** request_irq(): several devices may share a line (IRQF_SHARED). */
  request(irq: number, name: string, fn: IrqHandler): void {
    this.line(irq).handlers.push({ name, fn });
  }

  /** free_irq() */
  free(irq: number, fn: IrqHandler): void {
    const l = this.line(irq);
    l.handlers = l.handlers.filter((h) => h.fn !== fn);
  }

  /** What happens after the handlers ran (the EOI): the VMM hooks its INTx unmask here. */
  addEoi(irq: number, eoi: () => void): void {
    this.line(irq).eoi.push(eoi);
  }

  removeEoi(irq: number, eoi: () => void): void {
    const l = this.line(irq);
    l.eoi = l.eoi.filter((f) => f !== eoi);
  }

  /** The device side: assert the line. The CPU takes it when it can. */
  raise(irq: number): void {
    this.pending.add(irq);
    this.onRaise?.(irq, false);
  }

  /** disable_irq_nosync() / enable_irq() for one line (the 8250 THRE test uses them). */
  disable(irq: number): void {
    this.line(irq).disabled++;
  }

  enable(irq: number): void {
    const l = this.line(irq);
    if (l.disabled > 0) l.disabled--;
    if (l.disabled === 0 && this.pending.has(irq)) this.onRaise?.(irq, true);
  }

  /** A latched line that is not disabled, if any (the CPU's "may I take one?"). */
  nextDeliverable(): number | undefined {
    for (const n of this.pending) if (this.line(n).disabled === 0) return n;
    return undefined;
  }

  /** The CPU took the line: it is no longer latched. */
  take(irq: number): void {
    this.pending.delete(irq);
  }

  /** Is a line latched (raised and not yet taken)? */
  isPending(irq: number): boolean {
    return this.pending.has(irq);
  }

  /** handle_irq for one line: every handler (shared line), the spurious count, then the EOI. */
  *service(irq: number): GuestRoutine<boolean> {
    const l = this.line(irq);
    l.delivered++;
    let handled = false;
    for (const h of [...l.handlers]) {
      const r = h.fn();
      const mine = typeof r === 'boolean' ? r : yield* r;
      handled = mine || handled;
    }
    if (handled) {
      l.unhandledRun = 0;
    } else {
      l.unhandled++;
      if (++l.unhandledRun >= NOBODY_CARED) {
        // A device that keeps interrupting with nothing to do would spin the CPU forever.
        l.disabled++;
        this.onNobodyCared?.(irq);
      }
    }
    if (l.eoi.length) yield { kind: 'eoi', irq, why: 'end of interrupt: the VMM unmasks INTx (VFIO_DEVICE_SET_IRQS ACTION_UNMASK)' };
    return handled;
  }

  /** Run the EOI hooks of a line (the CPU performs the 'eoi' op this way). */
  eoi(irq: number): void {
    for (const f of [...this.line(irq).eoi]) f();
  }

  /** /proc/interrupts: how many times the line was taken. */
  count(irq: number): number {
    return this.lines.get(irq)?.delivered ?? 0;
  }

  /** Interrupts taken that no handler claimed (spurious, e.g. raised while the test masked IER). */
  unhandled(irq: number): number {
    return this.lines.get(irq)?.unhandled ?? 0;
  }

  handlerNames(irq: number): string[] {
    return this.lines.get(irq)?.handlers.map((h) => h.name) ?? [];
  }
}
