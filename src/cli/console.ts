/**
 * `mtty console <uuid> [--port N]`: a minicom-style terminal on one port.
 *
 * By default the user is the guest's terminal, as in the kernel doc's steps
 * 6-7 (minicom in the guest on /dev/ttyS1): the daemon boots its guest model
 * on the device once (src/control/guest-session.ts), the guest's 8250 driver
 * opens the port (startup, set_termios, DTR/RTS), and a pty joins the user to
 * that tty. Typed keys are written by the driver through THR; what comes back
 * (the host's loopback, or whatever host line is attached) is read from RBR
 * in the driver's interrupt handler. On exit the console prints how many
 * characters went each way and how many interrupts that took.
 *
 * `--host-end` is the other end of the wire: the daemon puts a pty on the
 * port's host line (`host.attach {spec: 'pty'}`) and the user's terminal is
 * what the guest talks to. That line is locked like any other: if someone
 * holds it the console refuses (EBUSY, naming them) unless `--force`, and a
 * forced console gives their line back on exit instead of leaving loopback.
 *
 * Keys (TTY stdin, raw mode): Ctrl-A X exits, Ctrl-A Ctrl-A sends one Ctrl-A
 * (minicom's escape). Without a TTY (pipes, tests) input is forwarded line by
 * line, each '\n' sent as '\r' (the Enter key); end of input exits after the
 * last line has been written and answered.
 */
import fs from 'node:fs';
import process from 'node:process';
import tty from 'node:tty';
import { SocketClient } from '../control/client.js';
import type { ConsoleCounters, ConsoleInfo } from '../control/guest-session.js';
import type { PortLineStatus } from '../control/host-lines.js';
import { defaultSocketPath } from '../control/paths.js';
import { MttyError } from '../errors/errno.js';
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { flag, optString, parse } from './args.js';

const CTRL_A = 0x01;

const usage = `usage: mtty console <uuid> [--port N] [--baud B] [--host-end [--force]] [--socket PATH]

Opens an interactive terminal on port N (default 0) of mdev device <uuid>.
  (default)    you are the guest's terminal on /dev/ttySn: the daemon's guest
               model opens the port with Linux's 8250 driver at --baud (default
               9600) 8N1 and what you type is sent by that driver; with the
               default loopback host line it comes back (kernel doc steps 6-7)
  --host-end   you are the far end of the line instead (a pty on the port's host
               side); refused (EBUSY) if someone holds that line, unless --force,
               which hands their line back when you leave
Exit with Ctrl-A X (Ctrl-A Ctrl-A sends a literal Ctrl-A).
Without a terminal on stdin, input is sent line by line ('\\n' as '\\r').
The console needs a running daemon (mtty serve); --embedded does not apply.`;

interface Args {
  uuid: string;
  port: number;
  socket: string;
  hostEnd: boolean;
  force: boolean;
  baud?: number;
}

function parseConsoleArgs(argv: string[]): Args {
  const p = parse(
    argv,
    {
      port: { type: 'string', short: 'p' },
      socket: { type: 'string', short: 's' },
      baud: { type: 'string', short: 'b' },
      'host-end': { type: 'boolean' },
      force: { type: 'boolean', short: 'f' },
    },
    1,
  );
  const uuid = p.positionals[0];
  if (!uuid) throw new UsageError('missing <uuid>');
  const portText = optString(p, 'port') ?? '0';
  if (!/^\d+$/.test(portText)) throw new UsageError(`--port must be a non-negative integer, got '${portText}'`);
  const baudText = optString(p, 'baud');
  if (baudText !== undefined && !/^\d+$/.test(baudText)) throw new UsageError(`--baud must be a number, got '${baudText}'`);
  if (flag(p, 'force') && !flag(p, 'host-end')) throw new UsageError('--force only applies with --host-end (the guest side takes no host line)');
  if (baudText !== undefined && flag(p, 'host-end')) throw new UsageError('--baud sets the guest driver\'s speed; with --host-end the guest sets its own');
  return {
    uuid,
    port: Number(portText),
    socket: optString(p, 'socket') ?? defaultSocketPath(),
    hostEnd: flag(p, 'host-end'),
    force: flag(p, 'force'),
    ...(baudText !== undefined ? { baud: Number(baudText) } : {}),
  };
}

/**
 * minicom's escape handling: bytes to send, and whether the user asked to quit.
 * `pending` carries a Ctrl-A that ended the previous chunk.
 */
