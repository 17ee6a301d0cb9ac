/**
 * Section "lifecycle": mediated devices created and removed (one create with
 * a fresh UUID, then remove(), which returns the ports to the pool and, for
 * the wasm core, the UART handles to the core's table), per CPU second:
 *
 * - in process: MdevType.create() + MdevDevice.remove() on loadMtty()'s
 *   defaults (realClock), what an embedding program does;
 * - over the daemon: a SocketClient sending `create` then `remove` to a
 *   daemon (startDaemon, the `mtty serve` code) listening on a UNIX socket in
 *   the same worker, so the CPU time counts both ends (JSON, socket I/O, the
 *   service) as a host running `mtty create` would pay it.
 *
 * wasm core vs the plain-TS core behind the same mdev/mtty/control code, in
 * CPU-time A/B slices (ab.ts); the workloads' order is reversed every round,
 * so neither type nor path always runs first. Ports and UART handles are
 * checked for leaks when the worker closes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMtty } from '../src/mtty/load.js';
import { Uart } from '../src/uart/index.js';
import { startDaemon } from '../src/control/daemon.js';
import { SocketClient } from '../src/control/client.js';
import { uartFactory, type CoreName } from './core-choice.js';
import { abCompare, abRow, type Workload } from './ab.js';
import type { BenchSection } from './run.js';

const TYPES = ['mtty-1', 'mtty-2'] as const;

/** Runs inside a worker: the workloads of one core. */
export async function workloads(core: string): Promise<Record<string, Workload>> {
  const createUart = uartFactory(core as CoreName);
  const liveBefore = Uart.livePorts;
  const mtty = await loadMtty({ ports: 2, createUart });
  const lib = await loadMtty({ ports: 2, createUart });
  const dir = mkdtempSync(join(tmpdir(), 'mtty-bench-'));
  const daemon = await startDaemon({ socketPath: join(dir, 'control.sock'), configDir: join(dir, 'conf'), autostart: false, library: lib });
  const client = await SocketClient.connect(join(dir, 'control.sock'));
  const out: Record<string, Workload> = {};
  for (const type of TYPES) {
    const t = mtty.parent.type(type)!;
    out[`create + remove ${type}, in process`] = {
      group: 16,
      step: async () => {
        const d = t.create();
        await d.remove();
        return d.uuid.length;
      },
    };
    out[`create + remove ${type}, over the daemon`] = {
      group: 8,
      step: async () => {
        const r = await client.call<{ uuid: string }>('create', { type });
        await client.call('remove', { uuid: r.uuid });
        return r.uuid.length;
      },
    };
  }
  out[`create + remove ${TYPES[1]}, over the daemon`]!.close = async () => {
    await client.close();
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
    for (const [m, name] of [[mtty, 'in process'], [lib, 'daemon']] as const) {
      for (const type of TYPES) {
        const avail = m.parent.type(type)!.availableInstances;
        if (avail !== (type === 'mtty-1' ? 2 : 1)) throw new Error(`${name} ${type}: available_instances ${avail} after the cycles; ports leaked`);
      }
      await m.unload();
    }
    if (Uart.livePorts !== liveBefore) throw new Error(`UART handles leaked: ${liveBefore} live before, ${Uart.livePorts} after`);
  };
  return out;
}

export const lifecycleSection: BenchSection = {
  name: 'lifecycle',
  description: 'create + remove of one mdev per cycle, cycles per CPU second, in process and over the daemon socket; wasm core vs plain-TS core',
  async run(log) {
    const f = await abCompare(import.meta.url, 'workloads', 'wasm', 'ts', { rounds: 9 });
    return Object.entries(f).map(([k, x]) => abRow(k, 'cycle', x, log));
  },
};
