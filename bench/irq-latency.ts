/**
 * Section "irq-latency": time from the register write that raises an
 * interrupt to the IrqSink's signal() (the eventfd a VMM would poll), for
 * INTx and MSI set up with VFIO_DEVICE_SET_IRQS, p50 and p99. The raising
 * write is IER = 0x02 (ETBEI 0 -> 1 with THR empty raises THRE at once,
 * datasheet 1.3); between samples IER = 0 drops the line and, for INTx, an
 * UNMASK re-arms the automasked line, so every sample is one rising edge.
 * Against the plain-TS core behind the same device code, in the A/B slices of
 * ab.ts (latency mode: each slice's percentile, median over the rounds).
 * Lower is better here: ratio = wasm / ts latency.
 */
import { loadMtty } from '../src/mtty/load.js';
import { ManualClock } from '../src/clock/clock.js';
import { regionOffset } from '../src/vfio/uapi.js';
import type { IrqSink, VfioDevice } from '../src/vfio/api.js';
import {
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
} from '../src/vfio/uapi.js';
import { uartFactory, type CoreName } from './core-choice.js';
import { abCompare, spread, type Workload } from './ab.js';
import type { BenchRow, BenchSection } from './run.js';

const IER = regionOffset(0) + 1;

/** An eventfd stand-in that timestamps its signal. */
class StampSink implements IrqSink {
  at = 0n;
  count = 0;
  signal(): void {
    this.at = process.hrtime.bigint();
    this.count++;
  }
}

async function openWith(core: CoreName, kind: 'intx' | 'msi') {
  const mtty = await loadMtty({ ports: 1, clock: new ManualClock(), createUart: uartFactory(core) });
  const mdev = mtty.parent.type('mtty-1')!.create();
  const dev = mdev.open();
  dev.getInfo(); // mtty answers IRQ calls only after GET_INFO
  const sink = new StampSink();
  const index = kind === 'intx' ? VFIO_PCI_INTX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX;
  dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index, start: 0, count: 1, data: [sink] });
  return { dev, sink, done: async () => (dev.close(), await mdev.remove(), await mtty.unload()) };
}

/** One sample: ns from just before the raising write to signal(). */
function sample(dev: VfioDevice, sink: StampSink, kind: 'intx' | 'msi'): number {
  dev.write(IER, 1, 0x00);
  if (kind === 'intx') dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, index: VFIO_PCI_INTX_IRQ_INDEX, start: 0, count: 1 });
  const before = sink.count;
  const t0 = process.hrtime.bigint();
  dev.write(IER, 1, 0x02);
  if (sink.count !== before + 1) throw new Error(`expected one ${kind} signal, got ${sink.count - before}`);
  return Number(sink.at - t0);
}

/** Runs inside a worker: p50/p99 workloads for INTx and MSI on one core. */
export async function workloads(core: string): Promise<Record<string, Workload>> {
  const out: Record<string, Workload> = {};
  const opened: Awaited<ReturnType<typeof openWith>>[] = [];
  for (const kind of ['intx', 'msi'] as const) {
    const d = await openWith(core as CoreName, kind);
    opened.push(d);
    for (const p of [50, 99]) out[`${kind === 'intx' ? 'INTx' : 'MSI'} latency p${p}`] = { percentile: p, group: 64, step: () => sample(d.dev, d.sink, kind) };
  }
  out['MSI latency p99']!.close = async () => {
    for (const d of opened) await d.done();
  };
  return out;
}

export const irqLatencySection: BenchSection = {
  name: 'irq-latency',
  description: 'ns from the IER write raising THRE to IrqSink.signal() (SET_IRQS eventfd), p50/p99 per slice; lower is better, ratio = wasm/ts',
  async run(log) {
    const f = await abCompare(import.meta.url, 'workloads', 'wasm', 'ts', { rounds: 9 });
    const rows: BenchRow[] = [];
    for (const [k, x] of Object.entries(f)) {
      // The harness's ratio is A/B of the values, here latencies: wasm / ts, lower is better.
      log(`${k}: ${x.a.toFixed(0)} vs ${x.b.toFixed(0)} ns, ratio ${spread(x)} over ${x.rounds} rounds`);
      rows.push({ workload: k, unit: 'ns', wasm: x.a, ts: x.b, ratio: x.ratio, min: x.min, max: x.max });
    }
    return rows;
  },
};
