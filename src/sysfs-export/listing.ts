/**
 * What the sysfs tree looks like right now, as a flat list of entries an
 * exporter can put on disk: directories, symlinks (relative targets, not
 * followed) and attribute files with their text and access.
 *
 * It walks the facade's own node tree (src/mdev/sysfs-layout.ts, the same
 * nodes `Sysfs` resolves paths through) once, top down, instead of resolving
 * every path from / through the Sysfs API: a whole-tree listing then costs a
 * fraction of a millisecond, which is what keeps a `create` written by mdevctl
 * visible as a device directory quickly.
 */
import type { MdevBus } from '../mdev/bus.js';
import { sysfsRoot } from '../mdev/sysfs-layout.js';
import type { SysfsNode } from '../mdev/sysfs-node.js';

/** 'ro' = readable only (0444), 'rw' = readable and writable (0644), 'wo' = write-only (create, remove: 0600). */
export type AttrAccess = 'ro' | 'rw' | 'wo';

export type ListingEntry =
  | { kind: 'dir'; path: string }
  | { kind: 'link'; path: string; target: string }
  | { kind: 'attr'; path: string; access: AttrAccess; content: string };

/** The whole /sys tree of `bus`, parents before children, names sorted. */
export function listSysfs(bus: MdevBus): ListingEntry[] {
  const out: ListingEntry[] = [];
  walk(sysfsRoot(bus), '/sys', out);
  return out;
}

function walk(node: SysfsNode, path: string, out: ListingEntry[]): void {
  if (node.kind === 'link') {
    out.push({ kind: 'link', path, target: node.target });
  } else if (node.kind === 'dir') {
    out.push({ kind: 'dir', path });
    const entries = node.entries();
    for (const name of [...entries.keys()].sort()) walk(entries.get(name) as SysfsNode, `${path}/${name}`, out);
  } else if (!node.show) {
    out.push({ kind: 'attr', path, access: 'wo', content: '' });
  } else {
    let content = '';
    try {
      content = node.show();
    } catch {
      // power/autosuspend_delay_ms answers EIO; a file can only be empty.
    }
    out.push({ kind: 'attr', path, access: node.store ? 'rw' : 'ro', content });
  }
}
