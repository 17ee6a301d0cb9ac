/**
 * Worker body of isolate.ts: import the job's module, await its export with
 * the argument, post the result (or the error text) back, exit.
 */
import { parentPort, workerData } from 'node:worker_threads';

export interface IsolateJob {
  module: string;
  fn: string;
  arg: unknown;
}

if (parentPort && workerData && typeof (workerData as IsolateJob).module === 'string') {
  const job = workerData as IsolateJob;
  try {
    const mod = (await import(job.module)) as Record<string, (arg: unknown) => unknown>;
    parentPort.postMessage({ ok: true, value: await mod[job.fn]!(job.arg) });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}
