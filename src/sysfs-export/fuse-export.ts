/**
 * The exported sysfs as a FUSE mount (libfuse3 through native/mtty_fuse.c):
 * DIR/sys is served straight from the facade's node tree, so it is never
 * stale, and a write(2) to `create` or `remove` is answered with the store's
 * result: `echo bad > create` prints "write error: Invalid argument" and
 * mdevctl's `start` fails, as with kernfs. Every write(2) is one request to the
 * daemon and one store, so nothing is lost or merged whatever the rate.
 *
 * Semantics copied from kernfs (fs/kernfs/file.c, fs/sysfs/file.c):
 *  - attributes are regular files 0444 (show only), 0644 (show+store), 0200
 *    (store only: create, remove), size 4096; a read calls show() again;
 *  - opening for a direction the attribute lacks is EACCES; O_TRUNC is ignored;
 *  - each write(2) is one store; its errno is the writer's errno;
 *  - no entry can be created, removed or renamed (EACCES).
 * Entry and attribute cache timeouts are 0: a device created by any client
 * shows up at the next lookup; a removed one's cached entries are invalidated
 * (FUSE notify) so the kernel gives its inodes back.
 *
 * Mounting needs /dev/fuse and either root (mount(2)) or the setuid
 * fusermount3 (Debian package fuse3). Never read the mount with synchronous fs
 * calls from the daemon's own thread: the requests are answered on that thread.
 */
import { createRequire } from 'node:module';
import { MttyError } from '../errors/errno.js';
import type { MdevBus } from '../mdev/bus.js';
import type { MdevUevent } from '../mdev/uevent.js';
import type { Sysfs } from '../mdev/sysfs.js';
import type { SysfsNode } from '../mdev/sysfs-node.js';
import { sysfsRoot } from '../mdev/sysfs-layout.js';
import { valueForLog } from './write-value.js';

type Req = { readonly __fuseReq: unique symbol };
type MountHandle = { readonly __fuseMount: unique symbol };
/** [ino, mode, nlink, size, uid, gid, timeSeconds] */
type Attr = [number, number, number, number, number, number, number];

interface FuseAddon {
  mount(mountpoint: string, options: string, handler: (op: number, req: Req, ino: number, x: unknown, a: number, b: number) => void): MountHandle;
  unmount(h: MountHandle): void;
  unref(h: MountHandle): void;
  /** Queue an entry invalidation (fuse_lowlevel_notify_inval_entry) to the addon's notify thread; returns at once. */
  notifyInvalEntry?(h: MountHandle, parentIno: number, name: string): void;
  replyErr(r: Req, errno: number): void;
  replyEntry(r: Req, attr: Attr): void;
  replyAttr(r: Req, attr: Attr): void;
  replyReadlink(r: Req, target: string): void;
  replyOpen(r: Req, fh: number): void;
  replyBuf(r: Req, data: Buffer): void;
  replyWrite(r: Req, count: number): void;
  replyDirents(r: Req, entries: [string, number, number][]): void;
}

const OP = { LOOKUP: 1, GETATTR: 2, SETATTR: 3, READLINK: 4, OPEN: 5, READ: 6, WRITE: 7, READDIR: 8, ENDED: 9, FORGET: 10 } as const;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const E = { ENOENT: 2, EIO: 5, EACCES: 13, ENODEV: 19, EISDIR: 21, EINVAL: 22 };

let addon: FuseAddon | null | undefined;
let addonError = '';

/** The FUSE addon, or null with the reason in fuseUnavailableReason() (not built: no libfuse3-dev at install). */
export function fuseAddon(): FuseAddon | null {
  if (addon !== undefined) return addon;
  const require = createRequire(import.meta.url);
  for (const rel of ['../../../build/Release/mtty_fuse.node', '../../../build/Debug/mtty_fuse.node']) {
    try {
      const a = require(rel) as Partial<FuseAddon>;
      if (typeof a.mount === 'function') return (addon = a as FuseAddon);
      addonError = 'mtty_fuse.node was built without libfuse3 (install libfuse3-dev and run npm run build:native)';
    } catch (e) {
      addonError ||= `the FUSE addon is not built (build/Release/mtty_fuse.node): ${(e as Error).message.split('\n')[0]}`;
    }
  }
  return (addon = null);
}

export function fuseUnavailableReason(): string {
  fuseAddon();
  return addonError;
}

export interface FuseSysfsOptions {
  /** The directory to mount on (DIR/sys); it must exist and be empty. */
  mountpoint: string;
  bus: MdevBus;
  /** Writes are performed through this facade (the same one the control socket uses). */
  sysfs: Sysfs;
  log: (line: string) => void;
}

