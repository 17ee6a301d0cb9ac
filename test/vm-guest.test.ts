/**
 * A real guest (QEMU >= 10.1, TCG, Debian's Linux 6.1) on our vfio-user server,
 * checked from inside the guest (issue 10 part 2). ONE boot is shared by every
 * check in this file:
 *   mttyA  `mtty attach` mtty-2, profile pc16550d (the default)
 *   mttyB  `mtty attach` mtty-2 --profile mtty   (two devices in one QEMU)
 *   mttyR  `mtty attach` mtty-2 --record FILE    (probe + open/write/close, replayed)
 *   ref0   libvfio-user's C sample server (for the latency figures)
 *   pciserial0  QEMU's own pci-serial (for the latency figures)
 * and a third device hot-plugged and unplugged through QMP while it runs.
 * Skipped, with one printed line, when no suitable QEMU is found.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildMttyConfigImage } from '../src/pci/mtty-config-image.js';
import {
  bdfOf,
  configSpace,
  driverSerial,
  interruptCount,
  loopback,
  pciFunctions,
  probeLines,
  qemuErrorLines,
  setserial,
  type ProbeLine,
} from './support/vm/guest-checks.js';
import { GuestVm } from './support/vm/guest-vm.js';
import { formatFigures, measureInb, type InbTarget, type ThroughputFigure } from './support/vm/figures.js';
import { MTTY_BIN, startMttyAttach, startRefServer, type ServerProcess } from './support/vm/servers.js';
import { vmEnvironment } from './support/vm/vm-env.js';

const env = vmEnvironment();

if (env) {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vm-guest-'));
  const servers: ServerProcess[] = [];
  let vm: GuestVm;
  let A: ProbeLine[];
  let B: ProbeLine[];
  let bdfA: string;
  let R: ProbeLine[];
  const recording = join(dir, 'linux-mtty-2.trace');

  test.before(async () => {
    const a = await startMttyAttach({ uuid: '6e2a3b4c-0000-4000-8000-00000000000a', socket: join(dir, 'a.sock') });
    const b = await startMttyAttach({ uuid: '6e2a3b4c-0000-4000-8000-00000000000b', socket: join(dir, 'b.sock'), profile: 'mtty' });
    const rec = await startMttyAttach({ uuid: '6e2a3b4c-0000-4000-8000-00000000000d', socket: join(dir, 'rec.sock'), record: recording });
    servers.push(a, b, rec);
    const ref = await startRefServer(join(dir, 'ref.sock'));
    if (ref) servers.push(ref);
    vm = await GuestVm.boot({
      qemu: env.qemu,
      image: env.image,
      pciSerial: true,
      devices: [
        { id: 'mttyA', socket: a.socket },
        { id: 'mttyB', socket: b.socket },
        { id: 'mttyR', socket: rec.socket },
        ...(ref ? [{ id: 'ref0', socket: ref.socket }] : []),
      ],
    });
    bdfA = await bdfOf(vm, 'mttyA');
    const bdfB = await bdfOf(vm, 'mttyB');
    const lines = await probeLines(vm);
    A = lines.filter((l) => l.bdf === bdfA);
    B = lines.filter((l) => l.bdf === bdfB);
    const bdfR = await bdfOf(vm, 'mttyR');
    R = lines.filter((l) => l.bdf === bdfR);
  });

  test.after(async () => {
    await vm?.close();
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('8250_pci probes both ports of each mtty-2 as a 16550A; setserial -g and /proc/tty/driver/serial agree', async () => {
    for (const dev of [A, B]) {
      assert.is(dev.length, 2, `two "is a 16550A" lines per mtty-2, got: ${JSON.stringify(dev)}`);
      assert.ok(dev.every((l) => l.uart === '16550A'), dev.map((l) => l.line).join('\n'));
      for (const p of dev) {
        const s = await setserial(vm, p.tty);
        assert.equal([s.uart, s.port, s.irq], ['16550A', p.io, p.irq], s.line);
        const d = await driverSerial(vm, p.tty);
        assert.equal([d.uart, d.port, d.irq], ['16550A', p.io, p.irq], d.line);
      }
      assert.is(dev[1]!.io - dev[0]!.io !== 0, true, 'each port has its own BAR');
    }
  });

  test('the guest reads all 256 config bytes: mtty\'s image with the BARs and IRQ line the firmware assigned; QEMU logs no error', async () => {
    const fns = await pciFunctions(vm);
    const fn = fns.find((f) => f.bdf === bdfA)!;
    assert.is(fn.vendor, 0x4348);
    assert.is(fn.device, 0x3253);
    const seen = await configSpace(vm, bdfA);
    assert.is(seen.length, 256);
    const expected = new Uint8Array(256);
    expected.set(buildMttyConfigImage(2));
    const dv = new DataView(expected.buffer);
    dv.setUint32(0x10, fn.bars[0]! | 1, true);
    dv.setUint32(0x14, fn.bars[1]! | 1, true);
    expected[0x3c] = fn.irq;
    assert.equal([...seen], [...expected]);
    assert.equal(qemuErrorLines(vm.stderr), [], vm.stderr);
  });

  const throughput: ThroughputFigure[] = [];

  test('a recording of Linux probing, opening and writing "hello" to an mtty-2 port replays with mtty replay --check', async () => {
    assert.is(R.length, 2);
    const out = await vm.ok(`mtty-guest-tool echo /dev/${R[0]!.tty} hello`);
    assert.match(out, /sent=5 got=5 text=hello/);
    await new Promise((r) => setTimeout(r, 200)); // the recorder writes every 20 ms
    const text = readFileSync(recording, 'utf8');
    assert.match(text, /^dev0\.0 W 0 0x68 @\d+$/m, "'h' written to THR by the guest's 8250 driver");
    assert.match(text, /^dev0\.0 R 0 0x6f @\d+$/m, "'o' read back from RBR");
    assert.match(text, /^# dev0 set_irqs flags=0x24 index=0 /m, 'QEMU bound the INTx eventfd');
    assert.match(text, /^# dev0 intx signalled @\d+$/m, 'interrupts raised are recorded');
    assert.match(text, /^# dev0 cfg R 0xfc\/[24] 0x0+ /m, 'QEMU read the last config bytes (as zeros)');
    const r = spawnSync(process.execPath, [MTTY_BIN, 'replay', '--check', recording], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /dev0\.0: OK, \d+ accesses/);
    assert.match(r.stdout, /dev0\.1: OK, \d+ accesses/);
    if (process.env.MTTY_VM_SAVE_RECORDING) copyFileSync(recording, process.env.MTTY_VM_SAVE_RECORDING);
  });

  async function loopChecks(dev: ProbeLine[], profile: string): Promise<void> {
    const irq = dev[0]!.irq;
    const before = await interruptCount(vm, irq);
    const runs = [];
    for (const size of [11, 4096]) for (const p of dev) runs.push(...(await loopback(vm, size, [p.tty])));
    for (const size of [11, 4096, 65536]) runs.push(...(await loopback(vm, size, dev.map((p) => p.tty))));
    for (const r of runs) {
      assert.is(r.recv, r.sent, `${r.dev}: ${r.sent} sent, ${r.recv} back`);
      assert.is(r.lost, 0);
      assert.is(r.bad, 0, `${r.dev}: ${r.bad} bytes came back changed`);
      assert.is(r.sumRx, r.sumTx);
    }
    const big = runs.filter((r) => r.sent === 65536);
    assert.is(big.length, 2, '64 KiB through each port');
    throughput.push({ label: `${profile}, both ports at once`, ttys: dev.map((p) => p.tty), bytesEach: 65536, bytesPerSecond: big.map((r) => r.bytesPerSecond), ms: Math.max(...big.map((r) => r.ms)) });
    const after = await interruptCount(vm, irq);
    assert.ok(after > before, `IRQ ${irq} count rose (${before} -> ${after})`);
    for (const p of dev) {
      const d = await driverSerial(vm, p.tty);
      assert.ok(d.tx >= 11 + 4096 + 11 + 4096 + 65536 && d.rx === d.tx, d.line);
    }
  }

  test('loopback through real interrupts (pc16550d): 11 B and 4 KiB per port, 11 B/4 KiB/64 KiB on both at once; checksums equal, 0 lost', async () => {
    await loopChecks(A, 'pc16550d');
  });

  test('--profile mtty (the kernel sample\'s UART) passes the same loopback', async () => {
    await loopChecks(B, 'mtty');
  });

  test('hot-plug through QMP device_add into the running guest, loopback on it, then device_del', async () => {
    const hot = await startMttyAttach({ uuid: '6e2a3b4c-0000-4000-8000-00000000000c', socket: join(dir, 'hot.sock'), type: 'mtty-1' });
    servers.push(hot);
    await vm.qmp.execute('device_add', { driver: 'vfio-user-pci', id: 'hot0', socket: { path: hot.socket, type: 'unix' } });
    const bdf = await bdfOf(vm, 'hot0');
    let lines: ProbeLine[] = [];
    for (const until = Date.now() + 60_000; lines.length === 0 && Date.now() < until; ) {
      lines = (await probeLines(vm)).filter((l) => l.bdf === bdf);
      if (lines.length === 0) await new Promise((r) => setTimeout(r, 1000));
    }
    assert.is(lines.length, 1, 'an mtty-1 has one port');
    assert.is(lines[0]!.uart, '16550A');
    const [r] = await loopback(vm, 4096, [lines[0]!.tty]);
    assert.equal([r!.recv, r!.bad, r!.sumRx], [4096, 0, r!.sumTx]);

    const from = vm.qmp.events.length;
    await vm.qmp.execute('device_del', { id: 'hot0' });
    await vm.qmp.waitEvent('DEVICE_DELETED', 60_000, from);
    const left = await pciFunctions(vm);
    assert.not.ok(left.some((f) => f.bdf === bdf), 'the function is gone from the guest');
    await hot.waitFor(() => hot.err.includes('client disconnected'), 'the server sees QEMU let go');
    // The devices that stayed keep working.
    const [again] = await loopback(vm, 11, [A[0]!.tty]);
    assert.equal([again!.recv, again!.sumRx], [11, again!.sumTx]);
    assert.equal(qemuErrorLines(vm.stderr), [], vm.stderr);
  });

  test('report: inb latency (ours, the C reference server, QEMU pci-serial) in this boot, and the 64 KiB loopback throughput measured above', async () => {
    const fns = await pciFunctions(vm);
    const targets: InbTarget[] = [{ name: 'mtty (ours, pc16550d) SCR', port: A[0]!.io + 7 }];
    const ref = fns.find((f) => f.vendor === 0x494f && f.device === 0x0dc8);
    if (ref) targets.push({ name: 'libvfio-user gpio-pci-idio-16', port: ref.bars[2]! + 1 });
    const ps = fns.find((f) => f.vendor === 0x1b36 && f.device === 0x0002);
    if (ps) targets.push({ name: 'QEMU pci-serial SCR', port: ps.bars[0]! + 7 });
    const inb = await measureInb(vm, targets, { rounds: 3, perRound: 1000 });
    for (const f of inb) assert.ok(f.p50Ns > 0 && f.rounds.length === 3);
    console.log('\n' + formatFigures(inb, throughput, `${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, Node ${process.versions.node}, QEMU ${env.qemuVersion}`));
  });
}

test.run();
