/**
 * Small statistics and timing helpers shared by the bench sections. Rate
 * comparisons of two variants go through ab.ts (CPU-time A/B slices).
 */

/** Wall-clock seconds (monotonic), for sections that time real I/O. */
export function seconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Median (the upper middle for an even count). */
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
