/**
 * UART section of `npm run bench`: register accesses per second through the
 * TS wrapper over the wasm core, against the plain-TS baseline model on the
 * same workloads in the same process.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Uart } from '../src/uart/index.js';
import { parseTrace } from '../src/replay/index.js';
import { TsUart } from './baseline/uart-ts.js';
import type { BenchRow, BenchSection } from './run.js';

/** What both models offer to the workloads. */
interface Model {
  read(off: number): number;
  write(off: number, v: number): void;
  writeMany(b: Uint8Array): number;
  readMany(b: Uint8Array): number;
  onTransmit: ((b: number) => void) | null;
}

interface Workload {
  name: string;
  /** Register accesses one call of the step function performs. */
  accessesPerStep: number;
  loopback: boolean;
  setup(m: Model): void;
  step(m: Model, i: number): void;
}

const burst = new Uint8Array(16).map((_, i) => 0x41 + i);
const sink16 = new Uint8Array(16);
const stream = new Uint8Array(4096).map((_, i) => i & 0xff);

const WORKLOADS: Workload[] = [
  {
    name: 'single access: THR, LSR, IIR, RBR round (loopback wiring)',
    accessesPerStep: 4,
    loopback: true,
    setup: (m) => {
      m.write(2, 0x01);
      m.write(1, 0x0f);
    },
    step: (m, i) => {
      m.write(0, i & 0xff);
      m.read(5);
      m.read(2);
      m.read(0);
    },
  },
  {
    name: 'single access: LSR poll',
    accessesPerStep: 16,
    loopback: false,
    setup: () => {},
    step: (m) => {
      for (let k = 0; k < 16; k++) m.read(5);
    },
  },
  {
    name: 'batched: writeMany 16 + readMany 16, IER=0 (bulk path, loopback wiring)',
    accessesPerStep: 32,
    loopback: true,
    setup: (m) => m.write(2, 0x01),
    step: (m) => {
      m.writeMany(burst);
      m.readMany(sink16);
    },
  },
  {
    name: 'batched: writeMany 16 + readMany 16, IER=0x0F (per-byte interrupt path)',
    accessesPerStep: 32,
    loopback: true,
    setup: (m) => {
      m.write(2, 0x01);
      m.write(1, 0x0f);
    },
    step: (m) => {
      m.writeMany(burst);
      m.readMany(sink16);
    },
  },
  {
    name: 'batched: writeMany 4096 B to onTransmit (host wiring)',
    accessesPerStep: 4096,
    loopback: false,
    setup: (m) => {
      m.write(2, 0x01);
      let n = 0;
      m.onTransmit = () => {
        n++;
      };
    },
    step: (m) => {
      m.writeMany(stream);
    },
  },
];

function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Run w.step for ~sliceS seconds; returns accesses/s. */
function slice(m: Model, w: Workload, sliceS: number, i0: number): number {
  let steps = 0;
  const start = now();
  let elapsed = 0;
  while (elapsed < sliceS) {
    for (let k = 0; k < 64; k++) w.step(m, i0 + steps + k);
    steps += 64;
    elapsed = now() - start;
  }
  return (steps * w.accessesPerStep) / elapsed;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/**
 * Both models, interleaved in short slices (A B A B ...), median of each: on
 * a shared 2-core machine load comes and goes, and interleaving makes the
 * ratio far steadier than two long back-to-back runs.
 */
function measurePair(a: Model, b: Model, w: Workload): [number, number] {
  slice(a, w, 0.1, 0); // warm-up (JIT / wasm tier-up)
  slice(b, w, 0.1, 0);
  const ra: number[] = [];
  const rb: number[] = [];
  for (let r = 0; r < 7; r++) {
    ra.push(slice(a, w, 0.05, r * 1e6));
    rb.push(slice(b, w, 0.05, r * 1e6));
  }
  return [median(ra), median(rb)];
}

/** The baseline must answer the shared Linux trace like the core, or the comparison is moot. */
function baselineAgreesOnTrace(): string {
  const url = new URL('../../../shared/traces/linux-8250-probe-isa.txt', import.meta.url);
  const path = fileURLToPath(url);
  if (!existsSync(path)) return 'trace not found; baseline unchecked';
  const trace = parseTrace(readFileSync(path, 'utf8'), path);
  const ts = new TsUart();
  const wasm = Uart.create();
  for (const ev of trace.events) {
    if (ev.kind === 'initial') for (const w of ev.writes) (ts.write(w.offset, w.value), wasm.write(w.offset, w.value));
    if (ev.kind !== 'access') continue;
    if (ev.op === 'W') {
      ts.write(ev.offset, ev.value);
      wasm.write(ev.offset, ev.value);
    } else {
      const a = ts.read(ev.offset);
      const b = wasm.read(ev.offset);
      if (a !== b || b !== ev.value) throw new Error(`baseline disagrees at line ${ev.line}: ts 0x${a.toString(16)} wasm 0x${b.toString(16)}`);
    }
  }
  wasm.dispose();
  return `baseline matches the core on ${trace.events.filter((e) => e.kind === 'access').length} trace accesses`;
}

export const uartSection: BenchSection = {
  name: 'uart',
  description: 'register accesses/s: TS wrapper over the wasm core vs plain-TS model (bench/baseline/uart-ts.ts)',
  async run(log) {
    log(baselineAgreesOnTrace());
    const rows: BenchRow[] = [];
    for (const w of WORKLOADS) {
      const wasm = Uart.create({ wiring: w.loopback ? 'loopback' : 'host' });
      const ts = new TsUart({ loopback: w.loopback });
      w.setup(wasm);
      w.setup(ts);
      const [a, b] = measurePair(wasm, ts, w);
      wasm.dispose();
      rows.push({ workload: w.name, unit: 'accesses/s', wasm: a, ts: b, ratio: a / b });
    }
    return rows;
  },
};
