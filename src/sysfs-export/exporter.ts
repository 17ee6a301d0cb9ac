/**
 * SysfsExporter: the sysfs facade materialized under a directory so programs
 * that read /sys with plain file calls (mdevctl with MDEVCTL_ENV_ROOT=DIR,
 * or in a user+mount namespace) see mtty without a kernel module.
 *
 *   DIR/sys/devices/virtual/mtty/mtty/...   real directories and files
 *   DIR/sys/class/mdev_bus/mtty             relative symlinks, as in /sys
 *   DIR/sys/bus/mdev/devices/<uuid>
 *   DIR/etc/mdevctl.d/scripts.d/{callouts,notifiers}   created for mdevctl, kept on close
 *
 * Two modes (`mode`):
 * - 'fuse' (fuse-export.ts): DIR/sys is a FUSE mount served from the facade;
 *   each write(2) to create/remove is one store and gets its errno, as sysfs.
 * - 'mirror' (default for the library): real files, kept in step with the bus
 *   (every uevent schedules a re-sync; each write handled syncs before it
 *   returns). `create` and `<uuid>/remove` are FIFOs read by attr-watcher.ts:
 *   every write is performed, in order, whatever the rate or the number of
 *   writers. Limits of a file that is not a kernel attribute: the writer's
 *   write(2) succeeds whatever the store says (EINVAL/EEXIST/ENOSPC are only
 *   logged); the store happens just after the write, not inside it, so a
 *   reader looking at the device directory in the same instant may not see it
 *   yet (mdevctl 1.2.0 `start` does not look, and exits 0 regardless).
 * 'auto' picks FUSE when it mounts and falls back to the mirror.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MdevBus } from '../mdev/bus.js';
import type { Sysfs } from '../mdev/sysfs.js';
import { preparePrivateDir } from '../fs/private-dir.js';
import { AttrWatcher } from './attr-watcher.js';
import { FuseSysfs } from './fuse-export.js';
import { valueForLog } from './write-value.js';
import { applySnapshot, diskPath } from './mirror.js';
import { snapshotSysfs } from './snapshot.js';

export interface SysfsExportOptions {
  /** The directory to export under (mdevctl's MDEVCTL_ENV_ROOT); DIR/sys belongs to the exporter. */
  root: string;
  /** Writes to the exported create/remove files are performed through this facade. */
  sysfs: Sysfs;
  /** The bus behind `sysfs`: its tree is exported, its 'uevent's trigger a re-sync. */
  bus: MdevBus;
  log?: (line: string) => void;
  /**
   * 'mirror' (default): plain files kept in step with the facade; a failed write
   * is only logged. 'fuse': DIR/sys is a FUSE mount (fuse-export.ts); a failed
   * write returns its errno to the writer, as sysfs does; MttyError if FUSE is
   * not usable. 'auto': FUSE when it mounts, else the mirror (reason logged).
   * In-process callers that read the tree with synchronous fs calls must use
   * 'mirror': FUSE requests are answered on the same thread.
   */
  mode?: SysfsExportMode;
}

export type SysfsExportMode = 'mirror' | 'fuse' | 'auto';

export class SysfsExporter {
  readonly root: string;
  /** What DIR/sys is: plain files ('mirror') or a FUSE mount ('fuse'). */
  mode: 'mirror' | 'fuse' = 'mirror';
  private fuse: FuseSysfs | null = null;
  private readonly watcher: AttrWatcher;
  private readonly log: (line: string) => void;
  private pending: NodeJS.Immediate | null = null;
  private closed = false;
  private readonly onUevent = () => this.schedule();

  private constructor(private readonly opts: SysfsExportOptions) {
    this.root = resolve(opts.root);
    this.log = opts.log ?? (() => undefined);
    this.watcher = new AttrWatcher((file, text) => this.perform(file, text), this.log);
  }

