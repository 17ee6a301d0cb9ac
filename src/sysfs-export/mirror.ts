/**
 * Put a facade listing on disk under a root directory, changing only what
 * differs: real directories, relative symlinks (they resolve inside the root
 * exactly as in /sys) and regular files. Readable files are replaced by an
 * atomic rename so a reader never sees half a value; write-only attributes
 * (create, remove) are FIFOs (see attr-watcher.ts for why), made with
 * mkfifo(1) since Node has no mkfifo, all new ones of a sync in one call.
 * Temporary files are created with O_EXCL, which never follows a symlink.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ListingEntry } from './listing.js';

const MODE: Record<string, number> = { ro: 0o444, rw: 0o644, wo: 0o600 };

/** The on-disk path of facade path `p` (absolute, starting with /sys) under `root`. */
export function diskPath(root: string, p: string): string {
  return join(root, p);
}

/** Make `root` + the listing's paths look exactly like the listing; returns the number of changes made. */
export function applyListing(root: string, entries: ListingEntry[]): number {
  let changes = 0;
  const fifos: string[] = [];
  const wanted = new Map<string, Set<string>>(); // dir disk path -> child names it should hold
  const want = (p: string) => {
    const d = diskPath(root, p);
    const slash = d.lastIndexOf('/');
    const parent = d.slice(0, slash);
    const set = wanted.get(parent) ?? new Set<string>();
    set.add(d.slice(slash + 1));
    wanted.set(parent, set);
    return d;
  };
  for (const e of entries) {
    const d = want(e.path);
    const st = lstatOrNull(d);
    if (e.kind === 'dir') {
      if (!wanted.has(d)) wanted.set(d, new Set());
      if (st?.isDirectory()) continue;
      if (st) rmSync(d, { recursive: true, force: true });
      mkdirSync(d, { recursive: true, mode: 0o755 });
      changes++;
    } else if (e.kind === 'link') {
      if (st?.isSymbolicLink() && readlinkSync(d) === e.target) continue;
      if (st) rmSync(d, { recursive: true, force: true });
      symlinkSync(e.target, d);
      changes++;
    } else if (e.access === 'wo') {
      if (st?.isFIFO()) continue;
      if (st) rmSync(d, { recursive: true, force: true });
      fifos.push(d);
      changes++;
    } else {
      if (st?.isFile() && (st.mode & 0o777) === MODE[e.access] && readFileSync(d, 'utf8') === e.content) continue;
      if (st?.isDirectory()) rmSync(d, { recursive: true, force: true });
      const tmp = join(d, '..', `.${e.path.slice(e.path.lastIndexOf('/') + 1)}.mtty-tmp`);
      rmSync(tmp, { force: true });
      writeFileSync(tmp, e.content, { mode: MODE[e.access], flag: 'wx' });
      renameSync(tmp, d);
      changes++;
    }
  }
  if (fifos.length > 0) {
    const r = spawnSync('mkfifo', ['-m', MODE.wo.toString(8), '--', ...fifos], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mkfifo failed: ${r.error?.message ?? r.stderr.trim()}`);
  }
  // Remove what the facade no longer has (devices gone, links dropped at the start of a removal).
  for (const [dir, names] of wanted) {
    let present: string[];
    try {
      present = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of present) {
      if (names.has(n) || dir === root) continue;
      rmSync(join(dir, n), { recursive: true, force: true });
      changes++;
    }
  }
  return changes;
}

function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}
