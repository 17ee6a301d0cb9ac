/**
 * Persistent device definitions, stored exactly as mdevctl stores them, so
 * mtty and the real mdevctl read and write one store:
 *
 *   <store>/<parent>/<uuid>   {"mdev_type": "mtty-2", "start": "auto"|"manual", "attrs": [{"name": "value"}, ...]}
 *
 * <store> is mdevctl's /etc/mdevctl.d seen from a root: `DIR/etc/mdevctl.d`
 * with `mtty serve --sysfs-root DIR`, else `$XDG_CONFIG_HOME/mtty/etc/mdevctl.d`
 * (src/control/paths.ts). The file body is mdevctl's own serialization
 * (2-space JSON, no trailing newline), so `diff` between the tools is empty.
 *
 * What is guaranteed (docs/reliability.md, "Definitions"):
 * - define is an exclusive create: the body goes to a unique temp file in the
 *   same directory, is fsync'ed, and is link(2)ed to its name; link fails with
 *   EEXIST if any writer (another daemon, an `mtty --embedded` process, the
 *   real mdevctl) got there first. Exactly one define of a UUID succeeds.
 * - modify and undefine run under the store's lock (in-process mutex +
 *   proper-lockfile's directory lock `<store>.lock`, a sibling the real
 *   mdevctl never lists), so concurrent modifies all apply in some order and
 *   of N concurrent undefines exactly one succeeds (the rest ENOENT).
 * - A readable definition is always whole: modify writes temp + fsync +
 *   rename(2) over the old one; the directory is fsync'ed after every change,
 *   so an acknowledged definition survives kill -9 and a power cut.
 * - Filesystem errors keep their errno (ENOSPC, EDQUOT, EROFS, EACCES, ...);
 *   a failed write removes its temp file; temp files of dead processes are
 *   swept on the first use of a store (and by `mtty serve` at start).
 * The real mdevctl takes no lock and writes in place (check, then
 * O_TRUNC + write): our writes never tear or overwrite its files, but its own
 * define can still race with ours (documented in docs/definitions.md).
 */
import { link, mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { isMdevUuid, mdevUuid as checkUuid } from '../mdev/uuid.js';
import { ERRNO, fail, MttyError, type ErrnoName } from '../errors/errno.js';

/** mdevctl's start policy: "auto" (started when the parent appears, here when `mtty serve` starts) or "manual". */
export type StartPolicy = 'auto' | 'manual';

/** One stored definition: the file `<store>/<parent>/<uuid>` and its JSON body (mdevctl's fields). */
export interface Definition {
  uuid: string;
  parent: string;
  mdev_type: string;
  start: StartPolicy;
  attrs: Record<string, string>[];
  /**
   * Other top-level keys found in the file (a newer mdevctl's, or another
   * tool's), kept through modify and written back after the three above, so
   * changing a definition loses nothing we do not understand.
   */
  extra?: Record<string, unknown>;
}

/** The UUID check (a definition's file name, a CLI argument): src/mdev/uuid.ts is its one home. */
export { checkUuid };

/** Parent names become directory names: keep them to what sysfs allows and never a path. */
export function checkParent(parent: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(parent) || parent === '.' || parent === '..') fail('EINVAL', `bad parent name ${JSON.stringify(parent)}`);
  return parent;
}

/** The list of {"name": "value"} objects mdevctl keeps, or EINVAL naming `what`. */
export function checkAttrs(v: unknown, what: string): Record<string, string>[] {
  if (!Array.isArray(v) || !v.every((a) => a && typeof a === 'object' && !Array.isArray(a) && Object.values(a).every((x) => typeof x === 'string'))) {
    fail('EINVAL', `${what}: "attrs" must be a list of {"name": "value"} objects`);
  }
  return v as Record<string, string>[];
}

/**
 * The fields of an mdevctl JSON definition (a file in the store, or a
 * --jsonfile). mdevctl requires "mdev_type" and "start" ("invalid json"
 * otherwise) and treats any start other than "auto" as manual; so do we.
 */
