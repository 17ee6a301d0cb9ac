/**
 * `mtty console` against the real daemon (startDaemon on a private socket).
 * Default: the user is the guest's terminal - the daemon's guest model opens
 * /dev/ttyS1 with its 8250 driver and typed text loops back through THR, the
 * loopback and IRQ-driven RBR reads, with interrupts counted (kernel doc steps
 * 6-7). `--host-end`: a pty on the port's host line, locked like any line.
 * Interactive runs are in tmux, as a user would type.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { commands, filterKeys } from '../src/cli/console.js';
import { SocketClient, startDaemon, type Daemon, type PortLineStatus } from '../src/control/index.js';
import { MttyError } from '../src/errors/errno.js';

async function until(cond: () => boolean | Promise<boolean>, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

async function withDaemon(fn: (d: { daemon: Daemon; socket: string; c: SocketClient; dir: string }) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtty-console-'));
  const socket = path.join(dir, 'run', 'control.sock');
  const daemon = await startDaemon({ socketPath: socket, configDir: path.join(dir, 'cfg'), autostart: false });
  const c = await SocketClient.connect(socket);
  try {
    await c.call('create', { type: 'mtty-2', uuid: UUID });
    await fn({ daemon, socket, c, dir });
  } finally {
    await c.close();
    await daemon.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function pipes() {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  const seen = { out: '', err: '' };
  io.stdout.on('data', (d) => (seen.out += d));
  io.stderr.on('data', (d) => (seen.err += d));
  return { io, seen };
}

test("console (default): the user is the guest's ttyS1; a typed line loops back through the guest's 8250 driver, interrupts counted", async () => {
  await withDaemon(async ({ socket, c, daemon }) => {
    const { io, seen } = pipes();
    const done = commands.console!.run([UUID, '--socket', socket], io);
    await until(() => seen.err.includes('Line mode'), 'banner');
    assert.match(seen.err, /you are the guest's terminal on \/dev\/ttyS1 \(port 0 of 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001, I\/O 0xc150, IRQ 10\)/);
    assert.match(seen.err, /9600 8N1 as the guest's 8250 driver programmed the UART; the host end loops back/);
    const opened = await c.call<{ openedBy: string | null }>('device', { uuid: UUID });
    assert.match(opened.openedBy ?? '', /guest model \(mtty console\)/, 'the guest holds the device like a VMM would');
    io.stdin.end('hello console\n');
    assert.is(await done, 0);
    assert.ok(seen.out.includes('hello console\r'), `echo came back: ${JSON.stringify(seen.out)}`);
    const m = /typed (\d+) character\(s\), the guest's driver sent (\d+) and received (\d+) with (\d+) interrupt\(s\) on IRQ 10 \(INTx signalled (\d+)/.exec(seen.err);
    assert.ok(m, seen.err);
    assert.equal([m![1], m![2], m![3]], ['14', '14', '14']);
    assert.ok(Number(m![4]) > 0 && Number(m![5]) > 0, 'the bytes came back through interrupts');
    assert.is((await c.call<{ openedBy: string | null }>('device', { uuid: UUID })).openedBy, null, 'the guest let go of the device');
    // The guest booted once: its BIOS placed BAR0 and the interrupt line, as in a real VM; views now show that.
    const cfg = daemon.service.mtty.device(UUID)!.vendor.config;
    assert.is(cfg.read(0x10, 4), 0xc151);
    assert.is(cfg.read(0x3c, 1), 10);
  });
});

test('a console that quit leaves no listener on stdin: a second console on the same stdin gets each line once', async () => {
  await withDaemon(async ({ socket }) => {
    const { io, seen } = pipes();
    const listeners = () => io.stdin.listenerCount('data') + io.stdin.listenerCount('end');
    const before = listeners();
    const first = commands.console!.run([UUID, '--socket', socket], io);
    await until(() => seen.err.includes('Line mode'), 'first banner');
    io.stdin.write('\x01x'); // Ctrl-A X
    assert.is(await first, 0);
    assert.is(listeners(), before, 'the first console removed its stdin listeners');
    seen.err = '';
    seen.out = '';
    const second = commands.console!.run([UUID, '--socket', socket, '--port', '1'], io);
    await until(() => seen.err.includes('Line mode'), 'second banner');
    assert.match(seen.err, /\/dev\/ttyS2 \(port 1/);
    io.stdin.write('once\n');
    await until(() => seen.out.includes('once\r'), 'the line comes back');
    await new Promise((r) => setTimeout(r, 100));
    assert.is(seen.out, 'once\r', 'each typed line arrives once');
    io.stdin.end();
    assert.is(await second, 0);
  });
});

test('interactive guest console in tmux: raw keys loop back through the guest, Ctrl-A X exits with the counts', async () => {
  await withDaemon(async ({ socket, dir, c }) => {
    const tag = `${process.pid}-${Date.now().toString(36)}`;
    const script = path.join(dir, 'console.mjs');
    const mainJs = new URL('../src/cli/main.js', import.meta.url).href;
    await fs.writeFile(
      script,
      `const { main } = await import(${JSON.stringify(mainJs)});\n` +
        `process.exitCode = await main(process.argv.slice(2), process);\n`,
    );
    const tmuxSocket = `mtty-console-test-${tag}`;
    const session = `console-${tag}`;
    const t = (...args: string[]) => promisify(execFile)('tmux', ['-L', tmuxSocket, ...args]);
    const screen = () => t('capture-pane', '-p', '-t', session).then((r) => r.stdout);
    const waitScreen = async (re: RegExp, what: string) => {
      for (let i = 0; i < 300; i++) {
        const s = await screen();
        if (re.test(s)) return s;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`gave up waiting for ${what}: ${await screen()}`);
    };
    try {
      await t('new-session', '-d', '-s', session, '-x', '160', '-y', '20', `${process.execPath} ${script} console ${UUID} --socket ${socket} --baud 115200`);
      await t('set-option', '-t', session, 'remain-on-exit', 'on');
      await waitScreen(/Press Ctrl-A X to exit/, 'banner');
      assert.match(await screen(), /115200 8N1 as the guest's 8250 driver programmed the UART/);
      await t('send-keys', '-t', session, '-l', 'typed in raw mode');
      await waitScreen(/typed in raw mode/, 'echo through the guest and the UART');
      await t('send-keys', '-t', session, 'C-a', 'x');
      const s = await waitScreen(/bye/, 'console exit');
      assert.match(s.replace(/\n/g, ''), /typed 17 character\(s\), the guest's driver sent 17 and received 17 with \d+ interrupt/);
      await until(async () => (await c.call<{ openedBy: string | null }>('device', { uuid: UUID })).openedBy === null, 'guest closed');
    } finally {
      await t('kill-server').catch(() => undefined);
    }
  });
});

test('a console killed with SIGKILL: the daemon notices the closed connection and shuts its guest down', async () => {
  await withDaemon(async ({ socket, c, dir }) => {
    const script = path.join(dir, 'console.mjs');
    const mainJs = new URL('../src/cli/main.js', import.meta.url).href;
    await fs.writeFile(script, `const { main } = await import(${JSON.stringify(mainJs)});\nprocess.exitCode = await main(process.argv.slice(2), process);\n`);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [script, 'console', UUID, '--socket', socket], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    await until(() => err.includes('Line mode'), 'banner from the child');
    assert.match((await c.call<{ openedBy: string | null }>('device', { uuid: UUID })).openedBy ?? '', /mtty console/);
    child.kill('SIGKILL');
    await until(async () => (await c.call<{ openedBy: string | null }>('device', { uuid: UUID })).openedBy === null, 'the guest let go');
    // The port is free for the next console.
    const { io, seen } = pipes();
    const again = commands.console!.run([UUID, '--socket', socket], io);
    await until(() => seen.err.includes('Line mode'), 'second console');
    io.stdin.end('ok\n');
    assert.is(await again, 0);
    assert.ok(seen.out.includes('ok\r'));
  });
});

test('console --host-end: refused (EBUSY, naming the holder) on a held line; --force borrows it and gives it back', async () => {
  await withDaemon(async ({ socket, c, dir }) => {
    const link = path.join(dir, 'ttyHELD');
    const held = await c.call<PortLineStatus>('host.attach', { uuid: UUID, port: 0, spec: `pty:${link}`, holder: 'picocom user' });
    const { io, seen } = pipes();
    try {
      await commands.console!.run([UUID, '--socket', socket, '--host-end'], io);
      assert.unreachable('took a held line');
    } catch (e) {
      assert.is((e as MttyError).code, 'EBUSY');
      assert.match((e as MttyError).message, /held by pty:.*ttyHELD \(picocom user/);
    }
    const still = (await c.call<PortLineStatus[]>('host.status', { uuid: UUID, port: 0 }))[0]!;
    assert.equal([still.spec, still.lease], [held.spec, held.lease], 'the holder keeps its line');
    // FIFO on, so the whole line fits before the guest reads (in 16450 mode the line holds one byte).
    await c.call('reg.write', { uuid: UUID, port: 0, reg: 2, value: 0x01 });
    const forced = commands.console!.run([UUID, '--socket', socket, '--host-end', '--force'], io);
    await until(() => seen.err.includes('Line mode'), 'banner');
    assert.match(seen.err, /you are the host end of port 0/);
    assert.match(seen.err, /took the line from pty:.*ttyHELD, held by picocom user; it is put back on exit/);
    io.stdin.end('AT\n');
    assert.is(await forced, 0);
    // The guest side received the line (Enter as CR): read it back through the registers.
    let got = '';
    for (let i = 0; i < 3; i++) got += String.fromCharCode((await c.call<{ value: number }>('reg.read', { uuid: UUID, port: 0, reg: 0 })).value);
    assert.is(got, 'AT\r');
    const back = (await c.call<PortLineStatus[]>('host.status', { uuid: UUID, port: 0 }))[0]!;
    assert.equal([back.spec, back.holder, back.state], [held.spec, 'picocom user', 'connected'], 'not left on loopback');
    assert.match(seen.err, /back on pty:/);
  });
});

test('console --host-end --force killed with SIGKILL: the daemon gives the borrowed line back', async () => {
  await withDaemon(async ({ socket, c, dir }) => {
    const link = path.join(dir, 'ttyLENT');
    await c.call('host.attach', { uuid: UUID, port: 1, spec: `pty:${link}`, holder: 'minicom user' });
    const script = path.join(dir, 'console.mjs');
    const mainJs = new URL('../src/cli/main.js', import.meta.url).href;
    await fs.writeFile(script, `const { main } = await import(${JSON.stringify(mainJs)});\nprocess.exitCode = await main(process.argv.slice(2), process);\n`);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [script, 'console', UUID, '--port', '1', '--host-end', '--force', '--socket', socket], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    await until(() => err.includes('Line mode'), 'banner from the child');
    assert.match((await c.call<PortLineStatus[]>('host.status', { uuid: UUID, port: 1 }))[0]!.holder ?? '', /mtty console/);
    child.kill('SIGKILL');
    await until(async () => (await c.call<PortLineStatus[]>('host.status', { uuid: UUID, port: 1 }))[0]!.holder === 'minicom user', 'line given back');
    const st = (await c.call<PortLineStatus[]>('host.status', { uuid: UUID, port: 1 }))[0]!;
    assert.equal([st.spec, st.state, st.link], [`pty:${link}`, 'connected', link]);
  });
});

test('console --host-end on a free line returns it to loopback on exit', async () => {
  await withDaemon(async ({ socket, c }) => {
    const { io, seen } = pipes();
    const done = commands.console!.run([UUID, '--socket', socket, '--host-end', '--port', '1'], io);
    await until(() => seen.err.includes('Line mode'), 'banner');
    assert.is((await c.call<PortLineStatus[]>('host.status', { uuid: UUID, port: 1 }))[0]!.kind, 'pty');
    io.stdin.end();
    assert.is(await done, 0);
    assert.equal(await c.call('host.status', {}), [], 'no line held');
  });
});

test('console without a daemon fails with ENOENT, and bad usage is a UsageError', async () => {
  const { io } = pipes();
  try {
    await commands.console!.run([UUID, '--socket', '/nonexistent/control.sock'], io);
    assert.unreachable('connected to nothing');
  } catch (e) {
    assert.is((e as MttyError).code, 'ENOENT');
  }
  for (const argv of [[], [UUID, '--port'], [UUID, '--port', 'x'], [UUID, '--bogus'], [UUID, 'extra'], [UUID, '--force'], [UUID, '--host-end', '--baud', '9600']]) {
    await commands.console!.run(argv, io).then(
      () => assert.unreachable(`accepted ${argv.join(' ')}`),
      (e: Error) => assert.is(e.name, 'UsageError', argv.join(' ')),
    );
  }
});

test('Ctrl-A X quits, Ctrl-A Ctrl-A sends Ctrl-A, split across chunks', () => {
  const st = { pending: false };
  assert.equal(filterKeys(Buffer.from('ab\x01'), st), { send: Uint8Array.from([0x61, 0x62]), quit: false });
  assert.equal(filterKeys(Buffer.from('\x01c'), st), { send: Uint8Array.from([0x01, 0x63]), quit: false });
  assert.equal(filterKeys(Buffer.from('d\x01x'), st), { send: Uint8Array.from([0x64]), quit: true });
});

test('host and console ops: argument errors carry kernel errnos, and nothing changes', async () => {
  await withDaemon(async ({ c, daemon }) => {
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: MttyError) => e.code);
    assert.is(await code(c.call('host.attach', { uuid: UUID, port: 0, spec: 'bogus' })), 'EINVAL');
    assert.is(await code(c.call('host.attach', { uuid: UUID, port: 0 })), 'EINVAL');
    assert.is(await code(c.call('host.attach', { uuid: UUID, port: 5, spec: 'loopback' })), 'EINVAL');
    assert.is(await code(c.call('host.attach', { uuid: 'nope', port: 0, spec: 'loopback' })), 'EINVAL');
    assert.is(await code(c.call('host.attach', { uuid: '83b8f4f2-509f-382f-3c1e-e6bfe0fa1999', port: 0, spec: 'pty' })), 'ENODEV');
    assert.is(await code(c.call('host.attach', { uuid: UUID, spec: 'loopback' })), 'ok');
    assert.is(await code(c.call('host.detach', { uuid: UUID })), 'ok');
    assert.is(await code(c.call('console.open', { uuid: UUID, port: 2 })), 'EINVAL');
    assert.is(await code(c.call('console.open', { uuid: UUID, baud: 3 })), 'EINVAL');
    assert.is(await code(c.call('console.close', { uuid: UUID, port: 0 })), 'ENOENT');
    assert.equal(await c.call('host.status', {}), []);
    assert.is((await c.call<{ openedBy: string | null }>('device', { uuid: UUID })).openedBy, null, 'a failed console.open closed its guest');
    // A VMM holds the device: the console's guest cannot boot on it, and says who has it.
    const vmm = daemon.service.mtty.device(UUID)!.open('QEMU (pid 4242)');
    try {
      const e = await c.call('console.open', { uuid: UUID }).then(() => null, (x: MttyError) => x);
      assert.is(e?.code, 'EBUSY');
      assert.match(e!.message, /already open by QEMU \(pid 4242\)/);
      assert.is(daemon.service.mtty.device(UUID)!.vendor.config.read(0x10, 4), 1, 'nothing was programmed');
    } finally {
      vmm.close();
    }
  });
});

test.run();
