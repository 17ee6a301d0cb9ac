/**
 * Section "control-load": what a client that never reads costs the others
 * (issue 13 item 3). A real `mtty serve` process with 12 devices; a normal
 * client times `list` round trips (p50/p99, µs, wall time: latency is what the
 * user waits) in alternating slices: quiet, then with a hog connection that
 * has sent `list` requests without reading until the daemon stopped reading
 * it (back-pressure), A B A B ... Also the daemon's RSS growth while the hog
 * is stalled. Ratio = with hog / quiet (1.0 = the hog costs nothing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SocketClient } from '../src/control/client.js';
import { median, percentile } from './measure.js';
import type { BenchRow, BenchSection } from './run.js';

const BIN = fileURLToPath(new URL('../../bin/mtty.cjs', import.meta.url));
const PAIRS = 5;
const SAMPLES = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rss(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

async function startServe(dir: string, sock: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--socket', sock, '--config-dir', join(dir, 'cfg'), '--no-autostart'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
    child.once('exit', (c) => reject(new Error(`mtty serve exited ${c}`)));
  });
  return child;
}

/** A connection that sends `list`s without reading until the daemon stops taking them. */
async function stalledHog(sock: string): Promise<Socket> {
  const hog = await new Promise<Socket>((resolve, reject) => {
    const s = createConnection(sock);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  hog.pause();
  hog.on('error', () => undefined);
  const chunk = Buffer.from('{"id":1,"op":"list"}\n'.repeat(2048));
  for (let sent = 0; sent < 64 * 1024 * 1024; sent += chunk.length) {
    if (!hog.write(chunk)) {
      const drained = await Promise.race([new Promise<boolean>((r) => hog.once('drain', () => r(true))), sleep(300).then(() => false)]);
      if (!drained) break;
    }
  }
  return hog;
}

async function slice(c: SocketClient, out: number[]): Promise<void> {
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = process.hrtime.bigint();
    const list = await c.call<unknown[]>('list');
    out.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (list.length !== 12) throw new Error(`list answered ${list.length} devices, expected 12`);
  }
}

export const controlLoadSection: BenchSection = {
  name: 'control-load',
  description: '`list` round trip of a normal client, quiet vs. next to a client that never reads (back-pressure); µs, lower is better',
  async run(log) {
    const dir = mkdtempSync(join(tmpdir(), 'mtty-bench-ctl-'));
    const sock = join(dir, 'run', 'control.sock');
    const daemon = await startServe(dir, sock);
    try {
      const c = await SocketClient.connect(sock);
      for (let i = 0; i < 12; i++) await c.call('create', { type: 'mtty-1' });
      await slice(c, []); // warm-up
      const quiet: number[] = [];
      const hogged: number[] = [];
      const growth: number[] = [];
      for (let p = 0; p < PAIRS; p++) {
        await slice(c, quiet);
        const before = rss(daemon.pid!);
        const hog = await stalledHog(sock);
        await slice(c, hogged);
        growth.push(rss(daemon.pid!) - before);
        hog.destroy();
        await sleep(50);
      }
      await c.close();
      const maxGrowthMB = Math.max(...growth) / 1048576;
      log(`daemon RSS growth with a stalled hog: max ${maxGrowthMB.toFixed(1)} MB over ${PAIRS} hogs (median ${(median(growth) / 1048576).toFixed(1)} MB)`);
      const row = (workload: string, a: number, b: number): BenchRow => ({ workload, unit: 'µs', wasm: a, ts: b, ratio: a / b });
      return [
        row('list p50: with a stalled hog (ours) vs quiet (plain TS column)', percentile(hogged, 50), percentile(quiet, 50)),
        row('list p99: with a stalled hog (ours) vs quiet (plain TS column)', percentile(hogged, 99), percentile(quiet, 99)),
      ];
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** `node dist/bench/control-load.js`: this section alone. */
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await controlLoadSection.run((l) => console.log(l));
  for (const r of rows) console.log(`${r.workload}: ${r.wasm.toFixed(0)} ${r.unit} vs ${r.ts.toFixed(0)} ${r.unit} (${r.ratio.toFixed(2)}x)`);
}
