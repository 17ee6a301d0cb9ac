/**
 * `mtty console` end to end without the real daemon: a small JSON-lines
 * server registers the host ops exactly as the daemon would (hostOps with a
 * device lookup), the console asks it for a pty and, with a non-TTY stdin,
 * works line by line. Also covers the control ops' argument errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { commands, filterKeys } from '../src/cli/console.js';
import { isMttyError, MttyError } from '../src/errors/errno.js';
import { hostOps } from '../src/host/control-op.js';
import { HostRegistry } from '../src/host/registry.js';
import { Uart } from '../src/uart/index.js';

const RBR = 0, THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, LSR = 5;

/** Interrupt-driven echo, as in host-pty.test.ts (the guest's RX ISR writing each byte back). */
function echoGuest(uart: Uart): void {
  uart.write(LCR, 0x03);
  uart.write(FCR, 0x01);
  uart.write(IER, 0x01);
  uart.onIrqLine = (level) => {
    if (level)
      setImmediate(() => {
        while (!(uart.read(IIR) & 1)) while (uart.read(LSR) & 1) uart.write(THR, uart.read(RBR));
      });
  };
}

async function fakeDaemon(socket: string, ops: Record<string, (a: unknown) => Promise<unknown>>): Promise<net.Server> {
  const server = net.createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const req = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        const op = ops[req.op];
        const p = op ? op(req.args) : Promise.reject(new MttyError('EOPNOTSUPP', `no op ${req.op}`));
        p.then(
          (result) => c.write(JSON.stringify({ id: req.id, ok: true, result }) + '\n'),
          (e) => c.write(JSON.stringify({ id: req.id, ok: false, error: isMttyError(e) ? e.toJSON() : { code: 'EIO', message: String(e) } }) + '\n'),
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return server;
}

async function until(cond: () => boolean, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

test('console attaches a pty through host.attach, round-trips a line through the UART, detaches on end of input', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtty-console-'));
  const socket = path.join(dir, 'control.sock');
  const ports = [{ uart: Uart.create({ profile: 'pc16550d' }) }, { uart: Uart.create({ profile: 'pc16550d' }) }];
  echoGuest(ports[1]!.uart);
  const registry = new HostRegistry();
  const server = await fakeDaemon(socket, hostOps((u) => (u === UUID ? { ports } : undefined), registry));
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  try {
    const done = commands.console!.run([UUID, '--port', '1', '--socket', socket], { stdin, stdout, stderr });
    await until(() => err.includes('Line mode'), 'banner');
    assert.match(err, /port 1 on \/dev\/pts\/\d+/);
    assert.is(ports[1]!.uart.wiring, 'host');
    assert.is(registry.status(UUID, 1)[0]!.kind, 'pty');
    stdin.write('hello console\n');
    await until(() => out.includes('hello console\r'), 'echo back from the guest');
    stdin.end();
    assert.is(await done, 0);
    assert.is(ports[1]!.uart.wiring, 'loopback', 'console exit put the port back on loopback');
    assert.equal(registry.status(), []);
  } finally {
    await registry.closeAll();
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a console that quit leaves no listener on stdin: a second console on the same stdin gets each line once', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtty-console-'));
  const socket = path.join(dir, 'control.sock');
  const ports = [{ uart: Uart.create({ profile: 'pc16550d' }) }];
  const rx: number[] = [];
  const uart = ports[0]!.uart;
  uart.write(LCR, 0x03);
  uart.write(FCR, 0x01);
  uart.write(IER, 0x01);
  uart.onIrqLine = (level) => {
    if (level) setImmediate(() => { while (uart.read(LSR) & 1) rx.push(uart.read(RBR)); });
  };
  const registry = new HostRegistry();
  const server = await fakeDaemon(socket, hostOps((u) => (u === UUID ? { ports } : undefined), registry));
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d) => (err += d));
  const listeners = () => stdin.listenerCount('data') + stdin.listenerCount('end');
  const before = listeners();
  try {
    const io = { stdin, stdout, stderr };
    const first = commands.console!.run([UUID, '--socket', socket], io);
    await until(() => err.includes('Line mode'), 'first banner');
    stdin.write('\x01x'); // Ctrl-A X
    assert.is(await first, 0);
    assert.is(listeners(), before, 'the first console removed its stdin listeners');
    err = '';
    const second = commands.console!.run([UUID, '--socket', socket], io);
    await until(() => err.includes('Line mode'), 'second banner');
    stdin.write('once\n');
    await until(() => Buffer.from(rx).toString('latin1').includes('once\r'), 'the line reaches the guest');
    await new Promise((r) => setTimeout(r, 100));
    assert.is(Buffer.from(rx).toString('latin1'), 'once\r', 'each typed line arrives once');
    stdin.end();
    assert.is(await second, 0);
  } finally {
    await registry.closeAll();
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('interactive console in tmux: banner, raw keys echoed through the UART, Ctrl-A X exits and detaches', async () => {
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtty-console-tty-'));
  const socket = path.join(dir, 'control.sock');
  const ports = [{ uart: Uart.create({ profile: 'pc16550d' }) }];
  echoGuest(ports[0]!.uart);
  const registry = new HostRegistry();
  const server = await fakeDaemon(socket, hostOps((u) => (u === UUID ? { ports } : undefined), registry));
  // The console runs as its own process on a real terminal (tmux), as a user would run it.
  const script = path.join(dir, 'console.mjs');
  const consoleJs = new URL('../src/cli/console.js', import.meta.url).href;
  await fs.writeFile(
    script,
    `const { commands } = await import(${JSON.stringify(consoleJs)});\n` +
      `const code = await commands.console.run(process.argv.slice(2), process);\n` +
      `process.exit(code);\n`,
  );
  const tmuxSocket = `mtty-console-test-${tag}`;
  const session = `console-${tag}`;
  const tmux = promisify(execFile).bind(null, 'tmux') as unknown as (args: string[]) => Promise<{ stdout: string }>;
  const t = (...args: string[]) => tmux(['-L', tmuxSocket, ...args]);
  const screen = () => t('capture-pane', '-p', '-t', session).then((r) => r.stdout);
  const waitScreen = async (re: RegExp, what: string) => {
    for (let i = 0; i < 200; i++) {
      const s = await screen();
      if (re.test(s)) return s;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`gave up waiting for ${what}: ${await screen()}`);
  };
  try {
    await t('new-session', '-d', '-s', session, '-x', '100', '-y', '20', `${process.execPath} ${script} ${UUID} --socket ${socket}`);
    await t('set-option', '-t', session, 'remain-on-exit', 'on');
    await waitScreen(/Press Ctrl-A X to exit/, 'banner');
    assert.is(ports[0]!.uart.wiring, 'host');
    await t('send-keys', '-t', session, '-l', 'typed in raw mode');
    await waitScreen(/typed in raw mode/, 'echo through the UART');
    await t('send-keys', '-t', session, 'C-a', 'x');
    await waitScreen(/bye/, 'console exit');
    await until(() => ports[0]!.uart.wiring === 'loopback', 'port back on loopback');
    assert.equal(registry.status(), []);
  } finally {
    await t('kill-server').catch(() => undefined);
    await registry.closeAll();
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('console without a daemon fails with ENOENT, and bad usage is a UsageError', async () => {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  try {
    await commands.console!.run([UUID, '--socket', '/nonexistent/control.sock'], io);
    assert.unreachable('connected to nothing');
  } catch (e) {
    assert.is((e as MttyError).code, 'ENOENT');
  }
  for (const argv of [[], [UUID, '--port'], [UUID, '--port', 'x'], [UUID, '--bogus'], [UUID, 'extra']]) {
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

test('host ops: argument errors carry kernel errnos', async () => {
  const ports = [{ uart: Uart.create({ profile: 'pc16550d' }) }];
  const ops = hostOps((u) => (u === UUID ? { ports } : undefined), new HostRegistry());
  const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: MttyError) => e.code);
  assert.is(await code(ops['host.attach']!({ uuid: UUID, port: 0, spec: 'bogus' })), 'EINVAL');
  assert.is(await code(ops['host.attach']!({ uuid: UUID, port: 0 })), 'EINVAL');
  assert.is(await code(ops['host.attach']!({ uuid: UUID, port: 5, spec: 'loopback' })), 'EINVAL');
  assert.is(await code(ops['host.attach']!({ uuid: 'nope', port: 0, spec: 'loopback' })), 'ENODEV');
  assert.is(await code(ops['host.attach']!(null)), 'EINVAL');
  assert.is(await code(ops['host.attach']!({ uuid: UUID, spec: 'loopback' })), 'ok');
  assert.is(ports[0]!.uart.wiring, 'loopback');
  assert.is(await code(ops['host.status']!({})), 'ok');
  assert.is(await code(ops['host.detach']!({ uuid: UUID })), 'ok');
});

test.run();