  /** Create (or take over) DIR/sys and mirror the facade into it (or mount it, see `mode`). */
  static start(opts: SysfsExportOptions): SysfsExporter {
    const ex = new SysfsExporter(opts);
    // The control socket's rule: another user able to write here could plant links the daemon would write through.
    preparePrivateDir(ex.root, 'sysfs root');
    // mdevctl refuses to run without its script directories; its configs live next to them and survive close().
    for (const d of ['callouts', 'notifiers']) mkdirSync(`${ex.root}/etc/mdevctl.d/scripts.d/${d}`, { recursive: true });
    const sys = diskPath(ex.root, '/sys');
    clearStaleMount(sys, ex.log);
    rmSync(sys, { recursive: true, force: true }); // leftovers of a daemon that died
    const mode = opts.mode ?? 'mirror';
    if (mode !== 'mirror') {
      try {
        mkdirSync(sys, { mode: 0o755 });
        ex.fuse = FuseSysfs.mount({ mountpoint: sys, bus: opts.bus, sysfs: opts.sysfs, log: ex.log });
        ex.mode = 'fuse';
        return ex;
      } catch (e) {
        rmSync(sys, { recursive: true, force: true });
        if (mode === 'fuse') throw e;
        ex.log(`sysfs-export: FUSE not usable here (${(e as Error).message}); using the plain mirror, where a refused write is only logged`);
      }
    }
    ex.sync();
    opts.bus.on('uevent', ex.onUevent);
    return ex;
  }

  /** FUSE mode: the inode numbers the kernel holds now (a diagnostic: bounded by what is cached, not by history). */
  get fuseInodeCount(): number | null {
    return this.fuse ? this.fuse.inodeCount : null;
  }

  /** Bring the files in step with the facade now. */
  sync(): void {
    if (this.closed || this.fuse) return; // a FUSE mount is never out of step
    const entries = snapshotSysfs(this.opts.bus);
    applySnapshot(this.root, entries);
    this.watcher.setFiles(entries.filter((e) => e.kind === 'attr' && e.access === 'wo').map((e) => diskPath(this.root, e.path)));
  }

  /** Resolves once no write is being performed and no re-sync is pending (tests). */
  async idle(): Promise<void> {
    await this.fuse?.idle();
    await this.watcher.idle();
    if (this.pending) {
      clearImmediate(this.pending);
      this.pending = null;
      this.sync();
    }
  }

  /** Stop following the bus and delete DIR/sys (DIR itself and DIR/etc, mdevctl's configs, stay). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.opts.bus.off('uevent', this.onUevent);
    if (this.pending) clearImmediate(this.pending);
    await this.watcher.close();
    // Not idle() first: a `remove` of a device a VMM still holds waits for that VMM, and the
    // daemon closes the VMM's connection only after this. Unmounting ends such a write (ENOTCONN).
    await this.fuse?.close();
    rmSync(diskPath(this.root, '/sys'), { recursive: true, force: true });
  }

  /** A uevent arrives before the driver has finished (ports come back after 'remove'): sync on the next turn. */
  private schedule(): void {
    if (this.closed || this.pending) return;
    this.pending = setImmediate(() => {
      this.pending = null;
      this.sync();
    });
  }

  /** A write landed in an exported file: do it through the facade, report failures, empty the file, re-sync. */
  private async perform(file: string, text: string): Promise<void> {
    const path = file.slice(this.root.length);
    try {
      await this.opts.sysfs.write(path, text);
      this.log(`sysfs-export: ${valueForLog(text)} > ${path}: ok`);
    } catch (e) {
      // The writer's write(2) already succeeded; this log line is the only place the errno shows.
      this.log(`sysfs-export: ${valueForLog(text)} > ${path} FAILED (the writer was not told): ${(e as Error).message}`);
    } finally {
      this.sync();
    }
  }
}

/** A FUSE mount whose daemon died (kill -9) answers ENOTCONN; detach it so DIR/sys can be reused. */
function clearStaleMount(path: string, log: (line: string) => void): void {
  try {
    lstatSync(path);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOTCONN') return;
  }
  const r = spawnSync('fusermount3', ['-u', '-z', path], { stdio: 'ignore' });
  if (r.status !== 0) spawnSync('umount', ['-l', path], { stdio: 'ignore' });
  log(`sysfs-export: detached the dead FUSE mount left on ${path} by a previous daemon`);
}
