/**
 * The three kinds of thing a sysfs path can name. Directories list their
 * entries on demand, so the tree always reflects the bus as it is now.
 */
export interface SysfsDir {
  kind: 'dir';
  entries(): Map<string, SysfsNode>;
}

/** An attribute file: no `show` = write-only, no `store` = read-only (mode 0200 / 0444). */
export interface SysfsAttr {
  kind: 'attr';
  show?: () => string;
  store?: (text: string) => number | Promise<number>;
}

/** A symbolic link with a target relative to the directory holding it. */
export interface SysfsLink {
  kind: 'link';
  target: string;
}

export type SysfsNode = SysfsDir | SysfsAttr | SysfsLink;

export function dir(build: () => Iterable<[string, SysfsNode]>): SysfsDir {
  return { kind: 'dir', entries: () => new Map(build()) };
}

export function readOnly(show: () => string): SysfsAttr {
  return { kind: 'attr', show };
}

export function writeOnly(store: (text: string) => number | Promise<number>): SysfsAttr {
  return { kind: 'attr', store };
}

export function link(target: string): SysfsLink {
  return { kind: 'link', target };
}

/** Split an absolute path into components ('' and '.' dropped, '..' kept for the resolver). */
export function pathParts(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/** The relative link target from directory `fromDir` to `to` (both absolute), as sysfs links are. */
export function relativeTarget(fromDir: string, to: string): string {
  const from = pathParts(fromDir);
  const dest = pathParts(to);
  let common = 0;
  while (common < from.length && common < dest.length && from[common] === dest[common]) common++;
  const ups = from.slice(common).map(() => '..');
  return [...ups, ...dest.slice(common)].join('/') || '.';
}