export class FuseSysfs {
  /**
   * Inode numbers exist while the kernel holds them: each entry reply counts
   * one lookup, FORGET gives them back, at 0 the number is dropped (a later
   * lookup of the same path gets a new one). So a long create/remove storm does
   * not grow this table; the root (1) is never forgotten.
   */
  private readonly inoOf = new Map<string, number>([['/sys', 1]]);
  private readonly pathOf = new Map<number, string>([[1, '/sys']]);
  private readonly lookups = new Map<number, number>();
  private nextIno = 2;
  private readonly running = new Set<Promise<void>>();
  /** Writes whose store has not finished: answered (ENODEV) before unmounting, or their writers would hold the mount. */
  private readonly waiting = new Set<Req>();
  private readonly ended: Promise<void>;
  private handle: MountHandle | null = null;
  private closing: Promise<void> | null = null;
  private readonly uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  private readonly gid = typeof process.getgid === 'function' ? process.getgid() : 0;
  private readonly time = Math.floor(Date.now() / 1000);
  private readonly onUevent = (ev: MdevUevent) => {
    if (ev.action === 'remove') this.invalidateGone(ev.devpath.slice(ev.devpath.lastIndexOf('/') + 1));
  };

  private constructor(
    private readonly fuse: FuseAddon,
    private readonly opts: FuseSysfsOptions,
  ) {
    let ended!: () => void;
    this.ended = new Promise<void>((r) => (ended = r));
    const options = ['fsname=mtty-sysfs', 'subtype=mtty', 'default_permissions'];
    // Like /sys, readable by every user; only root may ask for that without /etc/fuse.conf's user_allow_other.
    if (this.uid === 0) options.push('allow_other');
    try {
      this.handle = fuse.mount(opts.mountpoint, options.join(','), (op, req, ino, x, a, b) => {
        if (op === OP.ENDED) ended();
        else if (op === OP.FORGET) this.forget(ino, a);
        else this.request(op, req, ino, x, a, b);
      });
    } catch (e) {
      const err = e as Error & { code?: string };
      throw new MttyError(err.code === 'EPERM' || err.code === 'EACCES' || err.code === 'ENOENT' ? err.code : 'EIO', `${err.message} (needs /dev/fuse and root or fusermount3)`);
    }
    opts.bus.on('uevent', this.onUevent);
  }

  /**
   * A device named `name` is gone: tell the kernel to drop every cached entry of that name that no longer
   * resolves (the bus link, the device directory, the type's `devices/` link), so it releases their inodes
   * and FORGETs give the numbers back now, not at the next memory pressure. Correctness never depended on
   * it (timeouts are 0); this is what keeps the table bounded by live devices.
   */
  private invalidateGone(name: string): void {
    const h = this.handle;
    if (!h || !this.fuse.notifyInvalEntry) return;
    for (const [path] of this.inoOf) {
      if (!path.endsWith(`/${name}`) || this.node(path)) continue;
      const parent = this.inoOf.get(path.slice(0, path.length - name.length - 1));
      if (parent !== undefined) this.fuse.notifyInvalEntry(h, parent, name);
    }
  }

  /** Mount; MttyError when FUSE is not usable here (the caller may fall back to the mirror). */
  static mount(opts: FuseSysfsOptions): FuseSysfs {
    const fuse = fuseAddon();
    if (!fuse) throw new MttyError('ENOENT', fuseUnavailableReason());
    return new FuseSysfs(fuse, opts);
  }

