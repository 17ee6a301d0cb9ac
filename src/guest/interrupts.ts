/**
 * The guest CPU's view of interrupts: numbered lines, handlers registered with
 * request_irq(), and "interrupts disabled" sections (spin_lock_irqsave).
 *
 * Why a model at all: mtty raises INTx as an *edge* (one eventfd signal per
 * event) from inside the register access that caused it. A real CPU would take
 * that interrupt only after the driver re-enables interrupts, and the line
 * stays asserted at the interrupt controller until the handler has run and the
 * VMM unmasks the device. Running the handler re-entrantly inside the access
 * would produce orders of register accesses Linux never makes, so a raised
 * line is latched here and delivered when the guest leaves its last
 * irq-disabled section (or, for a host-side event, on the next microtask).
 */

/** Returns true when this handler found work (IRQ_HANDLED), false for IRQ_NONE. */
export type IrqHandler = () => boolean;

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
  /** local_irq_save() nesting: >0 means the CPU does not take interrupts now. */
  private cpuDisabled = 0;
  private scheduled = false;
  /**
   * Where a failure inside a handler taken asynchronously goes (e.g. the device
   * vanished under a running guest). Without it the error would surface as an
   * unhandled exception from a microtask and take the whole process down.
   */
  onError: ((e: unknown) => void) | null = null;
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

  /** The device side: assert the line. Delivery waits until the CPU can take it. */
  raise(irq: number): void {
    this.pending.add(irq);
    if (this.cpuDisabled === 0 && !this.scheduled) {
      // Not inside a guest register access: the signal came from the host side
      // (a back-end pushing bytes, a timer). Deliver after the current call
      // stack unwinds so the device is never re-entered from its own callback.
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        try {
          this.deliver();
        } catch (e) {
          if (!this.onError) throw e;
          this.onError(e);
        }
      });
    }
  }

  /** spin_lock_irqsave()...unlock_irqrestore(): pending interrupts are taken at the end. */
  withIrqsDisabled<T>(fn: () => T): T {
    this.cpuDisabled++;
    try {
      return fn();
    } finally {
      this.cpuDisabled--;
      if (this.cpuDisabled === 0) this.deliver();
    }
  }

  /** disable_irq_nosync() / enable_irq() for one line (the 8250 THRE test uses them). */
  disable(irq: number): void {
    this.line(irq).disabled++;
  }

  enable(irq: number): void {
    const l = this.line(irq);
    if (l.disabled > 0) l.disabled--;
    if (l.disabled === 0 && this.cpuDisabled === 0) this.deliver();
  }

  /** Run the handlers of every pending, enabled line until nothing is pending. */
  deliver(): void {
    if (this.cpuDisabled > 0) return;
    for (;;) {
      const irq = [...this.pending].find((n) => this.line(n).disabled === 0);
      if (irq === undefined) return;
      this.pending.delete(irq);
      const l = this.line(irq);
      l.delivered++;
      // Handlers run with interrupts off, as in hard-irq context.
      this.cpuDisabled++;
      let handled = false;
      try {
        for (const h of l.handlers) handled = h.fn() || handled;
      } finally {
        this.cpuDisabled--;
      }
      if (handled) {
        l.unhandledRun = 0;
      } else {
        l.unhandled++;
        if (++l.unhandledRun >= NOBODY_CARED) {
          // A device that keeps interrupting with nothing to do would spin this loop forever.
          l.disabled++;
          this.onNobodyCared?.(irq);
        }
      }
      for (const eoi of l.eoi) eoi();
    }
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
