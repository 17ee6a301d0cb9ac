/**
 * A real guest's life around one `mtty attach` server (issue 10 part 2):
 *   boot 1: a 64 KiB transfer runs; QEMU is SIGKILLed by PID in the middle;
 *   boot 2: a new QEMU on the same server probes and loops back as before;
 *           a second QEMU on the now busy socket is refused cleanly and the
 *           first keeps working; then our server is SIGKILLed while QEMU
 *           runs, and what QEMU does is checked and printed (docs/vfio-user.md
 *           "Real guest").
 * Skipped, with one printed line, when no suitable QEMU is found.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bdfOf, loopback, probeLines, qemuErrorLines, timeInb, type ProbeLine } from './support/vm/guest-checks.js';
import { GuestVm, vfioUserDeviceArg } from './support/vm/guest-vm.js';
import { startMttyAttach, type ServerProcess } from './support/vm/servers.js';
import { vmEnvironment } from './support/vm/vm-env.js';

const env = vmEnvironment();

if (env) {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vm-life-'));
  let server: ServerProcess;
  let vm: GuestVm | undefined;
  let ports: ProbeLine[] = [];

  async function bootOn(socket: string): Promise<GuestVm> {
    const g = await GuestVm.boot({ qemu: env!.qemu, image: env!.image, devices: [{ id: 'mtty0', socket }] });
    const bdf = await bdfOf(g, 'mtty0');
    ports = (await probeLines(g)).filter((l) => l.bdf === bdf);
    return g;
  }

  test.before(async () => {
    server = await startMttyAttach({ uuid: '6e2a3b4c-0000-4000-8000-0000000000f1', socket: join(dir, 'life.sock') });
  });

  test.after(async () => {
    await vm?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('QEMU SIGKILLed (by PID) mid-transfer: the server sees the client go and keeps serving', async () => {
    vm = await bootOn(server.socket);
    assert.is(ports.length, 2);
    vm.send(`mtty-guest-tool loop 65536 /dev/${ports[0]!.tty} /dev/${ports[1]!.tty}`);
    await new Promise((r) => setTimeout(r, 3000)); // well inside the ~20 s the transfer takes
    assert.is(vm.exitStatus, null, 'QEMU still running when killed');
    const connectedBefore = (server.err.match(/client connected/g) ?? []).length;
    process.kill(vm.pid, 'SIGKILL');
    const st = await vm.waitExit();
    assert.is(st.signal, 'SIGKILL');
    await vm.close();
    vm = undefined;
    await server.waitFor(() => server.err.includes('client disconnected'), 'disconnect logged');
    assert.is(server.exitStatus, null, 'the server process lives on');
    assert.is(connectedBefore, 1);
  });

  test('a new QEMU on the same server probes both ports and loops back 4 KiB each, nothing lost', async () => {
    vm = await bootOn(server.socket);
    assert.equal(ports.map((p) => p.uart), ['16550A', '16550A']);
    const rs = await loopback(vm, 4096, ports.map((p) => p.tty));
    for (const r of rs) assert.equal([r.recv, r.lost, r.bad, r.sumRx], [4096, 0, 0, r.sumTx], r.dev);
    assert.equal(qemuErrorLines(vm.stderr), [], vm.stderr);
  });

  test('a second QEMU on the busy socket is refused (EBUSY at VERSION, QEMU exits 1); the first keeps working', async () => {
    const q = spawn(env!.qemu, ['-nodefaults', '-no-user-config', '-display', 'none', '-machine', 'pc', '-accel', 'tcg', '-S', '-device', vfioUserDeviceArg({ id: 'x', socket: server.socket })], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    q.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => q.kill('SIGKILL'), 60_000);
      q.on('exit', (c) => (clearTimeout(t), resolve(c)));
    });
    assert.is(code, 1, err);
    assert.match(err, /Device or resource busy/);
    await server.waitFor(() => /busy|refus/i.test(server.err), 'the server logs the refusal');
    const [r] = await loopback(vm!, 11, [ports[0]!.tty]);
    assert.equal([r!.recv, r!.sumRx], [11, r!.sumTx]);
  });

  // QEMU's vCPU thread sends each request itself (we do not announce write_multiple, see
  // src/vfio-user/version.ts), so with the server gone its sendmsg fails with EPIPE at
  // once; the access completes reading 0xff instead of waiting out QEMU's 5 s reply timeout.
  test('our server SIGKILLed under a running QEMU: each port access fails at once (EPIPE on QEMU\'s send) and reads 0xff; QEMU and the guest live on', async () => {
    const g = vm!;
    const port = ports[0]!.io + 7;
    const normal = await timeInb(g, port, 10);
    server.kill('SIGKILL');
    await server.exited;
    const stalls: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await timeInb(g, port, 1, 120_000);
      assert.is(r.last, 0xff, 'a failed access reads all ones, as a master abort would');
      stalls.push(r.p50Ns);
    }
    assert.match(g.stderr, /vfio_user_device_io_region_read: Unable to write to socket: Broken pipe/);
    assert.not.match(g.stderr, /timed out waiting for reply/, 'no access waited for the reply timeout');
    assert.is(g.exitStatus, null, 'QEMU keeps running without its device server');
    assert.match((await g.ok('echo still-here')), /still-here/);
    console.log(
      `\nour server killed under QEMU ${env!.qemuVersion}: an inb took ${(normal.p50Ns / 1000).toFixed(1)} us before, ` +
        `${stalls.map((n) => (n / 1e9).toFixed(2) + ' s').join(' and ')} after (guest clock), each reading 0xff; QEMU stderr:\n  ` +
        g.stderr.trim().split('\n').slice(-2).join('\n  '),
    );
  });
}

test.run();
