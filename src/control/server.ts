/**
 * `mtty serve`'s listener: a UNIX stream socket only its owner can use
 * (directory 0700, socket 0600 — the same protection the kernel gives
 * /dev/vfio/* to its group), newline-delimited JSON in both directions.
 * A bad line gets an error reply and the connection stays usable; a handler
 * that throws something unexpected becomes EIO; nothing a client sends stops
 * the daemon. Requests on one connection run concurrently and replies carry
 * the request id, because `remove` of an open device can take a while.
 *
 * Back-pressure, per connection: a client that sends requests and does not
 * read the replies must not grow the daemon. Lines are queued and dispatched
 * while the connection has fewer than `maxInFlight` requests running and
 * fewer than `softReplyBytes` of replies the kernel has not yet taken;
 * past that the socket stops being read (the client's writes block in its own
 * kernel buffer) until 'drain'. Replies already being computed are still
 * written; if the unsent bytes pass `hardReplyBytes` the connection is closed
 * with a logged reason. Half-close: a client that shuts down its sending side
 * after the last request still gets every reply; the daemon ends its side
 * once the last one is written.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmod, lstat, readdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fail, MttyError } from '../errors/errno.js';
import { preparePrivateDir } from './paths.js';
import { errorReply, LineSplitter, parseRequest, salvageId, type ControlReply } from './protocol.js';
import { builtinOps, type OpHandler, type OpRegistry } from './ops.js';
import type { MttyService } from './service.js';

export interface ServerOptions {
  socketPath: string;
  ops?: OpRegistry;
  /** Called once the daemon decided to stop (shutdown op); the owner closes it. */
  onShutdownRequest?: () => void;
  /** Where connection-level events go (a client closed for not reading). */
  log?: (line: string) => void;
  /** Unsent reply bytes at which a connection stops being read (default 256 KiB; at least the socket's 16 KiB high-water mark). */
  softReplyBytes?: number;
  /** Unsent reply bytes at which a connection is closed (default 16 MiB). */
  hardReplyBytes?: number;
  /** Requests of one connection running at once before further lines wait (default 64). */
  maxInFlight?: number;
}

export const DEFAULT_SOFT_REPLY_BYTES = 256 * 1024;
export const DEFAULT_HARD_REPLY_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_IN_FLIGHT = 64;

