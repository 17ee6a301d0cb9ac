/**
 * CLI start-up: CPU time of a whole `mtty help` / `mtty --version` process
 * against `node -e 0` (the floor any Node CLI pays). Target: within 1.2x.
 * CPU time of waited-for children comes from /proc/self/stat (cutime +
 * cstime, in clock ticks of 10 ms), summed over a batch of runs so the tick
 * is small against it; the two commands run in alternating batches and each
 * keeps its median, so load from other processes hits both alike.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchSection } from './run.js';
import { median } from './measure.js';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64
const BIN = fileURLToPath(new URL('../../bin/mtty.cjs', import.meta.url));

/** CPU seconds (user + system) of all children waited for so far. */
function childrenCpuS(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return (Number(f[13]) + Number(f[14])) / CLK_TCK; // cutime, cstime: fields 16 and 17
}

/** Mean CPU ms per run of `args`, over `n` runs (stdout is read and checked, so each run counts). */
function batch(args: string[], n: number, expect: RegExp): number {
  const before = childrenCpuS();
  for (let i = 0; i < n; i++) {
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (r.status !== 0 && !expect.test(r.stdout)) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
    if (!expect.test(r.stdout)) throw new Error(`${args.join(' ')} printed ${JSON.stringify(r.stdout.slice(0, 80))}`);
  }
  return ((childrenCpuS() - before) * 1000) / n;
}

function pair(ours: string[], oursExpect: RegExp, slices = 5, n = 10): [number, number] {
  const base = ['-e', 'process.stdout.write("0")'];
  batch(ours, 2, oursExpect); // warm the page cache
  batch(base, 2, /0/);
  const a: number[] = [];
  const b: number[] = [];
  for (let s = 0; s < slices; s++) {
    a.push(batch(ours, n, oursExpect));
    b.push(batch(base, n, /0/));
  }
  return [median(a), median(b)];
}

export const cliStartupSection: BenchSection = {
  name: 'cli-startup',
  description: 'CPU ms of a whole process: `mtty help` / `mtty --version` vs `node -e 0` (target <= 1.2x)',
  async run(log) {
    const rows: BenchRow[] = [];
    for (const [label, args, expect] of [
      ['mtty help (vs node -e 0)', [BIN, 'help'], /usage: mtty <command>/],
      ['mtty --version (vs node -e 0)', [BIN, '--version'], /^mtty \d/],
    ] as const) {
      const [ours, node] = pair([...args], expect);
      rows.push({ workload: label, unit: 'ms', wasm: ours, ts: node, ratio: ours / node });
      log(`${label}: ${ours.toFixed(1)} ms vs ${node.toFixed(1)} ms CPU per process`);
    }
    return rows;
  },
};
