/**
 * Helpers of the latency section (irq-latency.ts). Rate comparisons use
 * ab.ts (CPU-time A/B slices) instead.
 */

/** Percentile (0..100) by nearest rank. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

/** The four-argument BenchRow from two isolated result maps. */
export function pairRow(workload: string, unit: string, a: number, b: number) {
  return { workload, unit, wasm: a, ts: b, ratio: a / b };
}
