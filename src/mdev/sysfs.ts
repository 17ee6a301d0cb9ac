import { fail } from '../errors/errno.js';
import type { MdevBus } from './bus.js';
import { pathParts, type SysfsDir, type SysfsNode } from './sysfs-node.js';
import { sysfsRoot } from './sysfs-layout.js';
import { formatTree } from './sysfs-tree.js';

/** Linux gives up after 40 nested symlinks (ELOOP); we report ENOENT past that. */
const MAX_LINK_HOPS = 40;

/**
 * The sysfs facade: the same paths and the same answers as the kernel's
 * /sys for an mdev parent, so a walk-through can literally
 * `write('/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/create', uuid + '\n')`.
 *
 * Errors: unknown path ENOENT; reading a write-only or writing a read-only
 * attribute EACCES (kernfs refuses the open); a directory where a file is
 * expected (or the reverse) EINVAL (Linux says EISDIR/ENOTDIR).
 */
export class Sysfs {
  constructor(private readonly bus: MdevBus) {}

  /** cat: the attribute's text (ends with "\n"). */
  read(path: string): string {
    const node = this.resolve(path, true).node;
    if (node.kind !== 'attr') fail('EINVAL', `${path} is a directory, not an attribute file`);
    if (!node.show) fail('EACCES', `${path} is write-only`);
    return node.show();
  }

  /**
   * echo text > path. Resolves to the byte count written, like write(2).
   * Asynchronous because `remove` on an open device blocks until it is closed.
   */
  async write(path: string, text: string): Promise<number> {
    const node = this.resolve(path, true).node;
    if (node.kind !== 'attr') fail('EINVAL', `${path} is a directory, not an attribute file`);
    if (!node.store) fail('EACCES', `${path} is read-only`);
    if (typeof text !== 'string') fail('EINVAL', `write text to ${path}, not ${typeof text}`);
    return node.store(text);
  }

  /** ls: entry names, sorted. */
  list(path: string): string[] {
    const node = this.resolve(path, true).node;
    if (node.kind !== 'dir') fail('EINVAL', `${path} is not a directory`);
    return [...node.entries().keys()].sort();
  }

  /** readlink: the relative target of a symlink (EINVAL if not a link). */
  readlink(path: string): string {
    const node = this.resolve(path, false).node;
    if (node.kind !== 'link') fail('EINVAL', `${path} is not a symbolic link`);
    return node.target;
  }

  /** realpath: the canonical path with every symlink followed. */
  realpath(path: string): string {
    return this.resolve(path, true).path;
  }

  exists(path: string): boolean {
    try {
      this.resolve(path, false);
      return true;
    } catch {
      return false;
    }
  }

  /** `tree --charset=ascii <path>` output: links shown as `name -> target` and not followed. */
  tree(path: string): string {
    const node = this.resolve(path, true).node;
    if (node.kind !== 'dir') fail('EINVAL', `${path} is not a directory`);
    return formatTree(path, node, (p) => this.isDirLink(p));
  }

  private isDirLink(path: string): boolean {
    try {
      return this.resolve(path, true).node.kind === 'dir';
    } catch {
      return false;
    }
  }

  /** Walk `path` from /, following links in the middle (and at the end if asked). */
  private resolve(path: string, followLast: boolean): { node: SysfsNode; path: string } {
    if (typeof path !== 'string' || !path.startsWith('/')) fail('ENOENT', `sysfs paths are absolute (start with /); got ${String(path)}`);
    const root: SysfsDir = { kind: 'dir', entries: () => new Map([['sys', sysfsRoot(this.bus)]]) };
    let parts = pathParts(path);
    const names: string[] = [];
    const nodes: SysfsNode[] = [root];
    let hops = 0;
    while (parts.length > 0) {
      const name = parts.shift() as string;
      if (name === '..') {
        if (names.length > 0) {
          names.pop();
          nodes.pop();
        }
        continue;
      }
      const here = nodes[nodes.length - 1];
      if (here.kind !== 'dir') fail('ENOENT', `${path}: /${names.join('/')} is not a directory`);
      const child = here.entries().get(name);
      if (!child) fail('ENOENT', `${path} does not exist (no ${name} in /${names.join('/')})`);
      if (child.kind === 'link' && (parts.length > 0 || followLast)) {
        if (++hops > MAX_LINK_HOPS) fail('ENOENT', `${path}: too many levels of symbolic links`);
        parts = [...pathParts(child.target), ...parts];
        continue;
      }
      names.push(name);
      nodes.push(child);
    }
    return { node: nodes[nodes.length - 1], path: `/${names.join('/')}` };
  }
}
