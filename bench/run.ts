/**
 * `npm run bench`: runs every section, prints a table with the machine, and
 * writes bench/results.json. `npm run bench -- NAME...` runs only the named
 * sections. `--runs N` repeats each chosen section N times (fresh workers
 * each time: JIT decisions differ between launches more than the spread
 * inside one), prints every run, and reports per row the median of the
 * runs' medians with the lowest and highest of them. To add a benchmark,
 * write a BenchSection in its own bench/<area>.ts and add one entry to
 * `sections` below; a comparison of two variants should use ab.ts (CPU-time
 * A/B slices) and its abRow().
 */
import { writeFileSync } from 'node:fs';
import { cpus, platform, arch, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { uartSection } from './uart.js';
import { deviceApiSection } from './device-api.js';
import { loopbackSection } from './loopback.js';
import { lifecycleSection } from './lifecycle.js';
import { irqLatencySection } from './irq-latency.js';
import { ptyInputSection } from './pty-input.js';
import { cliStartupSection } from './cli-startup.js';
import { vfioUserSection } from './vfio-user.js';
import { vmSection } from './vm.js';
import { controlLoadSection } from './control-load.js';
import { wasmCallSection } from './wasm-call.js';
import { median } from './measure.js';

export interface BenchRow {
  workload: string;
  unit: string;
  /** Our implementation (for the uart section: the wasm core through the TS wrapper). */
  wasm: number;
  /** The comparison point (plain TypeScript). */
  ts: number;
  /** wasm / ts, measured in the same run (for A/B rows: the median of the per-round ratios). */
  ratio: number;
  /** A/B rows: lowest and highest per-round ratio. */
  min?: number;
  max?: number;
}

export interface BenchSection {
  name: string;
  description: string;
  /** Column titles for `wasm` and `ts` (default "ours", "plain TS"). */
  columns?: [string, string];
  run(log: (line: string) => void): Promise<BenchRow[]>;
}

export const sections: BenchSection[] = [uartSection, wasmCallSection, deviceApiSection, loopbackSection, lifecycleSection, irqLatencySection, vfioUserSection, controlLoadSection, ptyInputSection, cliStartupSection];
/** Run only when named (`npm run bench -- vm`): they boot a real guest. */
export const namedOnly: BenchSection[] = [vmSection];

export function machine(): Record<string, string | number> {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    platform: `${platform()} ${arch()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1);
}

/**
 * One row from a section's N runs: the median of each column over the runs
 * (measure.ts: the upper middle for an even count), ratio = the median of
 * the runs' ratios, min-max = the lowest and highest of them (every run
 * counted, none dropped).
 */
export function acrossRuns(runs: BenchRow[][]): BenchRow[] {
  return runs[0]!.map((first) => {
    const same = runs.map((rows) => rows.find((r) => r.workload === first.workload)).filter((r): r is BenchRow => r !== undefined);
    const ratios = same.map((r) => r.ratio);
    return {
      workload: first.workload,
      unit: first.unit,
      wasm: median(same.map((r) => r.wasm)),
      ts: median(same.map((r) => r.ts)),
      ratio: median(ratios),
      min: Math.min(...ratios),
      max: Math.max(...ratios),
    };
  });
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  let runs = 1;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a !== '--runs' && !a.startsWith('--runs=')) {
      rest.push(a);
      continue;
    }
    const text = a === '--runs' ? argv[++i] : a.slice('--runs='.length);
    runs = Number(text);
    if (text === undefined || !/^[0-9]+$/.test(text) || runs < 1) {
      console.error(`--runs needs a whole number >= 1, got ${text === undefined ? 'nothing' : `'${text}'`}`);
      process.exitCode = 2;
      return;
    }
  }
  argv = rest;
  const known = [...sections, ...namedOnly];
  const unknown = argv.filter((a) => !known.some((s) => s.name === a));
  if (unknown.length > 0) {
    console.error(`unknown section ${unknown.join(', ')}; sections: ${known.map((s) => s.name).join(' ')}`);
    process.exitCode = 2;
    return;
  }
  // `npm run bench -- NAME...` runs only those sections (namedOnly ones only when named).
  const chosen = argv.length > 0 ? known.filter((s) => argv.includes(s.name)) : sections;
  const m = machine();
  console.log(`machine: ${m.cpu} (${m.cores} cores), ${m.platform}, node ${m.node}`);
  const out: { date: string; machine: typeof m; runs: number; sections: { name: string; description: string; rows: BenchRow[] }[] } = {
    date: new Date().toISOString(),
    machine: m,
    // With runs > 1 a row's ratio is the median of the launches' medians and min/max the lowest/highest launch median.
    runs,
    sections: [],
  };
  for (const s of chosen) {
    console.log(`\n[${s.name}] ${s.description}`);
    const each: BenchRow[][] = [];
    for (let run = 1; run <= runs; run++) {
      if (runs > 1) console.log(`  run ${run} of ${runs}`);
      each.push(await s.run((line) => console.log(`  ${line}`)));
    }
    if (each[0]!.length === 0) continue; // the section said why it skipped
    const rows = runs > 1 ? acrossRuns(each) : each[0]!;
    if (runs > 1) console.log(`  over ${runs} runs: median of the run medians (lowest-highest run median)`);
    const w = Math.max(...rows.map((r) => r.workload.length));
    const [ca, cb] = s.columns ?? ['ours', 'plain TS'];
    console.log(`  ${'workload'.padEnd(w)}  ${ca.padStart(12)}  ${cb.padStart(12)}  ${runs > 1 ? 'ratio (lowest-highest launch)' : 'ratio (min-max)'}`);
    for (const r of rows) {
      // Rates read "M/s"; anything else (latencies in ns) carries its own unit.
      const suffix = r.unit.endsWith('/s') ? '/s' : ` ${r.unit}`;
      console.log(`  ${r.workload.padEnd(w)}  ${(fmt(r.wasm) + suffix).padStart(12)}  ${(fmt(r.ts) + suffix).padStart(12)}  ${r.ratio.toFixed(2)}x${r.min === undefined ? '' : ` (${r.min.toFixed(2)}-${r.max!.toFixed(2)})`}`);
    }
    out.sections.push({ name: s.name, description: s.description, rows });
  }
  // A partial run leaves results.json alone; its figures go next to it.
  const file = fileURLToPath(new URL(argv.length > 0 ? '../../bench/results-partial.json' : '../../bench/results.json', import.meta.url));
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
