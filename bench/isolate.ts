/**
 * Run one measurement function in a fresh V8 isolate (a worker thread of this
 * process). Why: the device code (MttyPort, MttyDevice) is shared by the wasm
 * core and the plain-TS core; measured side by side in one isolate, its call
 * sites see two UART classes, turn polymorphic and slow *both* down (and
 * whichever ran first gets an unfair head start). In its own isolate each
 * core is measured the way a real process runs it: the only core there is.
 *
 * The worker body is isolate-worker.ts: a separate file, because a section
 * module imports this one, and a worker entry that awaited the import of a
 * module importing the entry itself would never finish evaluating.
 */
import { Worker } from 'node:worker_threads';
import type { IsolateJob } from './isolate-worker.js';

/** Import `module` in a new worker, await its export `fn(arg)`, return the (structured-cloned) result. */
export function runIsolated<T>(module: string, fn: string, arg: unknown): Promise<T> {
  const job: IsolateJob = { module, fn, arg };
  return new Promise<T>((resolve, reject) => {
    const w = new Worker(new URL('./isolate-worker.js', import.meta.url), { workerData: job });
    let settled = false;
    w.once('message', (m: { ok: boolean; value?: T; error?: string }) => {
      settled = true;
      if (m.ok) resolve(m.value as T);
      else reject(new Error(`${module}#${fn}(${JSON.stringify(arg)}): ${m.error}`));
    });
    w.once('error', (e) => {
      settled = true;
      reject(e);
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`${module}#${fn} worker exited with ${code} before answering`));
    });
  });
}

/**
 * Alternate isolated runs of core A and core B (A B A B ...), `rounds` each,
 * and keep the per-key median: coarse interleaving against load drift.
 */
export async function isolatedPair(module: string, fn: string, a: unknown, b: unknown, rounds = 3): Promise<[Record<string, number>, Record<string, number>]> {
  const ra: Record<string, number>[] = [];
  const rb: Record<string, number>[] = [];
  for (let r = 0; r < rounds; r++) {
    ra.push(await runIsolated<Record<string, number>>(module, fn, a));
    rb.push(await runIsolated<Record<string, number>>(module, fn, b));
  }
  const med = (rs: Record<string, number>[]) => {
    const out: Record<string, number> = {};
    for (const k of Object.keys(rs[0]!)) {
      const xs = rs.map((x) => x[k]!).sort((p, q) => p - q);
      out[k] = xs[xs.length >> 1]!;
    }
    return out;
  };
  return [med(ra), med(rb)];
}
