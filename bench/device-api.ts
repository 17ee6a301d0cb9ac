/**
 * Section "vfio-device": one BAR register access through the public VFIO
 * device API (VfioDevice.read/write, size 1, pos = region << 40 | offset,
 * default realClock as in production) and through the Uart wrapper directly,
 * wasm core vs the plain-TS core behind exactly the same device code, in
 * CPU-time A/B slices (ab.ts). LSR reads and SCR writes are served from the
 * port's slot without a call into the core; IIR reads and IER writes are
 * the accesses that must call in (an interrupt handler's first read, the
 * console's interrupt mask), so both kinds are measured.
 */
import { loadMtty } from '../src/mtty/load.js';
import { regionOffset } from '../src/vfio/uapi.js';
import { bareLoopbackUart, uartFactory, type CoreName } from './core-choice.js';
import { abCompare, abRow, type Workload } from './ab.js';
import type { BenchSection } from './run.js';

/** BAR1 of an mtty-2: a non-zero region index, so the pos split is really exercised. */
const BAR1 = regionOffset(1);
const IER = 1;
const IIR = 2;
const LSR = 5;
const SCR = 7;

/** Runs inside a worker: the workloads of one core. */
export async function workloads(core: string): Promise<Record<string, Workload>> {
  const u = bareLoopbackUart(core as CoreName);
  const mtty = await loadMtty({ ports: 2, createUart: uartFactory(core as CoreName) });
  const mdev = mtty.parent.type('mtty-2')!.create();
  const dev = mdev.open();
  return {
    'Uart wrapper: read LSR': { step: () => u.read(LSR) },
    'Uart wrapper: write SCR': { step: (i) => (u.write(SCR, i & 0xff), i) },
    'device API: read LSR': { step: () => dev.read(BAR1 + LSR, 1) },
    'device API: read IIR': { step: () => dev.read(BAR1 + IIR, 1) },
    'device API: write IER (0x00)': { step: (i) => (dev.write(BAR1 + IER, 1, 0), i) },
    'device API: write SCR': {
      step: (i) => (dev.write(BAR1 + SCR, 1, i & 0xff), i),
      async close() {
        dev.close();
        await mdev.remove();
        await mtty.unload();
      },
    },
  };
}

export const deviceApiSection: BenchSection = {
  name: 'vfio-device',
  description: 'one BAR register access (size 1): VfioDevice.read/write (realClock) and the Uart wrapper; wasm core vs plain-TS core behind the same code',
  async run(log) {
    const f = await abCompare(import.meta.url, 'workloads', 'wasm', 'ts');
    return Object.entries(f).map(([k, x]) => abRow(k, 'access', x, log));
  },
};