  /** Resolves when no write is being performed. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /**
   * Answer the writes still waiting (ENODEV: the device tree is going away),
   * unmount (lazily, as `umount -l`) and wait for libfuse's loop to stop; if a
   * file of the mount stays in use past `ms`, go on and let the process exit anyway.
   */
  close(ms = 5000): Promise<void> {
    this.closing ??= (async () => {
      const handle = this.handle;
      if (!handle) return;
      this.handle = null;
      this.opts.bus.off('uevent', this.onUevent);
      for (const req of this.waiting) this.fuse.replyErr(req, E.ENODEV);
      this.waiting.clear();
      this.fuse.unmount(handle);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ms)));
      if (await Promise.race([this.ended.then(() => false), late])) {
        this.opts.log(`sysfs-export: ${this.opts.mountpoint} is still in use ${ms} ms after unmount; detached, going on`);
        this.fuse.unref(handle);
      }
      clearTimeout(timer);
    })();
    return this.closing;
  }

  /** Inode numbers the kernel currently holds (tests: the table does not grow with every device ever seen). */
  get inodeCount(): number {
    return this.pathOf.size;
  }

  private ino(path: string): number {
    let n = this.inoOf.get(path);
    if (n === undefined) {
      n = this.nextIno++;
      this.inoOf.set(path, n);
      this.pathOf.set(n, path);
    }
    return n;
  }

  private forget(ino: number, nlookup: number): void {
    const left = (this.lookups.get(ino) ?? 0) - nlookup;
    if (left > 0) return void this.lookups.set(ino, left);
    this.lookups.delete(ino);
    const path = this.pathOf.get(ino);
    if (ino === 1 || path === undefined) return;
    this.pathOf.delete(ino);
    this.inoOf.delete(path);
  }

  /** d_ino of a readdir entry: the held number, else a stable one above 2^32 that is never looked up. */
  private direntIno(path: string): number {
    const held = this.inoOf.get(path);
    if (held !== undefined) return held;
    let h = 0x811c9dc5; // FNV-1a
    for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193) >>> 0;
    return 2 ** 32 + h;
  }

  /** The node at a facade path, components looked up one by one (the kernel follows symlinks itself). */
  private node(path: string): SysfsNode | undefined {
    let node: SysfsNode = sysfsRoot(this.opts.bus);
    for (const name of path.split('/').slice(2)) {
      if (node.kind !== 'dir') return undefined;
      const next = node.entries().get(name);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  private modeOf(node: SysfsNode): number {
    if (node.kind === 'dir') return S_IFDIR | 0o755;
    if (node.kind === 'link') return S_IFLNK | 0o777;
    return S_IFREG | ((node.show ? 0o444 : 0) | (node.store ? 0o200 : 0));
  }

  private attr(ino: number, node: SysfsNode): Attr {
    const size = node.kind === 'link' ? Buffer.byteLength(node.target) : node.kind === 'attr' ? 4096 : 0;
    return [ino, this.modeOf(node), node.kind === 'dir' ? 2 : 1, size, this.uid, this.gid, this.time];
  }

  private request(op: number, req: Req, ino: number, x: unknown, a: number, b: number): void {
    const f = this.fuse;
    try {
      const path = this.pathOf.get(ino);
      if (path === undefined) return f.replyErr(req, E.ENOENT);
      if (op === OP.LOOKUP) {
        const child = `${path}/${String(x)}`;
        const node = this.node(child);
        if (!node) return f.replyErr(req, E.ENOENT);
        const n = this.ino(child);
        this.lookups.set(n, (this.lookups.get(n) ?? 0) + 1);
        return f.replyEntry(req, this.attr(n, node));
      }
      const node = this.node(path);
      if (!node) return f.replyErr(req, E.ENOENT); // a device removed since the kernel looked it up
      switch (op) {
        case OP.GETATTR:
        case OP.SETATTR: // chmod/truncate: kernfs keeps the mode for attributes and ignores O_TRUNC
          return f.replyAttr(req, this.attr(ino, node));
        case OP.READLINK:
          return node.kind === 'link' ? f.replyReadlink(req, node.target) : f.replyErr(req, E.EINVAL);
        case OP.OPEN: {
          if (node.kind !== 'attr') return f.replyErr(req, E.EISDIR);
          const acc = a & 3; // O_RDONLY 0, O_WRONLY 1, O_RDWR 2
          if ((acc !== 0 && !node.store) || (acc !== 1 && !node.show)) return f.replyErr(req, E.EACCES);
          return f.replyOpen(req, 0);
        }
        case OP.READ: {
          if (node.kind !== 'attr' || !node.show) return f.replyErr(req, E.EACCES);
          const data = Buffer.from(node.show(), 'utf8');
          return f.replyBuf(req, data.subarray(Math.min(b, data.length), Math.min(b + a, data.length)));
        }
        case OP.WRITE:
          return this.write(req, path, x as Buffer);
        case OP.READDIR: {
          if (node.kind !== 'dir') return f.replyErr(req, E.EINVAL);
          const parent = path === '/sys' ? 1 : this.direntIno(path.slice(0, path.lastIndexOf('/')));
          const list: [string, number, number][] = [
            ['.', ino, S_IFDIR],
            ['..', parent, S_IFDIR],
          ];
          const entries = node.entries();
          for (const name of [...entries.keys()].sort()) list.push([name, this.direntIno(`${path}/${name}`), this.modeOf(entries.get(name) as SysfsNode)]);
          return f.replyDirents(req, list);
        }
        default:
          return f.replyErr(req, E.EINVAL);
      }
    } catch (e) {
      f.replyErr(req, e instanceof MttyError ? e.errno : E.EIO);
    }
  }

  /** One write(2) = one store through the facade; its errno goes back to the writer. */
  private write(req: Req, path: string, data: Buffer): void {
    const text = data.toString('utf8');
    this.waiting.add(req);
    const run = (async () => {
      let errno = 0;
      let outcome = 'ok';
      try {
        await this.opts.sysfs.write(path, text);
      } catch (e) {
        errno = e instanceof MttyError ? e.errno : E.EIO;
        outcome = (e as Error).message;
      }
      this.opts.log(`sysfs-export: ${valueForLog(text)} > ${path}: ${outcome}`);
      if (!this.waiting.delete(req)) return; // answered by close()
      if (errno) this.fuse.replyErr(req, errno);
      else this.fuse.replyWrite(req, data.length);
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }
}
