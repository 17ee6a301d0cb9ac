/**
 * Time is plugged into the device, never read by it: the UART core only knows
 * the nanoseconds the host hands it. A Clock is what the host side uses to
 * know "now" and to wake up for the next timed UART event (the character
 * timeout). Real runs use wall time; tests and the lab's step mode use
 * ManualClock so that every interrupt is reproducible.
 */
export interface Clock {
  /** Monotonic time in nanoseconds. */
  now(): number;
  /** Run fn once after delayNs; returns a cancel function. */
  setTimer(delayNs: number, fn: () => void): () => void;
}

/**
 * Taken once: in Node `globalThis.performance` is a lazily defined accessor,
 * and reading the global on every call cost more than the register access it
 * times (a global-load IC miss plus the getter, ~10% of a guest's polling loop).
 */
const perf: { now(): number } = globalThis.performance;

/**
 * Wall-clock time; timers are unref'd so an idle device never keeps Node alive.
 * Whole ns: a port's time differences are then exact in f64, and a recording's
 * integer @ns (src/replay/record.ts) are the very numbers the port computed with.
 */
export const realClock: Clock = {
  now: () => Math.round(perf.now() * 1e6),
  setTimer(delayNs, fn) {
    const t = setTimeout(fn, Math.max(0, delayNs / 1e6));
    t.unref?.();
    return () => clearTimeout(t);
  },
};

/** Time that moves only when told to: timers fire inside advance(), in deadline order. */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.t;
  }

  setTimer(delayNs: number, fn: () => void): () => void {
    const timer = { at: this.t + Math.max(0, delayNs), seq: this.seq++, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }

  /** Move time forward by ns, firing due timers (timers they set are honoured too). */
  advance(ns: number): void {
    const end = this.t + ns;
    for (;;) {
      this.timers = this.timers.filter((x) => x.live);
      let next: (typeof this.timers)[number] | undefined;
      for (const x of this.timers) {
        if (x.at <= end && (!next || x.at < next.at || (x.at === next.at && x.seq < next.seq))) next = x;
      }
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      next.live = false;
      next.fn();
    }
    this.t = end;
  }

  /** Number of timers still waiting (tests check that devices clean up). */
  get pending(): number {
    return this.timers.filter((x) => x.live).length;
  }
}
