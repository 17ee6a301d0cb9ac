/**
 * The pty back-end with a real terminal program: picocom runs in a detached
 * tmux session on the pty's stable link; keys typed into it travel pty ->
 * socat -> back-end -> RX FIFO of the wasm UART, a tiny interrupt-driven
 * guest echo sends them back through THR, and they appear on picocom's
 * screen (picocom has no local echo, so what we see came back through the
 * UART). Screen contents are polled with a bounded retry loop.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { closeSync, constants, openSync, promises as fs, readSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { attach, hostTestPort } from './support/host-port.js';
import type { HostEvent } from '../src/host/backend.js';
import { createBackend } from '../src/host/create.js';
import type { PtyBackend } from '../src/host/pty.js';
import { Uart } from '../src/uart/index.js';
import type { MttyPort } from '../src/mtty/port.js';

const run = promisify(execFile);
const RBR = 0, THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6;

/**
 * Stand-in for the guest's 8250 driver: on INTR, read IIR, and while LSR.DR
 * read RBR and write the byte back to THR, through the port (whose RBR reads
 * kick the back-end, as on a device). INTR is watched on the Uart itself.
 */
function echoGuest(uart: Uart, port: MttyPort) {
  const stats = { irqs: 0, echoed: 0 };
  port.write(LCR, 0x83); // 115200 8N1: divisor 1, the pace host bytes arrive at
  port.write(0, 1);
  port.write(1, 0);
  port.write(LCR, 0x03);
  port.write(FCR, 0x01); // FIFO, trigger 1
  port.write(MCR, 0x0b);
  port.write(IER, 0x05); // RX data + line status
  let scheduled = false;
  const service = () => {
    scheduled = false;
    for (;;) {
      const iir = port.read(IIR);
      if (iir & 0x01) break;
      const id = iir & 0x0e;
      if (id === 0x04 || id === 0x0c) {
        while (port.read(LSR) & 0x01) {
          port.write(THR, port.read(RBR));
          stats.echoed++;
        }
      } else if (id === 0x06) port.read(LSR);
      else if (id === 0x00) port.read(MSR);
    }
  };
  // The INTR callback runs inside a wasm call: handle the interrupt right after it, like a deferred ISR.
  uart.onIrqLine = (level) => {
    if (!level) return;
    stats.irqs++;
    if (!scheduled) {
      scheduled = true;
      setImmediate(service);
    }
  };
  return stats;
}

async function poll<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, tries = 200, everyMs = 25): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const tag = `${process.pid}-${Date.now().toString(36)}`;

test('picocom in tmux types into the pty and sees the text echoed by the guest through the wasm UART', async () => {
  const link = `/tmp/ttyMTTY-test-${tag}`;
  const tmuxSocket = `mtty-host-test-${tag}`;
  const session = `pty-${tag}`;
  const tmux = (...args: string[]) => run('tmux', ['-L', tmuxSocket, ...args]);
  const { uart, port } = hostTestPort();
  const backend = createBackend(`pty:${link}`) as PtyBackend;
  const att = await attach(port, backend);
  const stats = echoGuest(uart, port);
  try {
    assert.match(backend.ptyPath ?? '', /^\/dev\/pts\/\d+$/);
    assert.is(await fs.readlink(link), backend.ptyPath, 'stable link points at the pty');
    await tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '20', `picocom --nolock -b 115200 ${link}`);
    const screen = () => tmux('capture-pane', '-p', '-t', session).then((r) => r.stdout);
    await poll(async () => ((await screen()).includes('Terminal ready') ? true : undefined), 'picocom ready');
    await tmux('send-keys', '-t', session, '-l', 'hello mtty 16550A');
    const shown = await poll(async () => {
      const s = await screen();
      const after = s.slice(s.indexOf('Terminal ready'));
      return after.includes('hello mtty 16550A') ? after : undefined;
    }, 'echoed text on picocom screen');
    assert.ok(shown.includes('hello mtty 16550A'));
    assert.ok(stats.irqs > 0, 'guest reads were interrupt-driven');
    assert.is(stats.echoed, 'hello mtty 16550A'.length);
    assert.is(att.status().rxBytes, 'hello mtty 16550A'.length);
    assert.is(att.status().txBytes, 'hello mtty 16550A'.length);
    await tmux('send-keys', '-t', session, 'C-a', 'C-x'); // picocom's exit
  } finally {
    await tmux('kill-server').catch(() => undefined);
    await att.detach();
  }
  assert.is(uart.wiring, 'loopback');
  assert.not.ok(await fs.lstat(link).then(() => true, () => false), 'link removed at detach');
});

