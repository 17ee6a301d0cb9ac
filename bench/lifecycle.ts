/**
 * Section "lifecycle": mediated devices created and removed per second
 * (MdevType.create() with a fresh UUID, then MdevDevice.remove(), which
 * releases the ports and, for the wasm core, returns the UART handles to the
 * core's table). Against the plain-TS core behind the same mdev/mtty code,
 * each core in its own isolate. remove() is a promise (it waits for an
 * opener to close), so the loop is async.
 */
import { loadMtty, type LoadedMtty } from '../src/mtty/load.js';
import { ManualClock } from '../src/clock/clock.js';
import { Uart } from '../src/uart/index.js';
import { uartFactory, type CoreName } from './core-choice.js';
import { isolatedPair } from './isolate.js';
import { median, pairRow, seconds } from './measure.js';
import type { BenchSection } from './run.js';

async function cycles(mtty: LoadedMtty, type: string, sliceS: number): Promise<number> {
  const t = mtty.parent.type(type)!;
  let n = 0;
  const start = seconds();
  let elapsed = 0;
  while (elapsed < sliceS) {
    for (let k = 0; k < 64; k++) await t.create().remove();
    n += 64;
    elapsed = seconds() - start;
  }
  return n / elapsed;
}

/** Runs inside a worker: cycles/s per type on one core; throws on a port or handle leak. */
export async function measure(core: CoreName): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const liveBefore = Uart.livePorts;
  for (const type of ['mtty-1', 'mtty-2']) {
    const mtty = await loadMtty({ ports: 2, clock: new ManualClock(), createUart: uartFactory(core) });
    await cycles(mtty, type, 0.1);
    const rs: number[] = [];
    for (let r = 0; r < 5; r++) rs.push(await cycles(mtty, type, 0.05));
    out[type] = median(rs);
    const avail = mtty.parent.type(type)!.availableInstances;
    if (avail !== (type === 'mtty-1' ? 2 : 1)) throw new Error(`${type}: available_instances ${avail} after the cycles; ports leaked`);
    await mtty.unload();
  }
  if (Uart.livePorts !== liveBefore) throw new Error(`UART handles leaked: ${liveBefore} live before, ${Uart.livePorts} after`);
  return out;
}

export const lifecycleSection: BenchSection = {
  name: 'lifecycle',
  description: 'create + remove of one mdev per cycle, cycles/s; wasm core vs plain-TS core behind the same mdev/mtty code',
  async run(log) {
    const [w, t] = await isolatedPair(import.meta.url, 'measure', 'wasm', 'ts');
    const rows = ['mtty-1', 'mtty-2'].map((type) => pairRow(`create + remove ${type}`, 'cycles/s', w[type]!, t[type]!));
    log('ports back in the pool and wasm live-port count back to its start value after every run');
    return rows;
  },
};
