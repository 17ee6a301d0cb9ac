/**
 * The vfio-user servers a real guest is attached to, each in its own
 * process (as a user runs them): `mtty attach` (bin/mtty.cjs) and libvfio-user's
 * C sample server, the peer for the latency figures.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { UartProfile } from '../../../src/uart/profile.js';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MTTY_BIN = fileURLToPath(new URL('../../../../bin/mtty.cjs', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * libvfio-user's gpio-pci-idio-16 sample (see its README): 494f:0dc8, input pins
 * at BAR2 offset 1. $MTTY_VFIO_USER_REF, else shared/vfio-user-ref/bin/ in the
 * nearest directory above the repository that has one (../shared in CI).
 */
export function findRefServer(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.MTTY_VFIO_USER_REF) return existsSync(env.MTTY_VFIO_USER_REF) ? resolve(env.MTTY_VFIO_USER_REF) : null;
  for (let d = resolve(REPO); ; d = dirname(d)) {
    const p = join(d, 'shared', 'vfio-user-ref', 'bin', 'gpio-pci-idio-16');
    if (existsSync(p)) return p;
    if (dirname(d) === d) return null;
  }
}

export class ServerProcess {
  out = '';
  err = '';
  exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly proc: ChildProcessWithoutNullStreams, readonly socket: string) {
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d: string) => (this.out += d));
    proc.stderr.on('data', (d: string) => (this.err += d));
    // A test process that dies must not leave servers behind.
    const reap = () => this.kill('SIGKILL');
    process.once('exit', reap);
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        process.off('exit', reap);
        resolve((this.exitStatus = { code, signal }));
      }),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async waitFor(test: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!test()) {
      if (this.exitStatus) throw new Error(`${what}: server exited ${JSON.stringify(this.exitStatus)}: ${this.err}`);
      if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms; stderr: ${this.err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.exitStatus) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone (exited, not yet reaped)
    }
  }

  async stop(): Promise<void> {
    if (this.exitStatus) return;
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(t);
  }
}

export interface MttyAttachOptions {
  uuid: string;
  socket: string;
  type?: 'mtty-1' | 'mtty-2';
  profile?: UartProfile;
  record?: string;
  /** Another build's bin/mtty.cjs (an older checkout, for A/B runs in one boot); default this one. */
  bin?: string;
}

/** `mtty attach UUID --socket S ...` in a child process, resolved once it serves. */
export async function startMttyAttach(o: MttyAttachOptions): Promise<ServerProcess> {
  const args = [o.bin ?? MTTY_BIN, 'attach', o.uuid, '--socket', o.socket, '--type', o.type ?? 'mtty-2'];
  if (o.profile) args.push('--profile', o.profile);
  if (o.record) args.push('--record', o.record);
  const s = new ServerProcess(spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }), o.socket);
  await s.waitFor(() => s.out.includes('serving'), 'mtty attach');
  return s;
}

/** The reference C server, if present; resolved once its socket exists. */
export async function startRefServer(socket: string): Promise<ServerProcess | null> {
  const bin = findRefServer();
  if (!bin) return null;
  const s = new ServerProcess(spawn(bin, [socket], { stdio: ['pipe', 'pipe', 'pipe'] }), socket);
  await s.waitFor(() => existsSync(socket), 'gpio-pci-idio-16');
  return s;
}