export function filterKeys(chunk: Uint8Array, state: { pending: boolean }): { send: Uint8Array; quit: boolean } {
  const out: number[] = [];
  for (const b of chunk) {
    if (state.pending) {
      state.pending = false;
      if (b === 0x78 || b === 0x58 || b === 0x18) return { send: Uint8Array.from(out), quit: true }; // x, X, Ctrl-X
      if (b === CTRL_A) out.push(CTRL_A);
      // Any other key after Ctrl-A is a command we do not have: swallow it, like minicom.
      continue;
    }
    if (b === CTRL_A) state.pending = true;
    else out.push(b);
  }
  return { send: Uint8Array.from(out), quit: false };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Join the user's terminal to the pty at `path` until Ctrl-A X or end of
 * input. Returns the exit code and how many bytes were written into the pty.
 * `settle` is awaited before the pty is closed, so the last answer is shown.
 */
async function joinTerminal(path: string, io: CliIO, banner: string, settle: (written: number) => Promise<void>): Promise<{ code: number; written: number }> {
  // Two opens of the slave: libuv makes the reading one non-blocking, and a
  // separate blocking descriptor lets fs.write wait for room instead of EAGAIN.
  let fd = -1;
  let wfd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    wfd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NOCTTY);
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd);
    const err = e as NodeJS.ErrnoException;
    throw new MttyError(err.code === 'EACCES' ? 'EACCES' : err.code === 'ENOENT' ? 'ENOENT' : 'EIO', `cannot open ${path}: ${err.message}`);
  }
  const pty = new tty.ReadStream(fd);
  pty.setRawMode(true);
  const stdin = io.stdin as NodeJS.ReadStream;
  const interactive = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  io.stderr.write(
    banner +
      (interactive ? `Press Ctrl-A X to exit (Ctrl-A Ctrl-A sends Ctrl-A).\r\n` : `Line mode (stdin is not a terminal); end of input exits.\r\n`),
  );

  // Writes go through fs.write so they are ordered and awaitable (end of input waits for them).
  let writing: Promise<void> = Promise.resolve();
  let written = 0;
  const send = (bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    const copy = Buffer.from(bytes);
    written += copy.length;
    writing = writing.then(() => new Promise<void>((res) => fs.write(wfd, copy, () => res())));
  };

  // Our stdin listeners, removed on exit: stdin outlives this console (a caller may
  // run another one on it), and a stale handler would keep writing to our closed fd.
  const stdinListeners: [string, (...a: any[]) => void][] = [];
  const onStdin = (ev: 'data' | 'end', fn: (...a: any[]) => void) => {
    stdinListeners.push([ev, fn]);
    stdin.on(ev, fn);
  };
  const code = await new Promise<number>((resolve) => {
    const keys = { pending: false };
    let partial = '';
    const finish = (c: number) => resolve(c);

    pty.on('data', (d: Buffer) => io.stdout.write(d));
    pty.on('end', () => {
      io.stderr.write('\r\nmtty console: the line was closed by the daemon\r\n');
      finish(1);
    });
    pty.on('error', (e) => {
      io.stderr.write(`\r\nmtty console: ${e.message}\r\n`);
      finish(1);
    });

    if (interactive) {
      stdin.setRawMode(true);
      onStdin('data', (d: Buffer) => {
        const { send: bytes, quit } = filterKeys(d, keys);
        send(bytes);
        if (quit) finish(0);
      });
    } else {
      onStdin('data', (d: Buffer | string) => {
        const { send: bytes, quit } = filterKeys(typeof d === 'string' ? Buffer.from(d) : d, keys);
        partial += Buffer.from(bytes).toString('latin1');
        let nl: number;
        while ((nl = partial.indexOf('\n')) >= 0) {
          send(Buffer.from(partial.slice(0, nl) + '\r', 'latin1'));
          partial = partial.slice(nl + 1);
        }
        if (quit) finish(0);
      });
      onStdin('end', () => {
        if (partial) send(Buffer.from(partial, 'latin1'));
        void writing.then(() => finish(0));
      });
    }
    stdin.resume();
  });

  // Leave the user's terminal as we found it.
  if (interactive) stdin.setRawMode(false);
  for (const [ev, fn] of stdinListeners) stdin.off(ev, fn);
  stdin.pause();
  await writing;
  await settle(written);
  pty.destroy(); // owns fd from here on; closing it ourselves could hit a reused number
  fs.closeSync(wfd);
  return { code, written };
}

function holderName(): string {
  return `mtty console (pid ${process.pid}, uid ${process.getuid?.() ?? '?'})`;
}

