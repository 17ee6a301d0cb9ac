/**
 * `mtty console <uuid> [--port N] [--socket PATH]`: a minicom-style terminal on
 * one port of a running daemon.
 *
 * The console does not speak UART itself: it asks the daemon to put a pty on
 * the port's line (`host.attach {spec: 'pty'}`) and then joins the user's
 * terminal to that pty. So what the user types travels exactly the path
 * picocom's would - pty, socat, back-end, RX FIFO, guest - and the console
 * is just one more terminal program. On exit it waits (up to ~1 s) until the
 * back-end has handed everything typed to the UART, then asks the daemon to
 * put the port back on loopback (`host.detach`), the sample's default line.
 *
 * Keys (TTY stdin, raw mode): Ctrl-A X exits, Ctrl-A Ctrl-A sends one Ctrl-A
 * (minicom's escape). Without a TTY (pipes, tests) input is forwarded line by
 * line, each '\n' sent as '\r' (the Enter key); end of input exits after the
 * last line has been written.
 */
import fs from 'node:fs';
import tty from 'node:tty';
import { SocketClient } from '../control/client.js';
import { defaultSocketPath } from '../control/paths.js';
import { MttyError } from '../errors/errno.js';
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';

const CTRL_A = 0x01;

const usage = `usage: mtty console <uuid> [--port N] [--socket PATH]

Opens an interactive terminal on port N (default 0) of mdev device <uuid>:
the daemon attaches a pty to the port and this terminal is joined to it.
Exit with Ctrl-A X (Ctrl-A Ctrl-A sends a literal Ctrl-A).
Without a terminal on stdin, input is sent line by line ('\\n' as '\\r').`;

interface Args {
  uuid: string;
  port: number;
  socket: string;
}

function parseArgs(argv: string[]): Args {
  let uuid: string | undefined;
  let port = 0;
  let socket = defaultSocketPath();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--port' || a === '-p') {
      const v = value();
      if (!/^\d+$/.test(v)) throw new UsageError(`--port must be a non-negative integer, got '${v}'`);
      port = Number(v);
    } else if (a === '--socket' || a === '-s') {
      socket = value();
    } else if (a.startsWith('-')) {
      throw new UsageError(`unknown option ${a}`);
    } else if (uuid === undefined) {
      uuid = a;
    } else {
      throw new UsageError(`unexpected argument '${a}'`);
    }
  }
  if (!uuid) throw new UsageError('missing <uuid>');
  return { uuid, port, socket };
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

/** One request on its own connection: the console holds no daemon connection while the user types. */
async function request(socket: string, op: string, args: Record<string, unknown>): Promise<unknown> {
  const client = await SocketClient.connect(socket);
  try {
    return await client.call(op, args);
  } finally {
    await client.close();
  }
}

/**
 * What the user typed last is still in the pty / socat pipe when we leave;
 * detaching at once would drop it. Wait (bounded, ~1 s) until the back-end
 * has handed every byte we wrote to the UART, and say so if the guest has not
 * made room for all of it.
 */
async function settle(args: Args, written: number, io: CliIO): Promise<void> {
  let last: { rxBytes: number; rxHeld: number } | undefined;
  for (let i = 0; i < 100; i++) {
    const st = (await request(args.socket, 'host.status', { uuid: args.uuid, port: args.port }).catch(() => [])) as {
      kind: string;
      rxBytes: number;
      rxHeld: number;
    }[];
    last = st.find((x) => x.kind === 'pty');
    if (!last || last.rxBytes >= written) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  if (last) io.stderr.write(`mtty console: ${written - last.rxBytes} typed byte(s) not yet read by the guest are dropped\n`);
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv);
  const line = (await request(args.socket, 'host.attach', { uuid: args.uuid, port: args.port, spec: 'pty' })) as {
    path?: string;
    guestSettings?: { baud: number; dataBits: number; parity: string; stopBits: number };
  };
  if (!line || typeof line.path !== 'string') throw new MttyError('EPROTO', 'daemon did not report a pty path for host.attach');

  // Two opens of the slave: libuv makes the reading one non-blocking, and a
  // separate blocking descriptor lets fs.write wait for room instead of EAGAIN.
  let fd = -1;
  let wfd: number;
  try {
    fd = fs.openSync(line.path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    wfd = fs.openSync(line.path, fs.constants.O_WRONLY | fs.constants.O_NOCTTY);
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd);
    await request(args.socket, 'host.detach', { uuid: args.uuid, port: args.port }).catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    throw new MttyError(err.code === 'EACCES' ? 'EACCES' : err.code === 'ENOENT' ? 'ENOENT' : 'EIO', `cannot open ${line.path}: ${err.message}`);
  }
  const pty = new tty.ReadStream(fd);
  pty.setRawMode(true);
  const stdin = io.stdin as NodeJS.ReadStream;
  const interactive = stdin.isTTY === true && typeof stdin.setRawMode === 'function';

  const g = line.guestSettings;
  const settings = g ? `, guest ${g.baud} ${g.dataBits}${g.parity[0]!.toUpperCase()}${g.stopBits}` : '';
  io.stderr.write(
    `mtty console: ${args.uuid} port ${args.port} on ${line.path}${settings}\r\n` +
      (interactive ? `Press Ctrl-A X to exit (Ctrl-A Ctrl-A sends Ctrl-A).\r\n` : `Line mode (stdin is not a terminal); end of input exits.\r\n`),
  );

  // Writes go through fs.write so they are ordered and awaitable (end of input waits for them).
  let writing: Promise<void> = Promise.resolve();
  let written = 0;
  const send = (bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    const copy = Buffer.from(bytes);
    written += copy.length;
    writing = writing.then(
      () => new Promise<void>((res) => fs.write(wfd, copy, () => res())),
    );
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

  // Leave the user's terminal as we found it, then give the port back to loopback.
  if (interactive) stdin.setRawMode(false);
  for (const [ev, fn] of stdinListeners) stdin.off(ev, fn);
  stdin.pause();
  await writing;
  pty.destroy(); // owns fd from here on; closing it ourselves could hit a reused number
  fs.closeSync(wfd);
  await settle(args, written, io);
  await request(args.socket, 'host.detach', { uuid: args.uuid, port: args.port }).catch((e: Error) => {
    io.stderr.write(`mtty console: could not return the port to loopback: ${e.message}\n`);
  });
  io.stderr.write('\nmtty console: bye\n');
  return code;
}

export const commands: Record<string, CliCommand> = {
  console: { summary: 'interactive terminal on a port (minicom style, Ctrl-A X exits)', usage, run },
};
