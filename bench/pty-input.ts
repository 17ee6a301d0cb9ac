/**
 * Section "pty-input" (issue 14 item 4): 3000 bytes typed into a pty attached
 * to a port's host line, read by the guest model's 8250 driver (IRQ-driven
 * RBR reads) at 115200 8N1, with the RX FIFO on (the driver's default,
 * trigger 8) and off (16450 mode: one byte of room per guest read).
 *
 * Input is paced at the guest's line rate and refilled on the guest's RBR
 * reads (src/host/rx-pump.ts), so the target is the line rate itself:
 * 115200 / 10 bits = 11.52 KB/s, whatever the FIFO mode. The "plain TS"
 * column of this section is that line rate, and the ratio is ours / line rate.
 * Before this change the pump polled ~1 ms after the FIFO filled: 0.9 KB/s
 * with the FIFO off and 2.5 KB/s with it on (issue 14, measured there).
 *
 * This is an I/O path paced by a clock, so it is measured in wall time (CPU
 * time would not show the pacing). FIFO on and off are interleaved in the
 * order on, off, off, on, on, off; the medians are reported.
 */
import { openSync, writeSync, closeSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMtty } from '../src/mtty/load.js';
import { GuestMachine } from '../src/guest/index.js';
import { createBackend } from '../src/host/index.js';
import { median, seconds } from './measure.js';
import type { BenchRow, BenchSection } from './run.js';

const BYTES = 3000;
const LINE_RATE = 115200 / 10; // bytes/s on an 8N1 line

/** One run: seconds from the first byte written into the pty to the last one in the guest tty. */
async function typeInto(fifo: boolean): Promise<number> {
  const mtty = await loadMtty();
  const mdev = mtty.parent.type('mtty-1')!.create();
  const dev = mdev.open('bench guest');
  const guest = new GuestMachine();
  const { ttys } = guest.attach(dev);
  const tty = ttys[0]!;
  tty.open({ baud: 115200 });
  if (!fifo) mdev.vendor.ports[0]!.write(2, 0x00); // FCR: FIFOs off (16450 mode)
  const link = join(tmpdir(), `mtty-bench-pty-${process.pid}-${fifo ? 'on' : 'off'}`);
  const backend = createBackend(`pty:${link}`);
  await backend.attach(mdev.vendor.ports[0]!);
  const fd = openSync(link, constants.O_RDWR | constants.O_NOCTTY);
  const data = Buffer.alloc(BYTES, 0x61);
  const got = tty.read(BYTES);
  const start = seconds();
  let sent = 0;
  while (sent < BYTES) sent += writeSync(fd, data, sent, Math.min(256, BYTES - sent));
  const bytes = await got;
  const elapsed = seconds() - start;
  if (bytes.length !== BYTES || bytes.some((b) => b !== 0x61)) throw new Error('pty input bench: bytes lost or changed');
  closeSync(fd);
  await backend.close();
  tty.close();
  guest.detach(dev);
  dev.close();
  await mdev.remove();
  await mtty.unload();
  return elapsed;
}

export const ptyInputSection: BenchSection = {
  name: 'pty-input',
  description: `3000 bytes typed into a pty, read by the guest's 8250 driver at 115200 8N1 (wall time; "plain TS" column = the line rate ${(LINE_RATE / 1000).toFixed(2)} KB/s)`,
  async run(log) {
    const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
    for (const mode of ['on', 'off', 'off', 'on', 'on', 'off'] as const) times[mode].push(await typeInto(mode === 'on'));
    const rows: BenchRow[] = [];
    for (const mode of ['on', 'off'] as const) {
      const t = median(times[mode]);
      log(`FIFO ${mode}: ${times[mode].map((x) => `${(x * 1000).toFixed(0)} ms`).join(', ')} for ${BYTES} bytes`);
      const rate = BYTES / t;
      rows.push({ workload: `pty input, FIFO ${mode}, vs the line rate`, unit: 'B/s', wasm: rate, ts: LINE_RATE, ratio: rate / LINE_RATE });
    }
    return rows;
  },
};
