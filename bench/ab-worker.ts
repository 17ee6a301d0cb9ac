/**
 * Worker body of ab.ts: import the workload module, build the workloads of
 * one variant, then answer slice requests one at a time. A slice runs one
 * workload until the process has used the requested CPU time and answers
 * ops per CPU second. The sum of every step's result is kept and printed in
 * the close reply's `sink`, so no step result is dead code to V8.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Workload } from './ab.js';
import { percentile } from './measure.js';

export interface AbJob {
  module: string;
  fn: string;
  variant: string;
}

export interface SliceReply {
  ok: boolean;
  error?: string;
  keys?: string[];
  rate?: number;
  sink?: number;
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

let sink = 0;

/**
 * Steps until `ms` of CPU time has passed; returns ops per CPU second, or for
 * a workload with `percentile`, that percentile of the values its steps
 * returned (latency samples) in this slice.
 */
async function slice(w: Workload, ms: number, i0: number): Promise<{ rate: number; next: number }> {
  const group = w.group ?? 256;
  const per = w.opsPerStep ?? 1;
  const budget = ms * 1000;
  const start = cpuUs();
  let used = 0;
  let steps = 0;
  let i = i0;
  if (w.percentile !== undefined) {
    const xs: number[] = [];
    while (used < budget) {
      for (let k = 0; k < group; k++) xs.push(w.step(i++) as number);
      used = cpuUs() - start;
    }
    for (const x of xs) sink += x;
    return { rate: percentile(xs, w.percentile), next: i };
  }
  // The sync and async loops are separate so a synchronous step is never awaited.
  const probe = w.step(i++);
  steps++;
  if (typeof probe === 'number') {
    sink += probe;
    while (used < budget) {
      for (let k = 0; k < group; k++) sink += w.step(i++) as number;
      steps += group;
      used = cpuUs() - start;
    }
  } else {
    sink += await probe;
    while (used < budget) {
      for (let k = 0; k < group; k++) sink += await w.step(i++);
      steps += group;
      used = cpuUs() - start;
    }
  }
  return { rate: (steps * per * 1e6) / used, next: i };
}

if (parentPort && workerData && typeof (workerData as AbJob).module === 'string') {
  const job = workerData as AbJob;
  const port = parentPort;
  let workloads: Record<string, Workload> | null = null;
  let next = 0;
  port.on('message', (m: { cmd: string; key?: string; ms?: number }) => {
    void (async () => {
      try {
        if (m.cmd === 'ready') {
          const mod = (await import(job.module)) as Record<string, (v: string) => Promise<Record<string, Workload>>>;
          workloads = await mod[job.fn]!(job.variant);
          port.postMessage({ ok: true, keys: Object.keys(workloads) } satisfies SliceReply);
        } else if (m.cmd === 'slice') {
          const w = workloads![m.key!]!;
          const r = await slice(w, m.ms!, next);
          next = r.next;
          port.postMessage({ ok: true, rate: r.rate } satisfies SliceReply);
        } else if (m.cmd === 'close') {
          for (const w of Object.values(workloads ?? {})) await w.close?.();
          port.postMessage({ ok: true, sink } satisfies SliceReply);
        }
      } catch (e) {
        port.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies SliceReply);
      }
    })();
  });
}
