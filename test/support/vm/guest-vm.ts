/**
 * One real guest: QEMU (TCG) booting Debian's kernel with our initramfs,
 * vfio-user-pci devices on given sockets, the guest's ttyS0 on QEMU's stdio,
 * QMP on a socket. `run()` is a small expect-like driver: it types a shell
 * command on the console and waits, bounded, for an end marker carrying the
 * command's exit status.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestImage } from './guest-image.js';
import { QmpClient } from './qmp.js';

export interface VmDevice {
  /** QEMU device id (for device_del) */
  id: string;
  socket: string;
}

export interface VmOptions {
  qemu: string;
  image: GuestImage;
  devices?: VmDevice[];
  /** Add QEMU's own pci-serial (a 16550 emulated inside QEMU), for comparison. */
  pciSerial?: boolean;
  /** Extra kernel command-line words. */
  append?: string;
  /** 8250.nr_uarts (Debian's default is 4: ttyS0 + 3 slots, as the kernel doc shows). Default 16. */
  nrUarts?: number;
  bootTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface RunResult {
  out: string;
  rc: number;
}

/** The QEMU `-device` argument for a vfio-user device (QEMU's JSON form). */
export function vfioUserDeviceArg(d: VmDevice): string {
  return JSON.stringify({ driver: 'vfio-user-pci', id: d.id, socket: { path: d.socket, type: 'unix' } });
}

export class GuestVm {
  readonly dir: string;
  private console = '';
  private consumed = 0;
  private stderrText = '';
  private seq = 0;
  private waiters: (() => void)[] = [];
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  qmp!: QmpClient;

  private constructor(
    readonly proc: ChildProcessWithoutNullStreams,
    dir: string,
    private readonly log: (line: string) => void,
  ) {
    this.dir = dir;
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d: string) => {
      this.console += d;
      this.wake();
    });
    proc.stderr.on('data', (d: string) => {
      this.stderrText += d;
      for (const l of d.split('\n')) if (l.trim()) this.log(`qemu stderr: ${l}`);
    });
    proc.stdin.on('error', () => {});
    const reap = () => this.kill();
    process.once('exit', reap);
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        process.off('exit', reap);
        this.exitStatus = { code, signal };
        this.wake();
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Everything QEMU wrote on stderr so far. */
  get stderr(): string {
    return this.stderrText;
  }

  /** The guest console so far. */
  get consoleText(): string {
    return this.console;
  }

  static async boot(opts: VmOptions): Promise<GuestVm> {
    const dir = mkdtempSync(join(tmpdir(), 'mtty-vm-'));
    const qmpPath = join(dir, 'qmp.sock');
    const args = [
      '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-machine', 'pc', '-accel', 'tcg', '-m', '256M', '-smp', '1',
      '-kernel', opts.image.kernel, '-initrd', opts.image.initrd,
      '-append', `console=ttyS0 loglevel=3 8250.nr_uarts=${opts.nrUarts ?? 16} panic=-1 rdinit=/init ${opts.append ?? ''}`.trim(),
      '-serial', 'stdio',
      '-qmp', `unix:${qmpPath},server=on,wait=off`,
    ];
    if (opts.pciSerial) args.push('-chardev', 'null,id=psnull', '-device', 'pci-serial,id=pciserial0,chardev=psnull');
    for (const d of opts.devices ?? []) args.push('-device', vfioUserDeviceArg(d));
    const log = opts.log ?? (process.env.MTTY_VM_LOG ? (l: string) => process.stderr.write(`[vm] ${l}\n`) : () => {});
    const proc = spawn(opts.qemu, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const vm = new GuestVm(proc, dir, log);
    log(`qemu pid ${proc.pid}: ${opts.qemu} ${args.join(' ')}`);
    try {
      vm.qmp = await QmpClient.connect(qmpPath);
      await vm.expect(/MTTY-GUEST-READY\r?\n/, opts.bootTimeoutMs ?? 240_000);
      await vm.run('true', 30_000); // swallows the shell's banner, so each run() sees only its own output
    } catch (e) {
      vm.kill();
      throw new Error(`guest did not boot: ${(e as Error).message}\n--- console tail ---\n${vm.console.slice(-2000)}\n--- qemu stderr ---\n${vm.stderrText.slice(-2000)}`);
    }
    return vm;
  }

  /** Wait until the console (after what was consumed) matches; consume up to the match's end. */
  async expect(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.console.slice(this.consumed);
      const m = re.exec(rest);
      if (m) {
        this.consumed += m.index + m[0].length;
        return m;
      }
      if (this.exitStatus) throw new Error(`QEMU exited (${JSON.stringify(this.exitStatus)}) while waiting for ${re}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re}; console tail: ${JSON.stringify(rest.slice(-500))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  /** Type `cmd` into the guest's shell; its output (stdout+stderr) and exit status, within timeoutMs. */
  async run(cmd: string, timeoutMs = 60_000): Promise<RunResult> {
    const n = ++this.seq;
    this.log(`run ${n}: ${cmd}`);
    // The marker is assembled by the shell ('@@''END'), so it cannot match an echo of the command.
    this.proc.stdin.write(`(${cmd}) 2>&1; echo "@@""END ${n} $?"\n`);
    const m = await this.expect(new RegExp(`([\\s\\S]*?)@@END ${n} (\\d+)\\r?\\n`), timeoutMs);
    return { out: m[1]!.replace(/\r/g, ''), rc: Number(m[2]) };
  }

  /** run(), failing with the output when the command's status is not 0. */
  async ok(cmd: string, timeoutMs?: number): Promise<string> {
    const r = await this.run(cmd, timeoutMs);
    if (r.rc !== 0) throw new Error(`guest: '${cmd}' exited ${r.rc}:\n${r.out}`);
    return r.out;
  }

  /** Start a command without waiting (e.g. a transfer QEMU is killed under). */
  send(cmd: string): void {
    this.proc.stdin.write(cmd + '\n');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.exitStatus) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone (exited, not yet reaped)
    }
  }

  waitExit(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return Promise.race([
      this.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`QEMU ${this.pid} still running after ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  }

  /** Power off (QMP quit), or SIGKILL if QEMU does not go; removes the temp dir. */
  async close(): Promise<void> {
    if (!this.exitStatus) {
      try {
        await this.qmp.execute('quit', undefined, 5_000);
      } catch {
        // fall through to the kill
      }
      try {
        await this.waitExit(10_000);
      } catch {
        this.kill();
        await this.exited;
      }
    }
    this.qmp?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
