/**
 * Section "vfio-device": BAR register accesses per second through the public
 * VFIO device API (VfioDevice.read/write, size 1, pos = region << 40 | offset)
 * and through the Uart wrapper directly, each against the plain-TS baseline
 * core behind exactly the same device code. Each core runs in its own isolate
 * (isolate.ts explains why).
 *
 * The device rows run with the clock loadMtty uses by default (realClock:
 * every access brings the UART's virtual time up to date, as in production)
 * and with a ManualClock that never moves (what is left without the clock).
 */
import { loadMtty } from '../src/mtty/load.js';
import { ManualClock } from '../src/clock/clock.js';
import { regionOffset } from '../src/vfio/uapi.js';
import { bareLoopbackUart, uartFactory, type CoreName } from './core-choice.js';
import { isolatedPair } from './isolate.js';
import { pairRow, steadyRate } from './measure.js';
import type { BenchRow, BenchSection } from './run.js';

/** BAR1 of an mtty-2: a non-zero region index, so the pos split is really exercised. */
const BAR1 = regionOffset(1);
const LSR = 5;
const SCR = 7;

/** Runs inside a worker: accesses/s of every workload on one core. */
export async function measure(core: CoreName): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const u = bareLoopbackUart(core);
  out['wrapper read'] = steadyRate(() => u.read(LSR));
  out['wrapper write'] = steadyRate((i) => u.write(SCR, i & 0xff));
  for (const clockName of ['realClock', 'ManualClock']) {
    const mtty = await loadMtty({ ports: 2, clock: clockName === 'ManualClock' ? new ManualClock() : undefined, createUart: uartFactory(core) });
    const mdev = mtty.parent.type('mtty-2')!.create();
    const dev = mdev.open();
    out[`${clockName} read`] = steadyRate(() => dev.read(BAR1 + LSR, 1));
    out[`${clockName} write`] = steadyRate((i) => dev.write(BAR1 + SCR, 1, i & 0xff));
    dev.close();
    await mdev.remove();
    await mtty.unload();
  }
  return out;
}

export const deviceApiSection: BenchSection = {
  name: 'vfio-device',
  description: 'BAR register accesses/s (size 1): VfioDevice.read/write and the Uart wrapper; wasm core vs plain-TS core behind the same code',
  async run(log) {
    const [w, t] = await isolatedPair(import.meta.url, 'measure', 'wasm', 'ts');
    const rows: BenchRow[] = [
      pairRow('Uart wrapper: read LSR', 'accesses/s', w['wrapper read']!, t['wrapper read']!),
      pairRow('Uart wrapper: write SCR', 'accesses/s', w['wrapper write']!, t['wrapper write']!),
      pairRow('device API, realClock (default): read LSR', 'accesses/s', w['realClock read']!, t['realClock read']!),
      pairRow('device API, realClock (default): write SCR', 'accesses/s', w['realClock write']!, t['realClock write']!),
      pairRow('device API, ManualClock: read LSR', 'accesses/s', w['ManualClock read']!, t['ManualClock read']!),
      pairRow('device API, ManualClock: write SCR', 'accesses/s', w['ManualClock write']!, t['ManualClock write']!),
    ];
    for (const r of rows.slice(2)) {
      const wrapper = r.workload.endsWith('LSR') ? w['wrapper read']! : w['wrapper write']!;
      log(`${r.workload}: ${(r.wasm / 1e6).toFixed(1)} M/s = ${((100 * r.wasm) / wrapper).toFixed(0)}% of the Uart wrapper; ${(r.wasm / 50e6).toFixed(2)}x of the 50 M/s target`);
    }
    return rows;
  },
};
