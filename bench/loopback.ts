/**
 * Section "loopback": bytes per second through a port in loopback wiring
 * (mtty's host loop: THR bytes come back on RBR), FIFOs on.
 *
 * - guest-style: per byte, what an 8250 driver does by polling: LSR until
 *   THRE, one THR write, LSR until DR, one RBR read (4 accesses per byte,
 *   since transmission is instantaneous). Through the VFIO device API and
 *   through the Uart wrapper.
 * - batched: Uart.writeMany(16) + readMany(16) per step: one FIFO's worth
 *   each way (a larger writeMany would overrun the 16-byte RX FIFO).
 * Each against the plain-TS baseline core behind the same code, each core in
 * its own isolate. Every byte read back is checked, so a model that loses
 * bytes cannot look fast.
 */
import { loadMtty } from '../src/mtty/load.js';
import { regionOffset } from '../src/vfio/uapi.js';
import { bareLoopbackUart, uartFactory, type CoreName } from './core-choice.js';
import { isolatedPair } from './isolate.js';
import { pairRow, steadyRate } from './measure.js';
import type { BenchSection } from './run.js';

const THR = 0;
const FCR = 2;
const LSR = 5;
const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const CHUNK = 16;

interface Regs {
  read(off: number): number;
  write(off: number, v: number): void;
}

/** One byte the way a polling driver moves it; throws if it does not come back intact. */
function guestByte(r: Regs, b: number): void {
  while (!(r.read(LSR) & LSR_THRE));
  r.write(THR, b);
  while (!(r.read(LSR) & LSR_DR));
  const got = r.read(THR);
  if (got !== b) throw new Error(`loopback returned 0x${got.toString(16)} for 0x${b.toString(16)}`);
}

/** Runs inside a worker: bytes/s of every workload on one core. */
export async function measure(core: CoreName): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const mtty = await loadMtty({ ports: 1, createUart: uartFactory(core) });
  const mdev = mtty.parent.type('mtty-1')!.create();
  const dev = mdev.open();
  const base = regionOffset(0);
  const regs: Regs = { read: (off) => dev.read(base + off, 1), write: (off, v) => dev.write(base + off, 1, v) };
  regs.write(FCR, 0x01);
  out.device = steadyRate((i) => guestByte(regs, i & 0xff));
  dev.close();
  await mdev.remove();
  await mtty.unload();

  const u = bareLoopbackUart(core);
  u.write(FCR, 0x01);
  out.wrapper = steadyRate((i) => guestByte(u, i & 0xff));
  const tx = new Uint8Array(CHUNK).map((_, i) => 0x30 + i);
  const rx = new Uint8Array(CHUNK);
  out.batched =
    CHUNK *
    steadyRate(
      () => {
        const w = u.writeMany(tx);
        const r = u.readMany(rx);
        if (w !== CHUNK || r !== CHUNK || rx[CHUNK - 1] !== tx[CHUNK - 1]) throw new Error(`batched loopback moved ${w}/${r} bytes`);
      },
      { group: 64 },
    );
  return out;
}

export const loopbackSection: BenchSection = {
  name: 'loopback',
  description: 'loopback bytes/s (FIFOs on): guest-style polling (device API, Uart wrapper) and batched writeMany/readMany; wasm core vs plain-TS core',
  async run(log) {
    const [w, t] = await isolatedPair(import.meta.url, 'measure', 'wasm', 'ts');
    const rows = [
      pairRow('guest-style via device API (4 accesses/byte)', 'bytes/s', w.device!, t.device!),
      pairRow('guest-style via Uart wrapper (4 accesses/byte)', 'bytes/s', w.wrapper!, t.wrapper!),
      pairRow(`batched writeMany(${CHUNK}) + readMany(${CHUNK})`, 'bytes/s', w.batched!, t.batched!),
    ];
    for (const r of rows) log(`${r.workload}: ${(r.wasm / 1e6).toFixed(1)} MB/s (plain TS ${(r.ts / 1e6).toFixed(1)} MB/s)`);
    log(`batched: ${(w.batched! / 100e6).toFixed(2)}x of the 100 MB/s target`);
    return rows;
  },
};