/** The guest's terminal (default). */
async function guestConsole(args: Args, io: CliIO): Promise<number> {
  // This connection stays open for the whole session: if the console dies, the daemon closes the guest tty.
  const client = await SocketClient.connect(args.socket);
  try {
    const info = await client.call<ConsoleInfo>('console.open', { uuid: args.uuid, port: args.port, ...(args.baud ? { baud: args.baud } : {}) });
    const back = info.hostLine === 'loopback' ? 'the host end loops back, so what you type comes back' : `the host end is ${info.hostLine}`;
    const banner =
      `mtty console: you are the guest's terminal on ${info.tty} (port ${info.port} of ${info.uuid}, I/O 0x${info.iobase.toString(16)}, IRQ ${info.irq}),\r\n` +
      `  ${info.settings} as the guest's 8250 driver programmed the UART; ${back}.\r\n`;
    const settle = async (written: number) => {
      // Wait (bounded, ~1 s) until the guest took every typed byte and, on loopback, the answer is back.
      for (let i = 0; i < 100; i++) {
        const c = await client.call<ConsoleCounters>('console.status', { uuid: info.uuid, port: info.port, lease: info.lease }).catch(() => null);
        if (!c) return;
        if (c.typed >= written && c.held === 0 && (info.hostLine !== 'loopback' || c.received >= c.typed)) {
          await sleep(20); // the last echo still crosses the pty
          return;
        }
        await sleep(10);
      }
    };
    const { code, written } = await joinTerminal(info.path, io, banner, settle);
    const c = await client.call<ConsoleCounters>('console.close', { uuid: info.uuid, port: info.port, lease: info.lease }).catch((e: Error) => {
      io.stderr.write(`mtty console: closing the guest tty failed: ${e.message}\n`);
      return null;
    });
    if (c) {
      io.stderr.write(
        `\nmtty console: ${info.tty}: typed ${c.typed} character(s), the guest's driver sent ${c.transmitted} and received ${c.received} ` +
          `with ${c.interrupts} interrupt(s) on IRQ ${info.irq} (INTx signalled ${c.intxSignals} time(s))` +
          (written > c.typed ? `; ${written - c.typed} typed byte(s) were not taken by the guest` : '') +
          '\n',
      );
    }
    io.stderr.write('mtty console: bye\n');
    return code;
  } finally {
    await client.close();
  }
}

/** The far end of the line (--host-end): a pty on the port's host side, locked like any host line. */
async function hostEndConsole(args: Args, io: CliIO): Promise<number> {
  const client = await SocketClient.connect(args.socket);
  try {
    const before = (await client.call<PortLineStatus[]>('host.status', { uuid: args.uuid, port: args.port }))[0];
    // giveBack: a borrowed line is the daemon's to return; whileConnected: if this console dies, so does its holding.
    const line = await client.call<PortLineStatus>('host.attach', {
      uuid: args.uuid,
      port: args.port,
      spec: 'pty',
      holder: holderName(),
      force: args.force,
      giveBack: true,
      whileConnected: true,
    });
    if (typeof line.path !== 'string') throw new MttyError('EPROTO', 'daemon did not report a pty path for host.attach');
    const g = line.guestSettings;
    const settings = g ? `; the guest runs the UART at ${g.baud} ${g.dataBits}${g.parity[0]!.toUpperCase()}${g.stopBits}` : '';
    const took = before && before.kind !== 'loopback' ? `\r\n  (took the line from ${before.spec}, held by ${before.holder}; it is put back on exit)` : '';
    const banner = `mtty console: you are the host end of port ${args.port} of ${args.uuid} (${line.path})${settings}.${took}\r\n`;
    const settle = async (written: number) => {
      // What the user typed last is still in the pty / socat pipe: wait (bounded) until the guest side has it.
      let last: PortLineStatus | undefined;
      for (let i = 0; i < 100; i++) {
        last = (await client.call<PortLineStatus[]>('host.status', { uuid: args.uuid, port: args.port }).catch(() => []))[0];
        if (!last || last.lease !== line.lease || last.rxBytes >= written) return;
        await sleep(10);
      }
      if (last) io.stderr.write(`mtty console: ${written - last.rxBytes} typed byte(s) not yet read by the guest are dropped\n`);
    };
    const { code } = await joinTerminal(line.path, io, banner, settle);
    const after = await client.call<PortLineStatus>('host.detach', { uuid: args.uuid, port: args.port, lease: line.lease }).catch((e: Error) => {
      io.stderr.write(`mtty console: could not give the line back: ${e.message}\n`);
      return null;
    });
    if (after && before && before.kind !== 'loopback') {
      io.stderr.write(after.spec === before.spec ? `mtty console: port ${args.port} is back on ${before.spec}\n` : `mtty console: could not put ${before.spec} back (see mtty host show)\n`);
    }
    io.stderr.write('\nmtty console: bye\n');
    return code;
  } finally {
    await client.close();
  }
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseConsoleArgs(argv);
  return args.hostEnd ? hostEndConsole(args, io) : guestConsole(args, io);
}

export const commands: Record<string, CliCommand> = {
  console: { summary: "a terminal on a port: the guest's /dev/ttySn (default) or the line's host end (--host-end)", usage, run },
};
