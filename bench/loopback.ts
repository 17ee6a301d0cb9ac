/**
 * Section "loopback": bytes through a port in loopback wiring (mtty's host
 * loop: THR bytes come back on RBR), FIFOs on, default realClock.
 *
 * - guest-style: per byte, what an 8250 driver does by polling: LSR until
 *   THRE, one THR write, LSR until DR, one RBR read (4 accesses per byte,
 *   since transmission is instantaneous). While the byte waits the character
 *   timeout runs, so the port keeps time, on either core. Through the VFIO
 *   device API and through the Uart wrapper.
 * - batched: Uart.writeMany(16) + readMany(16) per step: one FIFO's worth
 *   each way (a larger writeMany would overrun the 16-byte RX FIFO).
 * - staged: the same 16 bytes written by the caller straight into
 *   Uart.stage (the core's io buffer; the TS model's own array) and moved
 *   out and back by one writeReadStaged(16, 16).
 * - exchange: 2048 bytes in Uart.stage sent out and read back a FIFO's
 *   worth per round, 128 rounds in one exchangeStaged(2048) call (the TS
 *   model runs the same rounds). The whole echo is checked once at set-up;
 *   each step changes the first and last byte and checks those come back.
 * wasm core vs the plain-TS core behind the same code, CPU-time A/B slices
 * (ab.ts). Every byte read back is checked, so a model that loses bytes
 * cannot look fast.
 */
import { loadMtty } from '../src/mtty/load.js';
import { regionOffset } from '../src/vfio/uapi.js';
import type { VfioDevice } from '../src/vfio/api.js';
import { bareLoopbackUart, uartFactory, type CoreName } from './core-choice.js';
import { abCompare, abRow, type Workload } from './ab.js';
import type { BenchSection } from './run.js';

const THR = 0;
const FCR = 2;
const LSR = 5;
const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const CHUNK = 16;
const EXCHANGE = 2048;

interface Regs {
  read(off: number): number;
  write(off: number, v: number): void;
}

/** One byte the way a polling driver moves it; throws if it does not come back intact. */
function guestByte(r: Regs, b: number): number {
  while (!(r.read(LSR) & LSR_THRE));
  r.write(THR, b);
  while (!(r.read(LSR) & LSR_DR));
  const got = r.read(THR);
  if (got !== b) throw new Error(`loopback returned 0x${got.toString(16)} for 0x${b.toString(16)}`);
  return got;
}

/**
 * guestByte through the VFIO device API, spelled out: a driver talks to one
 * kind of device, so its call sites see one receiver. Sharing guestByte with
 * the wrapper row made them polymorphic, which cost the two cores unequally.
 */
function guestByteVfio(dev: VfioDevice, base: number, b: number): number {
  while (!(dev.read(base + LSR, 1) & LSR_THRE));
  dev.write(base + THR, 1, b);
  while (!(dev.read(base + LSR, 1) & LSR_DR));
  const got = dev.read(base + THR, 1);
  if (got !== b) throw new Error(`loopback returned 0x${got.toString(16)} for 0x${b.toString(16)}`);
  return got;
}

/** Runs inside a worker: the workloads of one core. */
export async function workloads(core: string): Promise<Record<string, Workload>> {
  const mtty = await loadMtty({ ports: 1, createUart: uartFactory(core as CoreName) });
  const mdev = mtty.parent.type('mtty-1')!.create();
  const dev = mdev.open();
  const base = regionOffset(0);
  dev.write(base + FCR, 1, 0x01);
  const u = bareLoopbackUart(core as CoreName);
  u.write(FCR, 0x01);
  const b = bareLoopbackUart(core as CoreName);
  b.write(FCR, 0x01);
  const s = bareLoopbackUart(core as CoreName);
  s.write(FCR, 0x01);
  const x = bareLoopbackUart(core as CoreName);
  x.write(FCR, 0x01);
  for (let k = 0; k < EXCHANGE; k++) x.stage[k] = (k * 7) & 0xff;
  if (x.exchangeStaged(EXCHANGE) !== EXCHANGE || x.stagedWritten !== EXCHANGE) throw new Error('exchange did not move every byte');
  for (let k = 0; k < EXCHANGE; k++) if (x.stage[EXCHANGE + k] !== x.stage[k]) throw new Error(`exchange changed byte ${k}`);
  const tx = new Uint8Array(CHUNK).map((_, i) => 0x30 + i);
  const rx = new Uint8Array(CHUNK);
  return {
    'guest-style via device API (LSR, THR, LSR, RBR per byte)': { step: (i) => guestByteVfio(dev, base, i & 0xff), group: 64 },
    'guest-style via Uart wrapper': { step: (i) => guestByte(u, i & 0xff), group: 64 },
    [`staged write + read of ${CHUNK} in one call (writeReadStaged)`]: {
      opsPerStep: CHUNK,
      step: (i) => {
        const st = s.stage;
        for (let k = 0; k < CHUNK; k++) st[k] = (i + k) & 0xff;
        const r = s.writeReadStaged(CHUNK, CHUNK);
        if (s.stagedWritten !== CHUNK || r !== CHUNK || st[CHUNK - 1] !== ((i + CHUNK - 1) & 0xff)) throw new Error(`staged loopback moved ${s.stagedWritten}/${r} bytes`);
        return st[5]!;
      },
    },
    [`exchange of ${EXCHANGE} bytes, ${EXCHANGE / CHUNK} FIFOs' worth in one call (exchangeStaged)`]: {
      opsPerStep: EXCHANGE,
      step: (i) => {
        const st = x.stage;
        st[0] = i & 0xff;
        st[EXCHANGE - 1] = ~i & 0xff;
        const r = x.exchangeStaged(EXCHANGE);
        if (r !== EXCHANGE || x.stagedWritten !== EXCHANGE || st[EXCHANGE] !== (i & 0xff) || st[2 * EXCHANGE - 1] !== (~i & 0xff)) {
          throw new Error(`exchange moved ${x.stagedWritten}/${r} bytes`);
        }
        return st[EXCHANGE + 5]!;
      },
    },
    [`batched writeMany(${CHUNK}) + readMany(${CHUNK})`]: {
      opsPerStep: CHUNK,
      step: () => {
        const w = b.writeMany(tx);
        const r = b.readMany(rx);
        if (w !== CHUNK || r !== CHUNK || rx[CHUNK - 1] !== tx[CHUNK - 1]) throw new Error(`batched loopback moved ${w}/${r} bytes`);
        return rx[5]!;
      },
      async close() {
        dev.close();
        await mdev.remove();
        await mtty.unload();
      },
    },
  };
}

export const loopbackSection: BenchSection = {
  name: 'loopback',
  description: 'loopback bytes (FIFOs on, realClock): guest-style polling (device API, Uart wrapper) and batched writeMany/readMany; wasm core vs plain-TS core',
  async run(log) {
    const f = await abCompare(import.meta.url, 'workloads', 'wasm', 'ts');
    return Object.entries(f).map(([k, x]) => abRow(k, 'byte', x, log));
  },
};
