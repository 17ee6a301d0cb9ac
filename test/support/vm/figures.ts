/**
 * In-guest figures (issue 10 part 3), shared by the real-VM tests' report and
 * `npm run bench -- vm`: `inb` latency on our server's port, on the reference
 * C server (libvfio-user gpio-pci-idio-16, BAR2 offset 1) and on QEMU's own
 * pci-serial, all in the SAME boot, interleaved in short rounds so a noisy
 * neighbour hits all three alike; and 64 KiB loopback throughput.
 * Numbers only: nothing here asserts a speed.
 */
import type { GuestVm } from './guest-vm.js';
import { loopback, timeInb } from './guest-checks.js';

export interface InbTarget {
  name: string;
  port: number;
}

export interface InbFigure {
  name: string;
  port: number;
  /** Median over rounds of each round's p50 (ns, guest CLOCK_MONOTONIC around one inb). */
  p50Ns: number;
  /** Each round's p50, in order. */
  rounds: number[];
  /** Cost of the clock read pair itself (ns), included in p50Ns. */
  clockNs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function measureInb(vm: GuestVm, targets: InbTarget[], opts: { rounds?: number; perRound?: number } = {}): Promise<InbFigure[]> {
  const rounds = opts.rounds ?? 5;
  const per = opts.perRound ?? 1000;
  const byName = new Map(targets.map((t) => [t.name, { ...t, rounds: [] as number[], clock: [] as number[] }]));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no target always runs first.
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + r) % targets.length]!;
      const m = await timeInb(vm, t.port, per);
      byName.get(t.name)!.rounds.push(m.p50Ns);
      byName.get(t.name)!.clock.push(m.clockNs);
    }
  }
  return [...byName.values()].map((t) => ({ name: t.name, port: t.port, p50Ns: median(t.rounds), rounds: t.rounds, clockNs: median(t.clock) }));
}

/**
 * `f` against `ref` round by round (each round times every target back to
 * back, so a round's pair saw the same machine): the median of the per-round
 * p50 ratios, and their range. Empty rounds give NaN.
 */
export function roundRatios(f: InbFigure, ref: InbFigure): { median: number; min: number; max: number } {
  const rs = f.rounds.map((x, i) => x / ref.rounds[i]!).filter((x) => Number.isFinite(x));
  if (rs.length === 0) return { median: NaN, min: NaN, max: NaN };
  return { median: median(rs), min: Math.min(...rs), max: Math.max(...rs) };
}

export interface ThroughputFigure {
  label: string;
  ttys: string[];
  bytesEach: number;
  /** Bytes per second per port, as the helper measured (received bytes / elapsed). */
  bytesPerSecond: number[];
  ms: number;
}

export async function measureLoopback(vm: GuestVm, label: string, ttys: string[], size = 65536): Promise<ThroughputFigure> {
  const rs = await loopback(vm, size, ttys);
  for (const r of rs) if (r.lost || r.bad) throw new Error(`loopback lost ${r.lost} / corrupted ${r.bad} bytes on ${r.dev}`);
  return { label, ttys, bytesEach: size, bytesPerSecond: rs.map((r) => r.bytesPerSecond), ms: Math.max(...rs.map((r) => r.ms)) };
}

export function formatFigures(inb: InbFigure[], tput: ThroughputFigure[], machine: string): string {
  const ref = inb.find((f) => f.name.startsWith('libvfio-user'));
  const lines = [`in-guest figures (${machine}; TCG; one boot)`];
  for (const f of inb) {
    const rr = ref && f !== ref ? roundRatios(f, ref) : null;
    const ratio = rr ? `  ${rr.median.toFixed(2)}x the C server (per-round ratios ${rr.min.toFixed(2)}-${rr.max.toFixed(2)})` : '';
    lines.push(`  inb ${f.name.padEnd(28)} p50 ${(f.p50Ns / 1000).toFixed(1).padStart(7)} us  (rounds ${f.rounds.map((x) => (x / 1000).toFixed(1)).join(' ')}; clock ${(f.clockNs / 1000).toFixed(1)} us incl.)${ratio}`);
  }
  for (const t of tput) {
    lines.push(`  loopback ${t.bytesEach} B, ${t.label} (${t.ttys.join('+')}): ${t.bytesPerSecond.map((b) => `${(b / 1000).toFixed(1)} KB/s`).join(' + ')} in ${(t.ms / 1000).toFixed(1)} s (a 115200 8N1 line carries 11.5 KB/s)`);
  }
  return lines.join('\n');
}
