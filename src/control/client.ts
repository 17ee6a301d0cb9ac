/**
 * Clients of the control protocol. SocketClient talks to a running daemon;
 * InProcessClient runs the same ops on a service in this process (the CLI's
 * --embedded mode), passing arguments and results through JSON so that both
 * paths behave identically. The CLI only ever sees ControlTransport.
 */
import { statSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { errorFromJSON, MttyError } from '../errors/errno.js';
import { LineSplitter, type ControlReply } from './protocol.js';
import { builtinOps, type OpRegistry } from './ops.js';
import type { MttyService } from './service.js';

/**
 * How a client calls the daemon's ops (`call(op, args)` resolves with the result or rejects with
 * the MttyError the op failed with), whether over the socket or in-process.
 */
export interface ControlTransport {
  call<T = unknown>(op: string, args?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A client of a running `mtty serve` on its UNIX socket (`SocketClient.connect(path)`; default
 * path defaultSocketPath()). ENOENT when no daemon listens (EACCES when not ours), ECONNRESET when it goes away,
 * EMSGSIZE for a reply over 1 MiB.
 */
export class SocketClient implements ControlTransport {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private sock: Socket) {
    sock.setEncoding('utf8');
    const splitter = new LineSplitter(
      (line) => this.onLine(line),
      () => this.failAll(new MttyError('EMSGSIZE', 'reply from the daemon too long')),
    );
    sock.on('data', (chunk: string) => splitter.push(chunk));
    sock.on('error', () => undefined); // 'close' follows and fails what is pending
    sock.on('close', () => this.failAll(new MttyError('ECONNRESET', 'the mtty daemon closed the connection')));
  }

  /** Connect; ENOENT with a hint when no daemon is listening there. */
  static connect(path: string): Promise<SocketClient> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      sock.once('connect', () => {
        sock.removeAllListeners('error');
        resolve(new SocketClient(sock));
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        // connect(2) on a directory is ECONNREFUSED; say what the user got wrong instead.
        if (isDirectory(path)) {
          reject(new MttyError('EISDIR', `${path} is a directory, not the daemon's control socket; give the socket file (e.g. ${path.replace(/\/+$/, '')}/control.sock)`));
          return;
        }
        const why = e.code === 'ECONNREFUSED' ? 'refused the connection (stale socket?)' : e.code === 'EACCES' ? 'is not accessible to us' : 'does not exist';
        reject(new MttyError(e.code === 'EACCES' ? 'EACCES' : 'ENOENT', `no mtty daemon at ${path}: the socket ${why}. Start one with 'mtty serve' or run the verb with --embedded`));
      });
    });
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.sock.destroyed) {
        reject(new MttyError('ECONNRESET', 'not connected to the mtty daemon'));
        return;
      }
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.sock.write(JSON.stringify({ id, op, args }) + '\n');
    });
  }

  /** Send one raw line (tests use it for malformed input); resolves with the next unmatched reply. */
  sendRaw(line: string): Promise<ControlReply> {
    return new Promise((resolve) => {
      this.rawWaiters.push(resolve);
      this.sock.write(line.endsWith('\n') ? line : line + '\n');
    });
  }

  private rawWaiters: ((r: ControlReply) => void)[] = [];

  private onLine(line: string): void {
    let reply: ControlReply;
    try {
      reply = JSON.parse(line) as ControlReply;
    } catch {
      return; // not ours to interpret; the daemon only sends JSON
    }
    const p = typeof reply.id === 'number' ? this.pending.get(reply.id) : undefined;
    if (!p) {
      this.rawWaiters.shift()?.(reply);
      return;
    }
    this.pending.delete(reply.id as number);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(errorFromJSON(reply.error));
  }

  private failAll(e: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(e);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.sock.destroyed) return resolve();
      this.sock.once('close', () => resolve());
      this.sock.end();
    });
  }
}

/**
 * The daemon's ops run on an MttyService in this process, with arguments and results passed through
 * JSON so that answers and errors are exactly what the socket would give (`mtty <verb> --embedded`).
 */
export class InProcessClient implements ControlTransport {
  readonly ops: OpRegistry;

  constructor(
    readonly service: MttyService,
    ops?: OpRegistry,
  ) {
    this.ops = ops ?? builtinOps();
  }

  async call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const a = JSON.parse(JSON.stringify(args)) as Record<string, unknown>;
    const result = await this.ops.dispatch(op, a, { service: this.service });
    return (result === undefined ? null : JSON.parse(JSON.stringify(result))) as T;
  }

  async close(): Promise<void> {
    await this.service.close();
  }
}
