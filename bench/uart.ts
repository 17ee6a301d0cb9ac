/**
 * UART section of `npm run bench`: register accesses per CPU second through
 * the TS wrapper over the wasm core, against the plain-TS baseline model on
 * the same workloads, in CPU-time A/B slices (ab.ts).
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Uart } from '../src/uart/index.js';
import { parseTrace } from '../src/replay/index.js';
import { TsUart } from './baseline/uart-ts.js';
import { abCompare, abRow, type Workload as AbWorkload } from './ab.js';
import type { BenchSection } from './run.js';

/** What both models offer to the workloads. */
interface Model {
  read(off: number): number;
  write(off: number, v: number): void;
  writeMany(b: Uint8Array): number;
  readMany(b: Uint8Array): number;
  readonly stage: Uint8Array;
  writeReadStaged(n: number, max: number): number;
  readonly stagedWritten: number;
  onTransmit: ((b: number) => void) | null;
}

interface Workload {
  name: string;
  /** Register accesses one call of the step function performs. */
  accessesPerStep: number;
  loopback: boolean;
  setup(m: Model): void;
  /** One step; returns a value read, so nothing is dead code. */
  step(m: Model, i: number): number;
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
      return m.read(5) + m.read(2) + m.read(0);
    },
  },
  {
    name: 'single access: LSR poll',
    accessesPerStep: 16,
    loopback: false,
    setup: () => {},
    step: (m) => {
      let x = 0;
      for (let k = 0; k < 16; k++) x += m.read(5);
      return x;
    },
  },
  {
    name: 'batched: writeMany 16 + readMany 16, IER=0 (bulk path, loopback wiring)',
    accessesPerStep: 32,
    loopback: true,
    setup: (m) => m.write(2, 0x01),
    step: (m) => m.writeMany(burst) + m.readMany(sink16) + sink16[15]!,
  },
  {
    // The same 16 bytes out and back, the caller writing them straight into the staging buffer
    // (wasm memory for ours, a plain array for TS) and one call doing write + read.
    name: 'batched: staged write 16 + read 16 in one call, IER=0 (loopback wiring)',
    accessesPerStep: 32,
    loopback: true,
    setup: (m) => m.write(2, 0x01),
    step: (m, i) => {
      const st = m.stage;
      for (let k = 0; k < 16; k++) st[k] = (i + k) & 0xff;
      const got = m.writeReadStaged(16, 16);
      return got + st[15]! + m.stagedWritten;
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
    step: (m) => m.writeMany(burst) + m.readMany(sink16) + sink16[15]!,
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
    step: (m) => m.writeMany(stream),
  },
];

/** Runs inside a worker: every workload on its own fresh UART of one core. */
export async function workloads(core: string): Promise<Record<string, AbWorkload>> {
  const out: Record<string, AbWorkload> = {};
  for (const w of WORKLOADS) {
    const m: Model = core === 'ts' ? new TsUart({ loopback: w.loopback }) : Uart.create({ wiring: w.loopback ? 'loopback' : 'host' });
    w.setup(m);
    out[w.name] = { opsPerStep: w.accessesPerStep, group: 64, step: (i) => w.step(m, i) };
  }
  return out;
}

/** The baseline must answer the shared Linux trace like the core, or the comparison is moot. */
function baselineAgreesOnTrace(): string {
  // The repository's copy of the shared trace (examples/recordings, ../../ from dist/bench), so every clone checks it.
  const path = fileURLToPath(new URL('../../examples/recordings/linux-6.1-8250-isa.trace', import.meta.url));
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
    const f = await abCompare(import.meta.url, 'workloads', 'wasm', 'ts', { rounds: 9 });
    return Object.entries(f).map(([k, x]) => abRow(k, 'access', x, log));
  },
};