export function parseDefinitionJson(text: string, what: string): Pick<Definition, 'mdev_type' | 'start' | 'attrs' | 'extra'> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    fail('EINVAL', `${what} is not JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) fail('EINVAL', `${what} is not a JSON object`);
  const o = v as Record<string, unknown>;
  if (typeof o.mdev_type !== 'string' || !o.mdev_type) fail('EINVAL', `${what} has no "mdev_type" string (invalid json)`);
  if (o.start === undefined || o.start === null) fail('EINVAL', `${what} has no "start" (invalid json)`);
  const attrs = o.attrs === undefined || o.attrs === null ? [] : checkAttrs(o.attrs, what);
  const { mdev_type: _t, start: _s, attrs: _a, ...rest } = o;
  return { mdev_type: o.mdev_type, start: o.start === 'auto' ? 'auto' : 'manual', attrs, ...(Object.keys(rest).length ? { extra: rest } : {}) };
}

/** A stored file's text as a Definition; EINVAL ("invalid json" in mdevctl) if it is not one. */
export function parseDefinition(text: string, uuid: string, parent: string): Definition {
  return { uuid, parent, ...parseDefinitionJson(text, `definition ${parent}/${uuid}`) };
}

/** mdevctl's serialization of a definition (serde_json pretty: 2 spaces, no trailing newline). */
export function definitionText(def: Pick<Definition, 'mdev_type' | 'start' | 'attrs' | 'extra'>): string {
  const body: Record<string, unknown> = { mdev_type: def.mdev_type, start: def.start, attrs: def.attrs };
  for (const [k, v] of Object.entries(def.extra ?? {})) if (!(k in body)) body[k] = v;
  return JSON.stringify(body, null, 2);
}

// ---- filesystem helpers ------------------------------------------------------------------

/** A filesystem error as the MttyError a caller should see: a known errno as itself (ENOSPC, EDQUOT, EROFS, EACCES...), else EIO. */
export function fsError(e: unknown, what: string): MttyError {
  if (e instanceof MttyError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && code in ERRNO) return new MttyError(code as ErrnoName, `${what}: ${(e as Error).message}`);
  return new MttyError('EIO', `${what}: ${e instanceof Error ? e.message : String(e)}`);
}

/** fsync a directory so a create/rename/unlink in it is on disk (EINVAL/ENOTSUP: the filesystem cannot, nothing to do). */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw fsError(e, `fsync of ${dir}`);
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** Temp files: dot-named (mdevctl only warns about them), unique per writer, recognisable by the sweep. */
const TMP_RE = /^\.([0-9a-f-]{36})\.mtty-tmp-(\d+)-[0-9a-f]+$/;
/** What mtty before this store wrote (`<uuid>.tmp-<pid>`); swept the same way. */
const LEGACY_TMP_RE = /^([0-9a-f-]{36})\.tmp-(\d+)$/;
/** Temp files this process is writing right now (never swept). */
const inFlight = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Write `body` to a new temp file next to `final`, fsync it; on any failure nothing is left behind. */
async function writeTemp(final: string, uuid: string, body: string): Promise<string> {
  const tmp = join(dirname(final), `.${uuid}.mtty-tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  inFlight.add(tmp);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx', 0o600);
    await fh.writeFile(body);
    await fh.sync();
    await fh.close();
    fh = undefined;
    return tmp;
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await dropTemp(tmp);
    throw fsError(e, `writing the definition ${final}`);
  }
}

async function dropTemp(tmp: string): Promise<void> {
  await unlink(tmp).catch(() => undefined);
  inFlight.delete(tmp);
}

/** In-process serialization per store directory; proper-lockfile does the same across processes. */
const chains = new Map<string, Promise<unknown>>();

// ---- the store ---------------------------------------------------------------------------

/** Which definitions list() returns: one UUID and/or one parent (both optional). */
export interface DefinitionFilter {
  uuid?: string;
  parent?: string;
}

/**
 * mdevctl's definition store at `dir` (its /etc/mdevctl.d): list, define
 * (exclusive), modify and undefine (locked), sweep. Every method fails with an
 * MttyError carrying the errno (EEXIST, ENOENT, EINVAL, ENOSPC, EDQUOT, EROFS,
 * EACCES, EBUSY); see the guarantees at the top of this file.
 */
export class DefinitionStore {
  /** The store directory (mdevctl's /etc/mdevctl.d), absolute. */
  readonly dir: string;
  /** Files skipped by the last list() because they did not parse (one bad file must not hide the others). */
  skipped: { file: string; error: string }[] = [];
  private swept: Promise<string[]> | null = null;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The cross-process lock: a directory next to the store, outside what mdevctl reads. */
  get lockPath(): string {
    return `${this.dir}.lock`;
  }

  private file(parent: string, uuid: string): string {
    return join(this.dir, checkParent(parent), checkUuid(uuid));
  }

  private async parents(): Promise<string[]> {
    try {
      return (await readdir(this.dir, { withFileTypes: true }))
        .filter((e) => e.isDirectory() && e.name !== 'scripts.d' && /^[A-Za-z0-9_.:-]+$/.test(e.name))
        .map((e) => e.name)
        .sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fsError(e, `reading ${this.dir}`);
    }
  }

  /** Every definition (optionally only one UUID and/or parent), sorted by parent then UUID as mdevctl lists them. */
  async list(filter: DefinitionFilter = {}): Promise<Definition[]> {
    const r = await this.scan(filter);
    this.skipped = r.skipped;
    return r.defs;
  }

