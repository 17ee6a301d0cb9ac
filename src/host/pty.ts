/**
 * `pty[:<link>]`: a pseudo-terminal whose slave side is the port's far end,
 * so picocom, minicom, screen or a lab script can open it like /dev/ttyS*.
 *
 * The master side is held by a `socat` child (socat -d -d PTY,rawer STDIO)
 * and bytes travel through its stdin/stdout; the stable link is ours (made
 * once socat names the pty, removed at close or when socat dies). Why socat and not something else:
 *   - node-pty runs a *program* inside a pty (the opposite direction), is a
 *     native addon, and is not a dependency of this project;
 *   - opening /dev/ptmx ourselves needs grantpt/unlockpt/ptsname ioctls Node
 *     cannot issue without a native addon (and a compiler in CI);
 *   - socat (Debian package, installed by .ci/run) does openpty and raw
 *     termios with no native code on our side; it survives terminal
 *     programs opening and closing the slave, and it exits by itself when our
 *     pipe closes, so a crashed daemon leaves no orphan.
 * Back-pressure comes for free: pausing socat's stdout fills the pipe, socat
 * stops reading the pty master, the tty buffer fills and the terminal
 * program's write() blocks. Nothing is dropped.
 *
 * A pty has no line: speed and framing the guest programs cannot be applied
 * (the program on the slave sets its own termios), and modem ioctls on the
 * master are refused. Both are said once as 'degraded'; the guest's settings
 * are still tracked and shown in status().guestSettings.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../clock/clock.js';
import { MttyError } from '../errors/errno.js';
import { StreamLink } from './stream-link.js';
import type { LineSettings } from './uart-port.js';

export interface PtyOptions {
  clock: Clock;
  /** socat executable (default: "socat" on PATH). */
  socat?: string;
  /** How long socat may take to report its pty before we give up (ms). */
  startTimeoutMs?: number;
}

export class PtyBackend extends StreamLink {
  readonly kind = 'pty' as const;
  private readonly socat: string;
  private readonly startTimeoutMs: number;
  private child: ChildProcessWithoutNullStreams | null = null;
  private stderrTail = '';

  constructor(spec: string, link: string | undefined, opts: PtyOptions) {
    super(spec, opts.clock);
    this.linkPath = link;
    this.socat = opts.socat ?? 'socat';
    this.startTimeoutMs = opts.startTimeoutMs ?? 5000;
  }

  /** socat's pid (diagnostics; tests kill it to simulate a lost host side). */
  get socatPid(): number | undefined {
    return this.child?.pid;
  }

  /** The slave path (/dev/pts/N) once attached. */
  get ptyPath(): string | undefined {
    return this.path;
  }

  protected async openHost(): Promise<void> {
    if (this.linkPath) await this.claimLink(this.linkPath);
    // We make the link ourselves once socat names the pty: socat's own link= is
    // created only after it prints "PTY is", so a caller could race it.
    const address = 'PTY,rawer';
    const child = spawn(this.socat, ['-d', '-d', address, 'STDIO'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.path = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new MttyError('EIO', `socat did not report a pty within ${this.startTimeoutMs} ms: ${this.stderrTail.trim()}`));
      }, this.startTimeoutMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        child.stderr.off('data', onErr);
        child.off('error', onSpawnErr);
        child.off('exit', onEarlyExit);
        f();
      };
      const onErr = () => {
        const m = /PTY is (\S+)/.exec(this.stderrTail);
        if (m) done(() => resolve(m[1]!));
      };
      const onSpawnErr = (e: NodeJS.ErrnoException) =>
        done(() =>
          reject(
            e.code === 'ENOENT'
              ? new MttyError('ENOENT', `'${this.socat}' not found: the pty back-end needs socat (apt-get install socat; .ci/run installs it)`)
              : new MttyError('EIO', `cannot start socat: ${e.message}`),
          ),
        );
      const onEarlyExit = (code: number | null, sig: string | null) =>
        done(() => reject(new MttyError('EIO', `socat exited (${sig ?? code}) before creating a pty: ${this.stderrTail.trim()}`)));
      // Keep a short tail of socat's log for error messages; always drain it so socat never blocks on stderr.
      child.stderr.on('data', (d: Buffer) => {
        this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
      });
      child.stderr.on('data', onErr);
      child.on('error', onSpawnErr);
      child.on('exit', onEarlyExit);
    });
    if (this.linkPath) {
      try {
        await fs.symlink(this.path, this.linkPath);
      } catch (e) {
        child.kill('SIGTERM');
        const code = (e as NodeJS.ErrnoException).code;
        throw new MttyError(code === 'EEXIST' ? 'EBUSY' : 'EIO', `cannot create pty link ${this.linkPath}: ${(e as Error).message}`);
      }
    }
    child.on('exit', (code, sig) => {
      this.lost(`socat exited (${sig ?? `status ${code}`})`);
      // A killed socat cannot remove its link; a dangling link would mislead the next terminal.
      void this.removeOwnLink();
    });
    // socat's pipes end (or EPIPE) a moment before its exit is reported; the exit
    // status is the better explanation, so a pipe ending just waits for it.
    this.bind(child.stdout, child.stdin, () => undefined);
    this.degrade('a pty has no line: guest speed/framing are tracked (status) but not applied; modem lines stay in the model');
  }

  /**
   * A stable link must not clobber a user's file, nor another live pty's
   * link; a dangling link from a killed run is stale and is replaced.
   */
  private async claimLink(link: string): Promise<void> {
    const dir = path.dirname(link);
    try {
      await fs.access(dir);
    } catch {
      throw new MttyError('ENOENT', `directory of pty link ${link} does not exist`);
    }
    let st;
    try {
      st = await fs.lstat(link);
    } catch {
      return; // free
    }
    if (!st.isSymbolicLink()) throw new MttyError('EEXIST', `${link} exists and is not a symlink; refusing to replace it`);
    const target = await fs.readlink(link).catch(() => '');
    const live = target !== '' && (await fs.stat(link).then(() => true, () => false));
    if (live) throw new MttyError('EBUSY', `${link} already points to ${target} (another pty in use); choose another link or remove it`);
    await fs.unlink(link).catch(() => undefined);
  }

  protected applySettings(_s: LineSettings, _first: boolean): void {
    // Nothing to apply on a pty (see file comment); StreamLink tracks and reports them.
  }

  protected async closeHost(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.removeOwnLink();
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    await this.removeOwnLink();
  }

  /** Remove the link if it still points at our pty (never someone else's newer link). */
  private async removeOwnLink(): Promise<void> {
    if (!this.linkPath || !this.path) return;
    const target = await fs.readlink(this.linkPath).catch(() => null);
    if (target === this.path) await fs.unlink(this.linkPath).catch(() => undefined);
  }
}
