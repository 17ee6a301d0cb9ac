/**
 * The one way the device-level sections compare two variants (normally the
 * wasm core and the plain-TS core behind the same code): CPU-time A/B slices.
 *
 * - Each variant runs in its own worker (a fresh V8 isolate, see
 *   ab-worker.ts): side by side in one isolate the shared device code would
 *   see two UART classes, go polymorphic and slow both down.
 * - Only one worker runs at a time; the main thread waits idle. A slice runs
 *   the workload until the process has spent `sliceMs` of CPU time
 *   (process.cpuUsage, user + system: on Node 20 there is no per-thread
 *   figure, and with one thread busy the process figure is that thread's,
 *   plus the GC and compiler threads it keeps busy, which are its cost too).
 *   CPU time, not wall time: on a shared machine a descheduled slice would
 *   otherwise look slow.
 * - Slices interleave A B, then B A (order reversed every round, and the
 *   workloads' order too), so drift and "who ran first" hit both sides.
 * - The ratio is taken per round (A's slice / B's slice, adjacent in time);
 *   min / median / max of those ratios are reported, so the spread is visible.
 * - Every step returns a number that the worker sums and sends back: V8 can
 *   drop no result as dead code.
 */
import { Worker } from 'node:worker_threads';
import type { AbJob, SliceReply } from './ab-worker.js';
import type { BenchRow } from './run.js';
import { median } from './measure.js';

/** What a workload factory returns for one named workload. */
export interface Workload {
  /** One step; its result is consumed. Async steps (lifecycle, daemon) return a promise. */
  step(i: number): number | Promise<number>;
  /** Operations one step performs (bytes, accesses, cycles); default 1. */
  opsPerStep?: number;
  /** Steps between CPU-clock reads; default 256. */
  group?: number;
  /**
   * Latency mode: each step returns one sample (synchronously) and a slice
   * answers this percentile of its samples instead of a rate.
   */
  percentile?: number;
  /** Release what the workload holds (devices, sockets), checked for leaks. */
  close?(): void | Promise<void>;
}

/** A module's workload factory: variant name in, named workloads out. */
export type WorkloadFactory = (variant: string) => Promise<Record<string, Workload>>;

export interface AbOptions {
  /** Rounds (each = one slice of A and one of B per workload); default 15. */
  rounds?: number;
  /** CPU milliseconds per slice; default 40. */
  sliceMs?: number;
  /** CPU milliseconds of warm-up per workload and variant; default 200. */
  warmupMs?: number;
}

export interface AbFigure {
  /** Median ops per CPU second of variant A and of variant B (latency mode: median of the slices' percentiles). */
  a: number;
  b: number;
  /** Median, min and max of the per-round ratios A / B. */
  ratio: number;
  min: number;
  max: number;
  rounds: number;
}

class SliceWorker {
  private readonly w: Worker;
  private waiting: ((m: SliceReply) => void) | null = null;
  private failure: Error | null = null;

  constructor(job: AbJob) {
    this.w = new Worker(new URL('./ab-worker.js', import.meta.url), { workerData: job });
    this.w.on('message', (m: SliceReply) => {
      const f = this.waiting;
      this.waiting = null;
      f?.(m);
    });
    this.w.on('error', (e) => {
      this.failure = e;
      const f = this.waiting;
      this.waiting = null;
      f?.({ ok: false, error: e.stack ?? e.message });
    });
  }

  async ask(msg: { cmd: 'ready' } | { cmd: 'slice'; key: string; ms: number } | { cmd: 'close' }): Promise<SliceReply> {
    if (this.failure) throw this.failure;
    const reply = await new Promise<SliceReply>((resolve) => {
      this.waiting = resolve;
      this.w.postMessage(msg);
    });
    if (!reply.ok) throw new Error(`bench worker: ${reply.error}`);
    return reply;
  }

  async end(): Promise<void> {
    await this.w.terminate();
  }
}


/**
 * Run every workload `module#fn` makes, for variants A and B, in CPU-time
 * slices as described above. Returns one figure per workload key.
 */
export async function abCompare(module: string, fn: string, variantA: string, variantB: string, opts: AbOptions = {}): Promise<Record<string, AbFigure>> {
  const rounds = opts.rounds ?? 15;
  const sliceMs = opts.sliceMs ?? 40;
  const warmupMs = opts.warmupMs ?? 200;
  const wa = new SliceWorker({ module, fn, variant: variantA });
  const wb = new SliceWorker({ module, fn, variant: variantB });
  try {
    const ra = await wa.ask({ cmd: 'ready' });
    await wb.ask({ cmd: 'ready' });
    const keys = ra.keys!;
    for (const k of keys) {
      await wa.ask({ cmd: 'slice', key: k, ms: warmupMs });
      await wb.ask({ cmd: 'slice', key: k, ms: warmupMs });
    }
    const rates: Record<string, { a: number[]; b: number[]; r: number[] }> = {};
    for (const k of keys) rates[k] = { a: [], b: [], r: [] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? keys : [...keys].reverse();
      for (let j = 0; j < order.length; j++) {
        const k = order[j]!;
        const aFirst = (round + j) % 2 === 0;
        const first = await (aFirst ? wa : wb).ask({ cmd: 'slice', key: k, ms: sliceMs });
        const second = await (aFirst ? wb : wa).ask({ cmd: 'slice', key: k, ms: sliceMs });
        const a = aFirst ? first.rate! : second.rate!;
        const b = aFirst ? second.rate! : first.rate!;
        rates[k]!.a.push(a);
        rates[k]!.b.push(b);
        rates[k]!.r.push(a / b);
      }
    }
    // The sums of every result: received here, so no step was dead code; a NaN means a step returned garbage.
    const sinks = [(await wa.ask({ cmd: 'close' })).sink, (await wb.ask({ cmd: 'close' })).sink];
    if (!sinks.every((x) => Number.isFinite(x))) throw new Error(`${module}#${fn}: a workload returned a non-number (${sinks.join(', ')})`);
    const out: Record<string, AbFigure> = {};
    for (const k of keys) {
      const x = rates[k]!;
      out[k] = { a: median(x.a), b: median(x.b), ratio: median(x.r), min: Math.min(...x.r), max: Math.max(...x.r), rounds };
    }
    return out;
  } finally {
    await wa.end();
    await wb.end();
  }
}

/** "0.93x (0.85-1.02)": the median ratio and its spread over the rounds. */
export function spread(f: AbFigure): string {
  return `${f.ratio.toFixed(2)}x (${f.min.toFixed(2)}-${f.max.toFixed(2)})`;
}

/** A row from an ab.ts figure (`op` singular: 'access', 'byte'), logging CPU ns per op and the ratio's spread. */
export function abRow(workload: string, op: string, f: AbFigure, log: (line: string) => void): BenchRow {
  log(`${workload}: ${(1e9 / f.a).toFixed(1)} vs ${(1e9 / f.b).toFixed(1)} CPU ns/${op}, ratio ${spread(f)} over ${f.rounds} rounds`);
  return { workload, unit: `${op}${op.endsWith('s') ? 'es' : 's'}/s`, wasm: f.a, ts: f.b, ratio: f.ratio, min: f.min, max: f.max };
}
