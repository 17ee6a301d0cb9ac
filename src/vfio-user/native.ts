/**
 * Typed access to the N-API addon (native/vfio_user_native.c), which owns the
 * vfio-user socket fds: Node's `net` cannot pass fds (SCM_RIGHTS), so the
 * addon does every accept/recvmsg/sendmsg and libuv only polls for readiness.
 *
 * Loaded lazily so that `mtty` verbs unrelated to vfio-user still work on a
 * machine where the addon was not built; vfio-user entry points then fail
 * with one clear sentence instead of a stack trace.
 */
import { createRequire } from 'node:module';
import { MttyError } from '../errors/errno.js';

export interface RecvResult {
  /** > 0 bytes read, 0 orderly EOF, -1 would block. */
  bytes: number;
  fds: number[];
  truncated: boolean;
}

/** Opaque framed-connection handle (connOpen). */
export type ConnHandle = { readonly __conn: unique symbol };

/**
 * connOpen's callback: kind 0 message (a: Buffer of header+body, b: fds
 * array with .truncated, or null; return the reply), 1 bad frame (a: header
 * bytes, b: reason), 2 ended (a: reason or null for EOF), 3 drained after
 * connEnd, 4 quick (with a scratch Buffer: a = size of the message copied to
 * scratch[0..]; return the length of a reply written at scratch[128..], or 0).
 */
export type ConnCallback = (kind: number, a: unknown, b: unknown) => Buffer | number | null | void;

/** Opaque uv_poll_t handle. */
export type PollHandle = { readonly __poll: unique symbol };

export const POLL_READABLE = 1;
export const POLL_WRITABLE = 2;

export interface NativeAddon {
  listen(path: string, backlog?: number): number;
  /** probe: non-blocking; -1 when the listener's backlog is full (alive but busy). */
  connect(path: string, probe?: boolean): number;
  accept(fd: number): number;
  recv(fd: number, buf: Uint8Array, offset: number, length: number): RecvResult;
  send(fd: number, buf: Uint8Array, offset: number, length: number, fds?: readonly number[]): number;
  close(fd: number): void;
  eventfd(initval?: number): number;
  eventfdRead(fd: number): number;
  eventfdWrite(fd: number, value?: number): boolean;
  pollStart(fd: number, events: number, cb: (status: number, events: number) => void): PollHandle;
  pollUpdate(h: PollHandle, events: number): void;
  pollStop(h: PollHandle): void;
  pollRef(h: PollHandle, ref: boolean): void;
  /** A framed vfio-user stream on a connected fd (takes ownership of it); see channel.ts. */
  connOpen(fd: number, maxMessage: number, maxFds: number, idleMs: number, cb: ConnCallback, scratch?: Buffer | null): ConnHandle;
  /** Queue (and, outside a callback, send) one message; returns the bytes still queued. */
  connSend(h: ConnHandle, buf: Uint8Array, fds?: readonly number[]): number;
  /** Stop reading; true when nothing is left to send (else event 3 follows). */
  connEnd(h: ConnHandle): boolean;
  connPump(h: ConnHandle): void;
  connClose(h: ConnHandle): void;
  readonly MAX_RECV_FDS: number;
}

/** A system error thrown by the addon (shaped like Node's: code/errno/syscall). */
export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).errno === 'number' && typeof (e as NativeError).code === 'string';
}

let cached: NativeAddon | undefined;

/**
 * The addon, from build/Release (node-gyp's output at the package root).
 * From dist/src/vfio-user/native.js the root is three levels up.
 */
export function native(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const candidates = ['../../../build/Release/vfio_user_native.node', '../../../build/Debug/vfio_user_native.node'];
  let lastError: unknown;
  for (const rel of candidates) {
    try {
      cached = require(rel) as NativeAddon;
      return cached;
    } catch (e) {
      lastError = e;
    }
  }
  throw new MttyError(
    'ENOENT',
    `the vfio-user native addon is not built (build/Release/vfio_user_native.node); ` +
      `run "npm install" or "npx node-gyp rebuild" in the mtty package (${String((lastError as Error)?.message ?? lastError)})`,
  );
}
