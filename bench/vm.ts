/**
 * `npm run bench -- vm`: in-guest figures (issue 10 part 3) on a real QEMU
 * (TCG) + Linux 6.1 boot, through test/support/vm: guest `inb` p50 on an mtty
 * port served by `mtty attach`, on libvfio-user's C sample server
 * (gpio-pci-idio-16, BAR2 offset 1) and on QEMU's own pci-serial, all in the
 * SAME boot, interleaved in rounds; and 64 KiB loopback throughput.
 * MTTY_VFU_BASELINE = a built checkout of an older mtty: its `mtty attach`
 * is a fourth device in the same boot, in the same rounds ("before").
 * Only run when named (it boots a VM: about a minute and a half).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow, BenchSection } from './run.js';
import { bdfOf, pciFunctions, probeLines } from '../test/support/vm/guest-checks.js';
import { GuestVm } from '../test/support/vm/guest-vm.js';
import { formatFigures, measureInb, measureLoopback, roundRatios } from '../test/support/vm/figures.js';
import { startMttyAttach, startRefServer, type ServerProcess } from '../test/support/vm/servers.js';
import { vmEnvironment } from '../test/support/vm/vm-env.js';
import { machine } from './run.js';

export const vmSection: BenchSection = {
  name: 'vm',
  description: 'real guest (QEMU TCG, Linux 6.1): inb p50 ours vs the C reference server and QEMU pci-serial in one boot; 64 KiB loopback',
  async run(log) {
    const env = vmEnvironment(log);
    if (!env) return [];
    const dir = mkdtempSync(join(tmpdir(), 'mtty-bench-vm-'));
    const servers: ServerProcess[] = [];
    let vm: GuestVm | undefined;
    try {
      const a = await startMttyAttach({ uuid: '6e2a3b4c-0000-4000-8000-0000000000b1', socket: join(dir, 'a.sock') });
      servers.push(a);
      const ref = await startRefServer(join(dir, 'ref.sock'));
      if (!ref) throw new Error('the reference server (shared/vfio-user-ref) is missing: set MTTY_VFIO_USER_REF');
      servers.push(ref);
      const baseDir = process.env.MTTY_VFU_BASELINE;
      const base = baseDir ? await startMttyAttach({ uuid: '6e2a3b4c-0000-4000-8000-0000000000b2', socket: join(dir, 'base.sock'), bin: join(baseDir, 'bin/mtty.js') }) : null;
      if (base) servers.push(base);
      const devices = [{ id: 'mtty0', socket: a.socket }, { id: 'ref0', socket: ref.socket }];
      if (base) devices.push({ id: 'base0', socket: base.socket });
      vm = await GuestVm.boot({ qemu: env.qemu, image: env.image, pciSerial: true, devices });
      const bdf = await bdfOf(vm, 'mtty0');
      const ports = (await probeLines(vm)).filter((l) => l.bdf === bdf);
      const fns = await pciFunctions(vm);
      const refFn = fns.find((f) => f.vendor === 0x494f)!;
      const ps = fns.find((f) => f.vendor === 0x1b36 && f.device === 0x0002)!;
      const targets = [
        { name: 'mtty (ours) SCR', port: ports[0]!.io + 7 },
        { name: 'libvfio-user gpio-pci-idio-16', port: refFn.bars[2]! + 1 },
        { name: 'QEMU pci-serial SCR', port: ps.bars[0]! + 7 },
      ];
      if (base) {
        const baseBdf = await bdfOf(vm, 'base0');
        const basePort = (await probeLines(vm)).find((l) => l.bdf === baseBdf)!;
        targets.push({ name: 'mtty (baseline build) SCR', port: basePort.io + 7 });
      }
      const inb = await measureInb(vm, targets, { rounds: 7, perRound: 2000 });
      const tput = [await measureLoopback(vm, 'one port', [ports[0]!.tty]), await measureLoopback(vm, 'both ports at once', ports.map((p) => p.tty))];
      const m = machine();
      for (const l of formatFigures(inb, tput, `${m.cpu} x${m.cores}, Node ${m.node}, QEMU ${env.qemuVersion}`).split('\n')) log(l);
      const [ours, c, qemu, before] = inb;
      const rows: BenchRow[] = [
        { workload: 'guest inb p50 (ns): ours vs the C server', unit: 'ns', wasm: ours!.p50Ns, ts: c!.p50Ns, ratio: roundRatios(ours!, c!).median },
        { workload: 'guest inb p50 (ns): QEMU pci-serial vs the C server', unit: 'ns', wasm: qemu!.p50Ns, ts: c!.p50Ns, ratio: roundRatios(qemu!, c!).median },
      ];
      if (before) rows.push({ workload: 'guest inb p50 (ns): the baseline build vs the C server', unit: 'ns', wasm: before.p50Ns, ts: c!.p50Ns, ratio: roundRatios(before, c!).median });
      for (const t of tput) {
        const bps = Math.min(...t.bytesPerSecond);
        rows.push({ workload: `64 KiB loopback, ${t.label} (B/s per port) vs a 115200 8N1 line`, unit: 'B/s', wasm: bps, ts: 11520, ratio: bps / 11520 });
      }
      return rows;
    } finally {
      await vm?.close();
      for (const s of servers) await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
