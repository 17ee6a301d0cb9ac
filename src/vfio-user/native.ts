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
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
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

/**
 * The native addon's calls (native/vfio_user_native.c): UNIX sockets with SCM_RIGHTS, eventfds,
 * libuv readiness polls. Errors are thrown as Node-style system errors (code, errno, syscall).
 */
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

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'mtty') return dir + sep;
    } catch {
      // not here: go up
    }
    const up = dirname(dir);
    if (up === dir) return fileURLToPath(new URL('../../../', import.meta.url));
    dir = up;
  }
}

/** Set to 1 to behave as if the addon were absent (tests of a machine without a C toolchain). */
export const NO_ADDON_ENV = 'MTTY_NO_ADDON';

/** The addon's file name (binding.gyp target vfio_user_native; the package also builds mtty_fuse). */
const ADDON_FILE = 'vfio_user_native.node';

/**
 * The addon, by its own file name (binding.gyp has two targets, so "the first
 * .node in the folder", node-gyp-build's rule, could be the FUSE addon):
 * build/Release or build/Debug at the package root (`node-gyp rebuild`, which
 * `npm install` runs through node-gyp-build when no prebuilt binary loads),
 * else prebuilds/<platform>-<arch>/ (scripts/prebuild.mjs, run at pack time).
 * The package root is the nearest folder above this file whose package.json
 * is mtty's (dist/src/vfio-user/ when built, src/vfio-user/ when run from source).
 * Loaded on first use only: nothing but the vfio-user server and client needs
 * it, so the demo, the daemon, the CLI and the lab work without it.
 *
 * Fails ENOENT with one sentence saying what is missing and how to get it.
 */
export function native(): NativeAddon {
  if (cached) return cached;
  const root = packageRoot();
  let why = '';
  if (process.env[NO_ADDON_ENV] === '1') {
    why = `${NO_ADDON_ENV}=1 is set`;
  } else {
    const require = createRequire(import.meta.url);
    for (const dir of ['build/Release', 'build/Debug', `prebuilds/${process.platform}-${process.arch}`]) {
      const file = join(root, dir, ADDON_FILE);
      try {
        cached = require(file) as NativeAddon;
        return cached;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err?.code !== 'MODULE_NOT_FOUND') why ||= `${dir}/${ADDON_FILE}: ${String(err?.message ?? e).split('\n')[0]!.trim()}`;
      }
    }
    why ||= `no ${ADDON_FILE} in build/Release, build/Debug or prebuilds/${process.platform}-${process.arch}`;
  }
  throw new MttyError(
    'ENOENT',
    `the vfio-user native addon (fd passing over SCM_RIGHTS) is not available: no prebuilt binary for ` +
      `${process.platform}-${process.arch} in ${root}prebuilds and none built in ${root}build/Release (${why}). ` +
      `Only vfio-user needs it. To build it, install a C toolchain and Python ` +
      `(Debian: apt-get install build-essential python3), then run "npm rebuild mtty" ` +
      `(in a clone of mtty: "npx node-gyp rebuild")`,
  );
}
