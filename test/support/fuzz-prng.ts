/**
 * A small seeded PRNG (mulberry32) for the fuzz tests: the same seed always
 * gives the same sequence on every machine and Node version, so a failure
 * printed as "seed S step N" is reproduced exactly by running that seed again.
 */
export class Prng {
  private s: number;

  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1): u32() / 2^32. */
  float(): number {
    return this.u32() / 2 ** 32;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return this.u32() % n;
  }

  byte(): number {
    return this.u32() & 0xff;
  }

  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }

  /** Index chosen with the given relative weights. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let r = this.u32() % total;
    for (let i = 0; i < weights.length; i++) {
      if (r < weights[i]!) return i;
      r -= weights[i]!;
    }
    return weights.length - 1;
  }
}