  /** list(), with the files that were skipped because they do not parse (one bad file must not hide the others). */
  async scan(filter: DefinitionFilter = {}): Promise<{ defs: Definition[]; skipped: { file: string; error: string }[] }> {
    await this.sweepOnce();
    const uuid = filter.uuid === undefined ? undefined : checkUuid(filter.uuid);
    if (filter.parent !== undefined) checkParent(filter.parent);
    const out: Definition[] = [];
    const skipped: { file: string; error: string }[] = [];
    for (const parent of await this.parents()) {
      if (filter.parent !== undefined && parent !== filter.parent) continue;
      let names: string[];
      try {
        names = await readdir(join(this.dir, parent));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
        throw fsError(e, `reading ${join(this.dir, parent)}`);
      }
      // Only UUID-named files are definitions (mdevctl #52: stray files were parsed as configs).
      for (const name of names.filter((n) => isMdevUuid(n) && n === n.toLowerCase() && (uuid === undefined || n === uuid)).sort()) {
        const file = join(this.dir, parent, name);
        try {
          out.push(parseDefinition(await readFile(file, 'utf8'), name, parent));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // undefined while we listed
          skipped.push({ file, error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
    return { defs: out, skipped };
  }

  /**
   * The one definition of `uuid` (on `parent` if given); undefined if none.
   * EINVAL if it is defined on several parents, or if its file does not parse
   * (an unreadable file is not "not defined": it is left for undefine or an editor).
   */
  async get(uuid: string, parent?: string): Promise<Definition | undefined> {
    const { defs, skipped } = await this.scan({ uuid, parent });
    const parents = [...defs.map((d) => d.parent), ...skipped.map((x) => basename(dirname(x.file)))];
    if (parents.length > 1) fail('EINVAL', `${uuid} is defined on several parents (${parents.join(', ')}); give --parent`);
    if (skipped.length) fail('EINVAL', `the definition ${skipped[0].file} cannot be used: ${skipped[0].error}`);
    return defs[0];
  }

  /**
   * Define: exclusive create. EEXIST if the UUID is defined on that parent,
   * whoever wrote it; ENOSPC/EDQUOT/EROFS/EACCES as the filesystem says.
   */
  async define(def: Definition): Promise<Definition> {
    await this.sweepOnce();
    const final = this.file(def.parent, def.uuid);
    const pdir = dirname(final);
    try {
      const made = await mkdir(pdir, { recursive: true, mode: 0o700 });
      if (made !== undefined) await syncDir(dirname(pdir)); // the new parent directory itself must survive
    } catch (e) {
      throw fsError(e, `creating ${pdir}`);
    }
    const tmp = await writeTemp(final, def.uuid, definitionText(def));
    try {
      await link(tmp, final); // atomic, and never replaces: the exclusive create
    } catch (e) {
      await dropTemp(tmp);
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') fail('EEXIST', `device ${def.uuid} is already defined on parent ${def.parent}`);
      throw fsError(e, `storing the definition ${final}`);
    }
    await dropTemp(tmp);
    await syncDir(pdir);
    return def;
  }

  /**
   * Change a definition under the store lock: `change` gets the stored one and
   * returns the new one (or throws to leave it untouched). ENOENT if it is not
   * defined (or was undefined by a concurrent caller).
   */
  async modify(uuid: string, parent: string | undefined, change: (d: Definition) => Definition): Promise<Definition> {
    return this.locked(async () => {
      const cur = await this.get(uuid, parent);
      if (!cur) fail('ENOENT', `mediated device ${parent ? `${parent}/` : ''}${uuid} is not defined`);
      const next = change(structuredClone(cur));
      const final = this.file(cur.parent, cur.uuid);
      const tmp = await writeTemp(final, cur.uuid, definitionText(next));
      try {
        await rename(tmp, final); // atomic replace: a reader sees the old or the new body, never a mix
      } catch (e) {
        await dropTemp(tmp);
        throw fsError(e, `storing the definition ${final}`);
      }
      inFlight.delete(tmp);
      await syncDir(dirname(final));
      return { ...next, uuid: cur.uuid, parent: cur.parent };
    });
  }

  /**
   * Delete under the store lock; every parent's definition of `uuid` unless
   * `parent` is given (as mdevctl). A file that does not parse is removed too
   * (it is what the user wants gone, and mdevctl's own listing fails on it).
   * Returns what was removed: `{uuid, parent}`, with the definition when it was
   * readable. ENOENT if there was nothing.
   */
  async undefine(uuid: string, parent?: string): Promise<{ uuid: string; parent: string; definition?: Definition }[]> {
    return this.locked(async () => {
      const { defs, skipped } = await this.scan({ uuid, parent });
      const targets = [
        ...defs.map((d) => ({ uuid: d.uuid, parent: d.parent, definition: d })),
        ...skipped.map((s) => ({ uuid: basename(s.file), parent: basename(dirname(s.file)) })),
      ];
      const removed: { uuid: string; parent: string; definition?: Definition }[] = [];
      for (const t of targets) {
        const final = this.file(t.parent, t.uuid);
        try {
          await unlink(final);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else (mdevctl) removed it
          throw fsError(e, `removing the definition ${final}`);
        }
        await syncDir(dirname(final));
        removed.push(t);
      }
      if (!removed.length) fail('ENOENT', `device ${checkUuid(uuid)} is not defined${parent ? ` on parent ${parent}` : ''}`);
      return removed;
    });
  }

  /**
   * Remove temp files left by writers that died (kill -9, power cut): ours
   * (`.<uuid>.mtty-tmp-<pid>-<hex>`) and the old `<uuid>.tmp-<pid>`, when that
   * pid is not alive (or is us and not writing it). Returns the files removed.
   */
  async sweep(): Promise<string[]> {
    const removed: string[] = [];
    for (const parent of await this.parents()) {
      const pdir = join(this.dir, parent);
      let names: string[];
      try {
        names = await readdir(pdir);
      } catch {
        continue;
      }
      for (const name of names) {
        const m = TMP_RE.exec(name) ?? LEGACY_TMP_RE.exec(name);
        if (!m) continue;
        const file = join(pdir, name);
        const pid = Number(m[2]);
        if (pid === process.pid ? inFlight.has(file) : processAlive(pid)) continue;
        try {
          await unlink(file);
          removed.push(file);
        } catch {
          // Gone already, or a read-only store: it stays, and listing must still work.
        }
      }
      if (removed.some((f) => dirname(f) === pdir)) await syncDir(pdir).catch(() => undefined);
    }
    return removed;
  }

  /** The first operation on a store sweeps it once (a failing sweep is retried next time). */
  private sweepOnce(): Promise<string[]> {
    this.swept ??= this.sweep().catch((e) => {
      this.swept = null;
      throw e;
    });
    return this.swept;
  }

  /**
   * Run fn holding the store lock: first in this process (a promise chain per
   * directory), then across processes (proper-lockfile: mkdir of `<store>.lock`,
   * refreshed while held, taken over when a holder died and its mtime is older
   * than `stale`). EBUSY if it cannot be had within ~20 s.
   */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const prev = chains.get(this.dir) ?? Promise.resolve();
    const run = prev.then(async () => {
      await this.sweepOnce();
      try {
        await mkdir(dirname(this.dir), { recursive: true, mode: 0o700 });
      } catch (e) {
        throw fsError(e, `creating ${dirname(this.dir)}`);
      }
      const release = await this.acquire();
      try {
        return await fn();
      } finally {
        await release().catch(() => undefined);
      }
    });
    const tail = run.catch(() => undefined);
    chains.set(this.dir, tail);
    void tail.then(() => {
      if (chains.get(this.dir) === tail) chains.delete(this.dir);
    });
    return run;
  }

  /** proper-lockfile's lock, retried here only while another holder has it (its own retries would also retry ENOSPC/EROFS). */
  private async acquire(): Promise<() => Promise<void>> {
    const deadline = Date.now() + 20_000;
    for (let wait = 2; ; wait = Math.min(100, wait * 1.5)) {
      try {
        return await lockfile.lock(this.dir, {
          lockfilePath: this.lockPath,
          realpath: false,
          stale: 5000,
          retries: 0,
          onCompromised: () => undefined, // held for milliseconds; a takeover only means the holder was stalled > 5 s
        });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw fsError(e, `locking ${this.dir}`);
        if (Date.now() > deadline) fail('EBUSY', `the definition store ${this.dir} is locked by another process (${basename(this.lockPath)})`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /**
   * Move definitions from mtty's old layout (`<old>/<parent>/<uuid>`, before
   * the mdevctl store) into this store, so an upgrade loses nothing. A UUID
   * already defined here stays as it is and the old file is kept.
   */
  async adoptLegacy(old: string): Promise<{ moved: string[]; kept: string[] }> {
    const moved: string[] = [];
    const kept: string[] = [];
    const legacy = new DefinitionStore(old);
    if (legacy.dir === this.dir) return { moved, kept };
    for (const parent of await legacy.parents()) {
      if (parent === 'etc') continue; // our own store, when it lives under <old>
      let names: string[];
      try {
        names = (await readdir(join(legacy.dir, parent))).filter((n) => isMdevUuid(n) && n === n.toLowerCase());
      } catch {
        continue;
      }
      for (const name of names) {
        const file = join(legacy.dir, parent, name);
        let def: Definition;
        try {
          def = parseDefinition(await readFile(file, 'utf8'), name, parent);
          await this.define(def);
        } catch {
          kept.push(file);
          continue;
        }
        await unlink(file).catch(() => undefined);
        moved.push(file);
      }
    }
    return { moved, kept };
  }
}
