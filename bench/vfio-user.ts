/**
 * Section "vfio-user": the vfio-user server alone, against libvfio-user's C
 * sample server (../shared/vfio-user-ref, `gpio-pci-idio-16`) in the same run.
 *
 * A C client (bench/vfio-user-client.c, built here with cc into
 * node_modules/.cache/mtty-bench) does what QEMU does for a guest inb():
 * VERSION, DEVICE_GET_INFO, then 1-byte REGION_READs (mtty: region 0 offset
 * 7, the scratch register; the peer: region 2 offset 1, its input pins).
 * One client process per server stays connected; slices alternate between
 * the two servers so load on the shared machine hits both alike.
 *
 * Reported, ours vs the peer:
 *   - p50 / p99 latency of a 1-byte read (median over slices);
 *   - pipelined throughput, 16 requests in flight;
 *   - server CPU per request: /proc/PID/task/{*}/schedstat run time (ns) of
 *     the server process over the latency slices / requests;
 *   - syscalls per request: `perf stat -e raw_syscalls:sys_enter -p PID`
 *     (strace -c -f where perf cannot attach) over one slice;
 * and our TypeScript client (src/vfio-user/client.ts) against the C client,
 * both on our server (two sockets of one server process).
 *
 * Environment: MTTY_VFU_REF = the peer's binary (default
 * ../shared/vfio-user-ref/bin/gpio-pci-idio-16 next to the checkout);
 * without it the peer rows are skipped with one line saying why.
 * MTTY_VFU_BASELINE = a built checkout of an older mtty (with
 * dist/bench/vfio-user-server.js): its server joins the same interleaved
 * slices and its figures are printed as "before" lines, so before/after
 * come from one run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { VfioUserClient } from '../src/vfio-user/client.js';
import { median, percentile } from './measure.js';
import type { BenchRow, BenchSection } from './run.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SLICES = 15;
const LAT_N = 3000;
const PIPE_N = 20_000;
const DEPTH = 16;
const SYSCALL_N = 20_000;

function refServer(): string | null {
  if (process.env.MTTY_VFU_REF) return existsSync(process.env.MTTY_VFU_REF) ? process.env.MTTY_VFU_REF : null;
  // ../shared next to the checkout; one level further up from a worktree (wt/NAME).
  for (const up of ['..', '../..']) {
    const p = resolve(ROOT, up, 'shared/vfio-user-ref/bin/gpio-pci-idio-16');
    if (existsSync(p)) return p;
  }
  return null;
}

/** cc the client into the cache when the source is newer than the binary. */
function buildClient(): string {
  const src = join(ROOT, 'bench/vfio-user-client.c');
  const dir = join(ROOT, 'node_modules/.cache/mtty-bench');
  const bin = join(dir, 'vfio-user-client');
  mkdirSync(dir, { recursive: true });
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    const r = spawnSync('cc', ['-O2', '-Wall', '-o', bin, src], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cc failed to build the bench client: ${r.stderr || r.error}`);
  }
  return bin;
}

/** A child that prints lines: wait for one matching line. */
class LineChild {
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private exited = false;
  stderr = '';
  constructor(readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.waiter?.();
    });
    proc.stderr!.on('data', (d) => (this.stderr += String(d)));
    proc.on('exit', () => {
      this.exited = true;
      this.waiter?.();
    });
  }
  async line(): Promise<string> {
    while (this.lines.length === 0) {
      if (this.exited) throw new Error(`child exited: ${this.stderr.trim()}`);
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = null;
    }
    return this.lines.shift()!;
  }
  async ask(cmd: string): Promise<number[]> {
    this.proc.stdin!.write(cmd + '\n');
    return (await this.line()).split(' ').slice(1).map(Number);
  }
}

function startChild(cmd: string, args: string[], env?: NodeJS.ProcessEnv): LineChild {
  return new LineChild(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env }));
}

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 500 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 10));
  if (!existsSync(path)) throw new Error(`${path} did not appear`);
}

/** CPU time (ns) of every thread of a process so far. */
function cpuNs(pid: number): number {
  let sum = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      sum += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* thread gone */
    }
  }
  return sum;
}

/** Syscalls made by `pid` while `work` runs: perf first, strace -c -f otherwise. */
async function syscalls(pid: number, work: () => Promise<void>): Promise<{ n: number; tool: string }> {
  for (const tool of ['perf', 'strace'] as const) {
    const args =
      tool === 'perf' ? ['stat', '-x', ',', '-e', 'raw_syscalls:sys_enter', '-p', String(pid)] : ['-c', '-f', '-p', String(pid)];
    const p = spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += String(d)));
    const exited = new Promise<number | null>((r) => p.on('exit', (c) => r(c)).on('error', () => r(-1)));
    await new Promise((r) => setTimeout(r, 400)); // let it attach
    if (p.exitCode !== null) continue;
    await work();
    p.kill('SIGINT');
    await exited;
    const n =
      tool === 'perf'
        ? Number(err.split('\n').find((l) => l.includes('raw_syscalls'))?.split(',')[0])
        : Number(err.trim().split('\n').pop()?.trim().split(/\s+/)[2]);
    if (Number.isFinite(n) && n > 0) return { n, tool };
  }
  return { n: NaN, tool: 'none' };
}

async function tsClientLatency(c: VfioUserClient, n: number): Promise<number[]> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = process.hrtime.bigint();
    const r = await c.regionRead(0, 7, 1);
    t.push(Number(process.hrtime.bigint() - a));
    if (r.length !== 1) throw new Error('short read');
  }
  return t;
}

export const vfioUserSection: BenchSection = {
  name: 'vfio-user',
  description:
    'vfio-user server alone: C client, 1-byte REGION_READ, ours vs libvfio-user C sample server (same run, interleaved); then our TS client vs the C client on our server',
  columns: ['mtty', 'C peer'],
  async run(log) {
    let client: string;
    try {
      client = buildClient();
    } catch (e) {
      log(`skipped: ${(e as Error).message}`);
      return [];
    }
    const ref = refServer();
    const dir = mkdtempSync(join(tmpdir(), 'mtty-bench-vfu-'));
    const sockA = join(dir, 'a.sock');
    const sockB = join(dir, 'b.sock');
    const sockR = join(dir, 'ref.sock');
    const children: LineChild[] = [];
    const rows: BenchRow[] = [];
    let ts: VfioUserClient | null = null;
    try {
      const ours = startChild(process.execPath, [join(ROOT, 'dist/bench/vfio-user-server.js'), sockA, sockB]);
      children.push(ours);
      if ((await ours.line()) !== 'ready') throw new Error('our server did not start');
      const oursPid = ours.proc.pid!;
      const cA = startChild(client, [sockA, '0', '7']);
      children.push(cA);
      await cA.line();

      let peer: { c: LineChild; pid: number } | null = null;
      if (ref) {
        const srv = startChild(ref, [sockR]);
        children.push(srv);
        await waitFor(sockR);
        const c = startChild(client, [sockR, '2', '1']);
        children.push(c);
        await c.line();
        peer = { c, pid: srv.proc.pid! };
      } else {
        log('peer skipped: libvfio-user sample server not found (set MTTY_VFU_REF)');
      }
      let base: { c: LineChild; pid: number } | null = null;
      const baseDir = process.env.MTTY_VFU_BASELINE;
      if (baseDir) {
        const sockBase = join(dir, 'base.sock');
        const srv = startChild(process.execPath, [join(baseDir, 'dist/bench/vfio-user-server.js'), sockBase]);
        children.push(srv);
        if ((await srv.line()) !== 'ready') throw new Error('the baseline server did not start');
        const c = startChild(client, [sockBase, '0', '7']);
        children.push(c);
        await c.line();
        base = { c, pid: srv.proc.pid! };
      }

      const who = { ours: { c: cA, pid: oursPid }, peer, base };
      type Who = keyof typeof who;
      const names: Who[] = ['ours', 'peer', 'base'];
      // Warm-up: JIT tier-up on our side, caches on both.
      for (const k of names) await who[k]?.c.ask(`lat ${LAT_N * 3}`);

      const blank = () => ({ p50: [] as number[], p99: [] as number[], cpu: 0, n: 0, pipe: [] as number[] });
      const res = { ours: blank(), peer: blank(), base: blank() };
      for (let s = 0; s < SLICES; s++) {
        for (const k of names) {
          const w = who[k];
          if (!w) continue;
          const before = cpuNs(w.pid);
          const [p50, p99] = await w.c.ask(`lat ${LAT_N}`);
          res[k].cpu += cpuNs(w.pid) - before;
          res[k].n += LAT_N;
          res[k].p50.push(p50!);
          res[k].p99.push(p99!);
          const [ns, n] = await w.c.ask(`pipe ${PIPE_N} ${DEPTH}`);
          res[k].pipe.push((n! / ns!) * 1e9);
        }
      }
      const us = (ns: number) => ns / 1000;
      const pr = (xs: number[]) => (xs.length ? median(xs) : NaN);
      const sc: Record<Who, { n: number; tool: string }> = { ours: { n: NaN, tool: 'none' }, peer: { n: NaN, tool: 'none' }, base: { n: NaN, tool: 'none' } };
      for (const k of names) {
        const w = who[k];
        if (w) sc[k] = await syscalls(w.pid, async () => void (await w.c.ask(`lat ${SYSCALL_N}`)));
      }
      const { ours: o, peer: p, base: b } = res;
      // Ratios: the median of per-slice ratios (each pair of slices ran back
      // to back), steadier on a shared machine than a ratio of medians.
      const ratio = (a: number[], b: number[]) => (b.length ? median(a.map((x, i) => x / b[i]!)) : NaN);
      rows.push({ ...row('1-byte read p50 (C client)', 'us', us(pr(o.p50)), us(pr(p.p50))), ratio: ratio(o.p50, p.p50) });
      rows.push({ ...row('1-byte read p99 (C client)', 'us', us(pr(o.p99)), us(pr(p.p99))), ratio: ratio(o.p99, p.p99) });
      rows.push({ ...row(`pipelined, ${DEPTH} in flight`, 'msg/s', pr(o.pipe), pr(p.pipe)), ratio: ratio(o.pipe, p.pipe) });
      rows.push(row('server CPU per request', 'us', us(o.cpu / o.n), p.n ? us(p.cpu / p.n) : NaN));
      log(`syscalls counted with ${sc.ours.tool} (ours) / ${sc.peer.tool} (peer) over ${SYSCALL_N} sequential reads`);
      rows.push(row('server syscalls per request', 'calls', sc.ours.n / SYSCALL_N, sc.peer.n / SYSCALL_N));
      if (base) {
        const f = (x: number) => x.toFixed(1);
        log(
          `before (${baseDir}), same run: p50 ${f(us(pr(b.p50)))} us (${ratio(b.p50, p.p50).toFixed(2)}x the peer), ` +
            `p99 ${f(us(pr(b.p99)))} us, pipelined ${f(pr(b.pipe) / 1000)} k/s (${ratio(b.pipe, p.pipe).toFixed(2)}x), ` +
            `CPU ${f(us(b.cpu / b.n))} us/request, syscalls ${(sc.base.n / SYSCALL_N).toFixed(2)}/request`,
        );
      }

      // Our TS client vs the C client, on our server (socket B vs socket A).
      ts = VfioUserClient.connect(sockB);
      await ts.version();
      await ts.getInfo();
      await tsClientLatency(ts, LAT_N * 3);
      const tsP50: number[] = [];
      const cP50: number[] = [];
      for (let s = 0; s < SLICES; s++) {
        tsP50.push(percentile(await tsClientLatency(ts, LAT_N), 50));
        cP50.push((await cA.ask(`lat ${LAT_N}`))[0]!);
      }
      rows.push({
        workload: 'TS client p50 vs C client (our server)',
        unit: 'us',
        wasm: us(median(tsP50)),
        ts: us(median(cP50)),
        ratio: median(tsP50.map((x, i) => x / cP50[i]!)),
      });
      log('rows: ours = mtty server (last row: our TS client), peer = libvfio-user C server (last row: the C client); ratio = ours / peer');
      return rows;
    } finally {
      await ts?.close().catch(() => {});
      for (const c of children.reverse()) {
        c.proc.stdin?.end();
        c.proc.kill('SIGTERM');
      }
      await Promise.all(children.map((c) => (c.proc.exitCode !== null ? null : new Promise((r) => c.proc.on('exit', r)))));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

function row(workload: string, unit: string, ours: number, peer: number): BenchRow {
  return { workload, unit, wasm: ours, ts: peer, ratio: ours / peer };
}
