/**
 * Receiving the writes to the plain mirror's write-only attributes (create,
 * remove). Each is a FIFO (named pipe), not a regular file: a regular file
 * keeps only its last content, so writes that come faster than the daemon
 * reads them overwrite each other (7 of 50 back-to-back creates survived).
 * A pipe queues every write in order, and each write(2) of up to PIPE_BUF
 * bytes arrives whole and unmixed with concurrent writers' (pipe(7)), so
 * nothing is lost at any rate; a writer only blocks when 64 KiB are queued.
 *
 * The daemon holds each FIFO open for reading, non-blocking, and reads it
 * through libuv like a socket; the last writer's close shows as EOF, which
 * ends a value that had no newline and an overlong value being dropped.
 * Values (write-value.ts splitValue) are performed one at a time, in order,
 * per FIFO; while one is performed the pipe is not read past 64 KiB pending,
 * which stops a flooding writer in its write(2) instead of growing the daemon.
 *
 * Limits: the writer's write(2) succeeds whatever the store says (the mount
 * mode, fuse-export.ts, is the one that reports errnos); a FIFO left by a
 * daemon killed with SIGKILL blocks a writer's open until the next daemon
 * replaces DIR/sys.
 */
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { PARTIAL_WRITE_GRACE_MS, splitValue } from './write-value.js';

export type WriteHandler = (file: string, text: string) => Promise<void>;

/** Bytes read but not yet performed before the FIFO stops being read. */
const MAX_PENDING = 64 * 1024;

class FifoReader {
  private pending = '';
  private busy = false;
  private discarding = false; // inside an overlong value: drop up to its newline or the writers' close
  private eof = false; // every writer has closed since the last byte: what is pending is whole
  private grace: NodeJS.Timeout | null = null;
  private sock!: Socket;
  private readonly name: string;
  running: Promise<void> | null = null;
  closed = false;

  constructor(
    readonly file: string,
    private readonly onWrite: WriteHandler,
    private readonly log: (line: string) => void,
  ) {
    this.name = file.slice(file.lastIndexOf('/') + 1);
    this.open();
  }

  /**
   * Read-only and non-blocking: a writer's open never waits (we are a reader),
   * and when the last writer closes, the read end sees EOF, the one boundary
   * between writes a pipe shows. A FIFO at EOF stays at EOF, so a new read end
   * is opened before the old one is closed: a writer always finds a reader.
   */
  private open(): void {
    const fd = openSync(this.file, constants.O_RDONLY | constants.O_NONBLOCK);
    const sock = new Socket({ fd, readable: true, writable: false });
    sock.setEncoding('utf8'); // split multi-byte characters are joined across reads
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('end', () => this.onEnd(sock));
    sock.on('error', (e) => this.log(`sysfs-export: reading ${this.file}: ${e.message}`));
    this.sock = sock;
  }

  private onEnd(sock: Socket): void {
    if (this.closed || sock !== this.sock) return;
    try {
      this.open();
    } catch (e) {
      this.log(`sysfs-export: cannot reopen ${this.file}: ${(e as Error).message}`);
    }
    sock.destroy();
    this.discarding = false;
    this.eof = true;
    this.next(true);
  }

  private onData(chunk: string): void {
    this.eof = false;
    if (this.discarding) {
      const nl = chunk.indexOf('\n');
      if (nl < 0) return;
      this.discarding = false;
      chunk = chunk.slice(nl + 1);
    }
    this.pending += chunk;
    if (this.pending.length > MAX_PENDING) this.sock.pause();
    this.next(false);
  }

  /** A value without its newline from a writer that keeps the FIFO open: take it after a moment. */
  private armGrace(): void {
    if (this.grace) clearTimeout(this.grace);
    this.grace = setTimeout(() => {
      this.grace = null;
      this.next(true);
    }, PARTIAL_WRITE_GRACE_MS);
  }

  /** Perform the next whole value, if there is one and none is running. */
  private next(quiet: boolean): void {
    if (this.busy || this.closed) return;
    const v = splitValue(this.name, this.pending, quiet || this.eof);
    if (!v) {
      if (this.pending !== '') this.armGrace();
      if (this.pending.length <= MAX_PENDING) this.sock.resume();
      return;
    }
    if (this.grace) {
      clearTimeout(this.grace);
      this.grace = null;
    }
    this.pending = v.rest;
    if (v.overlong) {
      const nl = this.pending.indexOf('\n');
      if (nl >= 0) this.pending = this.pending.slice(nl + 1);
      else {
        this.pending = '';
        this.discarding = !this.eof;
      }
    }
    this.busy = true;
    this.running = this.onWrite(this.file, v.value)
      .catch((e: unknown) => this.log(`write to ${this.file} failed: ${(e as Error).message}`))
      .finally(() => {
        this.busy = false;
        this.running = null;
        this.next(false);
      });
  }

  close(): void {
    this.closed = true;
    if (this.grace) clearTimeout(this.grace);
    this.sock.destroy();
  }
}

export class AttrWatcher {
  private readonly readers = new Map<string, FifoReader>();
  private closed = false;

  constructor(
    private readonly onWrite: WriteHandler,
    private readonly log: (line: string) => void,
  ) {}

  /** Read exactly these FIFOs (disk paths, created by the mirror): open new ones, close the ones gone. */
  setFiles(paths: string[]): void {
    if (this.closed) return;
    const wanted = new Set(paths);
    for (const [p, r] of this.readers) {
      if (!wanted.has(p)) {
        r.close();
        this.readers.delete(p);
      }
    }
    for (const p of wanted) {
      if (this.readers.has(p)) continue;
      try {
        this.readers.set(p, new FifoReader(p, this.onWrite, this.log));
      } catch (e) {
        this.log(`sysfs-export: cannot read ${p}: ${(e as Error).message}`);
      }
    }
  }

  /** Wait for writes being performed now (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.readers.values()].map((r) => r.running).filter((p): p is Promise<void> => p !== null);
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  /** Stop reading. Does not wait for a store in progress: a `remove` of a device a VMM holds waits for that VMM. */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
  }
}