/** Is something answering on this socket path? (A leftover file from a crash does not.) */
export function probeSocket(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Delete the sockets in `dir` whose names match `name` and on which nobody
 * listens: what a daemon killed with SIGKILL leaves behind (e.g. the vfio-user
 * socket of a transient device that will not come back). Only sockets are
 * touched, never followed; returns the names removed. `dir` must already have
 * passed preparePrivateDir, so nobody else can swap entries while we look.
 */
export async function removeStaleSockets(dir: string, name: RegExp): Promise<string[]> {
  const removed: string[] = [];
  for (const n of await readdir(dir)) {
    if (!name.test(n)) continue;
    const p = join(dir, n);
    const st = await lstat(p).catch(() => null);
    if (!st?.isSocket() || (await probeSocket(p))) continue;
    await unlink(p).catch(() => undefined);
    removed.push(n);
  }
  return removed;
}

export class ControlServer {
  private server: Server | null = null;
  private conns = new Set<Socket>();
  private closing: Promise<void> | null = null;
  readonly ops: OpRegistry;

  constructor(
    readonly service: MttyService,
    private opts: ServerOptions,
  ) {
    this.ops = opts.ops ?? builtinOps();
  }

  get socketPath(): string {
    return this.opts.socketPath;
  }

  /** Add or replace an op on this server only. */
  registerOp(name: string, handler: OpHandler): void {
    this.ops.registerOp(name, handler);
  }

  async listen(): Promise<void> {
    const path = this.opts.socketPath;
    preparePrivateDir(dirname(path), 'socket directory');
    try {
      const st = await lstat(path);
      if (!st.isSocket()) fail('EEXIST', `${path} exists and is not a socket; refusing to replace it`);
      if (await probeSocket(path)) fail('EBUSY', `an mtty daemon is already listening on ${path}`);
      await unlink(path); // stale socket left by a daemon that died
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const server = createServer({ allowHalfOpen: true }, (c) => this.accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The directory is already private; 0600 keeps the socket private even if it is moved or the dir loosened.
    await chmod(path, 0o600);
    this.server = server;
  }

  private accept(c: Socket): void {
    this.conns.add(c);
    c.setEncoding('utf8');
    // Below the stream's high-water mark a write never returns false, so no 'drain' would wake us.
    const soft = Math.max(this.opts.softReplyBytes ?? DEFAULT_SOFT_REPLY_BYTES, c.writableHighWaterMark);
    const hard = this.opts.hardReplyBytes ?? DEFAULT_HARD_REPLY_BYTES;
    const maxInFlight = this.opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    const queue: string[] = [];
    let head = 0; // queue[head] is the next line to dispatch (no O(n) shift per line)
    let inFlight = 0;
    let ended = false; // the client half-closed: answer what it sent, then end our side
    const full = () => inFlight >= maxInFlight || c.writableLength >= soft;
    const send = (r: ControlReply) => {
      if (c.destroyed || !c.writable) return;
      c.write(JSON.stringify(r) + '\n');
      if (c.writableLength > hard) {
        this.opts.log?.(`control: closing a client that does not read its replies (${c.writableLength} bytes unsent, limit ${hard})`);
        c.destroy();
      }
    };
    const finishIfDone = () => {
      if (ended && inFlight === 0 && head === queue.length && !c.destroyed && !c.writableEnded) c.end();
    };
    const pump = () => {
      while (head < queue.length && !full() && !c.destroyed) {
        const line = queue[head++];
        inFlight++;
        void this.handleLine(line, onClientClose).then((r) => {
          inFlight--;
          send(r);
          pump();
        });
      }
      if (head === queue.length) {
        queue.length = 0;
        head = 0;
      }
      // Read more only when everything read so far could be dispatched.
      if (head < queue.length || full()) c.pause();
      else if (!ended) c.resume();
      finishIfDone();
    };
    const closers: (() => void)[] = [];
    const onClientClose = (fn: () => void) => closers.push(fn);
    const splitter = new LineSplitter(
      (line) => queue.push(line),
      () => send(errorReply(null, new MttyError('EMSGSIZE', 'request line too long; skipped up to the next newline'))),
    );
    c.on('data', (chunk: string) => {
      splitter.push(chunk);
      pump();
    });
    c.on('drain', pump);
    c.on('end', () => {
      splitter.push('\n'); // a last request without its newline still counts
      ended = true;
      pump();
    });
    c.on('error', () => c.destroy());
    c.on('close', () => {
      this.conns.delete(c);
      for (const fn of closers.splice(0)) fn();
    });
  }

  /** One line in, one reply out; never throws. */
  async handleLine(line: string, onClientClose?: (fn: () => void) => void): Promise<ControlReply> {
    let id: number | string | null = null;
    try {
      const req = parseRequest(line);
      id = req.id;
      const result = await this.ops.dispatch(req.op, req.args, {
        service: this.service,
        requestShutdown: () => setImmediate(() => this.opts.onShutdownRequest?.()),
        onClientClose,
      });
      return { id, ok: true, result: result === undefined ? null : result };
    } catch (e) {
      return errorReply(id ?? salvageId(line), e);
    }
  }

  /** Stop listening, drop clients, close guest sessions, remove the socket file. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        const server = this.server;
        this.server = null;
        for (const c of this.conns) c.destroy();
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
        await this.service.close();
        await unlink(this.opts.socketPath).catch(() => undefined);
      })();
    }
    return this.closing;
  }
}
