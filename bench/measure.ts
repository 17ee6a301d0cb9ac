/**
 * Timing helpers shared by the device-level bench sections. Two variants of a
 * workload are run in alternating short slices and each keeps its median:
 * on a shared 2-core machine load comes and goes, and alternating makes the
 * ratio between the two far steadier than two long back-to-back runs.
 */

export function seconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Call step(i) in groups of `group` for about `sliceS` seconds; returns calls per second. */
export function rate(step: (i: number) => void, sliceS: number, group = 256): number {
  let calls = 0;
  const start = seconds();
  let elapsed = 0;
  while (elapsed < sliceS) {
    for (let k = 0; k < group; k++) step(calls + k);
    calls += group;
    elapsed = seconds() - start;
  }
  return calls / elapsed;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Percentile (0..100) by nearest rank. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

/** Calls per second of a and of b, interleaved (warm-up first so both are JIT- and tier-up-compiled). */
export function ratePair(a: (i: number) => void, b: (i: number) => void, opts: { slices?: number; sliceS?: number; group?: number } = {}): [number, number] {
  const slices = opts.slices ?? 7;
  const sliceS = opts.sliceS ?? 0.05;
  const group = opts.group ?? 256;
  rate(a, 0.1, group);
  rate(b, 0.1, group);
  const ra: number[] = [];
  const rb: number[] = [];
  for (let r = 0; r < slices; r++) {
    ra.push(rate(a, sliceS, group));
    rb.push(rate(b, sliceS, group));
  }
  return [median(ra), median(rb)];
}

/** Calls per second of one workload: warm-up, then the median of several short slices. */
export function steadyRate(step: (i: number) => void, opts: { slices?: number; sliceS?: number; group?: number } = {}): number {
  const group = opts.group ?? 256;
  rate(step, 0.1, group);
  const rs: number[] = [];
  for (let r = 0; r < (opts.slices ?? 5); r++) rs.push(rate(step, opts.sliceS ?? 0.05, group));
  return median(rs);
}

/** The four-argument BenchRow from two isolated result maps. */
export function pairRow(workload: string, unit: string, a: number, b: number) {
  return { workload, unit, wasm: a, ts: b, ratio: a / b };
}