test('socat killed mid-transfer: disconnected event, modem inputs drop, TX counted, UART usable', async () => {
  const link = `/tmp/ttyMTTY-test-${tag}-kill`;
  const { uart, port } = hostTestPort();
  port.write(LCR, 0x03);
  port.write(IER, 0x08); // modem status interrupts
  const backend = createBackend(`pty:${link}`) as PtyBackend;
  const events: HostEvent[] = [];
  backend.onEvent((e) => events.push(e));
  const att = await attach(port, backend);
  port.read(MSR);
  for (const c of Buffer.from('before')) port.write(THR, c);
  process.kill(backend.socatPid!, 'SIGKILL');
  const ev = await poll(() => events.find((e) => e.type === 'disconnected'), 'disconnected event');
  assert.match(ev.message, /socat exited \(SIGKILL\)/);
  assert.is(att.status().state, 'disconnected');
  assert.is(port.read(IIR) & 0x0f, 0x00, 'modem status interrupt pending');
  const msr = port.read(MSR);
  assert.is(msr & 0xb0, 0, 'CTS/DSR/DCD low');
  assert.is(msr & 0x0b, 0x0b, 'DCTS/DDSR/DDCD');
  const before = att.status().txDiscarded;
  for (const c of Buffer.from('after')) port.write(THR, c);
  await poll(() => (att.status().txDiscarded === before + 5 ? true : undefined), 'TX counted as discarded');
  await poll(async () => ((await fs.lstat(link).then(() => true, () => false)) ? undefined : true), 'dangling link removed');
  await att.detach();
  port.write(THR, 0x41);
  assert.is(port.read(RBR), 0x41, 'loopback works after detach');
});

test('a 4000-byte paste through the pty arrives complete and in order: back-pressure, no overrun', async () => {
  const link = `/tmp/ttyMTTY-test-${tag}-bulk`;
  const { uart, port } = hostTestPort();
  const att = await attach(port, createBackend(`pty:${link}`));
  let overruns = 0;
  const stats = echoGuest(uart, port);
  const readLsr = uart.read.bind(uart);
  // Count OE wherever the guest reads LSR: the contract says host bytes never set it.
  uart.read = (off: number) => {
    const v = readLsr(off);
    if (off === LSR && v & 0x02) overruns++;
    return v;
  };
  const fd = openSync(link, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  const data = Buffer.from(Array.from({ length: 4000 }, (_, i) => 0x20 + ((i * 7) % 90)));
  const back: Buffer[] = [];
  let sent = 0;
  let got = 0;
  const buf = Buffer.alloc(4096);
  try {
    await poll(() => {
      try {
        if (sent < data.length) sent += writeSync(fd, data, sent, Math.min(512, data.length - sent));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      try {
        const n = readSync(fd, buf, 0, buf.length, null);
        back.push(Buffer.from(buf.subarray(0, n)));
        got += n;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      return got >= data.length ? true : undefined;
    }, 'the whole paste echoed', 3000, 1);
  } finally {
    closeSync(fd);
    await att.detach();
  }
  assert.ok(Buffer.concat(back).equals(data), 'same bytes, same order');
  assert.is(overruns, 0, 'LSR.OE never seen by the guest');
  assert.is(stats.echoed, data.length);
});

test('a pty link that is a regular file is refused (EEXIST), the UART untouched', async () => {
  const file = `/tmp/mtty-test-${tag}-file`;
  await fs.writeFile(file, 'user data');
  const { uart, port } = hostTestPort();
  try {
    await attach(port, createBackend(`pty:${file}`));
    assert.unreachable('replaced a regular file');
  } catch (e) {
    assert.is((e as { code?: string }).code, 'EEXIST');
  } finally {
    assert.is(await fs.readFile(file, 'utf8'), 'user data');
    await fs.unlink(file);
  }
  assert.is(uart.wiring, 'loopback');
});

test.run();
