/**
 * `mtty serve`'s listener: a UNIX stream socket only its owner can use
 * (directory 0700, socket 0600 — the same protection the kernel gives
 * /dev/vfio/* to its group), newline-delimited JSON in both directions.
 * A bad line gets an error reply and the connection stays usable; a handler
 * that throws something unexpected becomes EIO; nothing a client sends stops
 * the daemon. Requests on one connection run concurrently and replies carry
 * the request id, because `remove` of an open device can take a while.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fail, MttyError } from '../errors/errno.js';
import { errorReply, LineSplitter, parseRequest, salvageId, type ControlReply } from './protocol.js';
import { builtinOps, type OpHandler, type OpRegistry } from './ops.js';
import type { MttyService } from './service.js';

export interface ServerOptions {
  socketPath: string;
  ops?: OpRegistry;
  /** Called once the daemon decided to stop (shutdown op); the owner closes it. */
  onShutdownRequest?: () => void;
}

/** Is something answering on this socket path? (A leftover file from a crash does not.) */
function probeSocket(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function prepareDirectory(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  if (!st.isDirectory()) fail('EINVAL', `${dir} is not a directory`);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  // The /tmp fallback has a guessable name: refuse a directory someone else planted.
  if (st.uid !== uid) fail('EACCES', `socket directory ${dir} belongs to uid ${st.uid}, not to us (${uid})`);
  if (created !== undefined) await chmod(dir, 0o700); // mkdir's mode is filtered by umask
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
    await prepareDirectory(dirname(path));
    try {
      const st = await lstat(path);
      if (!st.isSocket()) fail('EEXIST', `${path} exists and is not a socket; refusing to replace it`);
      if (await probeSocket(path)) fail('EBUSY', `an mtty daemon is already listening on ${path}`);
      await unlink(path); // stale socket left by a daemon that died
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const server = createServer((c) => this.accept(c));
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
    const send = (r: ControlReply) => {
      if (!c.destroyed && c.writable) c.write(JSON.stringify(r) + '\n');
    };
    const splitter = new LineSplitter(
      (line) => void this.handleLine(line).then(send),
      () => send(errorReply(null, new MttyError('EMSGSIZE', 'request line too long; skipped up to the next newline'))),
    );
    c.on('data', (chunk: string) => splitter.push(chunk));
    c.on('error', () => c.destroy());
    c.on('close', () => this.conns.delete(c));
  }

  /** One line in, one reply out; never throws. */
  async handleLine(line: string): Promise<ControlReply> {
    let id: number | string | null = null;
    try {
      const req = parseRequest(line);
      id = req.id;
      const result = await this.ops.dispatch(req.op, req.args, {
        service: this.service,
        requestShutdown: () => setImmediate(() => this.opts.onShutdownRequest?.()),
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
        this.service.close();
        await unlink(this.opts.socketPath).catch(() => undefined);
      })();
    }
    return this.closing;
  }
}
