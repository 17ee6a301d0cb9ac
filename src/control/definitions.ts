/**
 * Persistent device definitions, kept the way mdevctl keeps them: one file
 * per device at <configDir>/<parent>/<uuid> holding
 *   {"mdev_type": "mtty-2", "start": "auto"|"manual", "attrs": [{"name": "value"}, ...]}
 * so a definition can be read, diffed, copied into /etc/mdevctl.d by hand,
 * and survives the daemon. "auto" ones are started when `mtty serve` starts.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../errors/errno.js';
import { isMdevUuid, mdevUuid } from '../mdev/uuid.js';

/** mdevctl's start policy of a definition: 'auto' (started with the daemon) or 'manual'. */
export type StartPolicy = 'auto' | 'manual';

/**
 * A persistent device definition as mdevctl keeps it (<configDir>/<parent>/<uuid>): type, start policy, attributes.
 */
export interface Definition {
  uuid: string;
  parent: string;
  mdev_type: string;
  start: StartPolicy;
  attrs: Record<string, string>[];
}

/** Parent names become directory names: keep them to what sysfs allows and never a path. */
function checkParent(parent: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(parent) || parent === '.' || parent === '..') fail('EINVAL', `bad parent name ${JSON.stringify(parent)}`);
  return parent;
}

export function parseDefinition(text: string, uuid: string, parent: string): Definition {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    fail('EINVAL', `definition ${parent}/${uuid} is not JSON: ${(e as Error).message}`);
  }
  const o = (v ?? {}) as Record<string, unknown>;
  if (typeof o.mdev_type !== 'string' || !o.mdev_type) fail('EINVAL', `definition ${parent}/${uuid} has no "mdev_type"`);
  const start = o.start ?? 'manual';
  if (start !== 'auto' && start !== 'manual') fail('EINVAL', `definition ${parent}/${uuid}: "start" must be "auto" or "manual"`);
  const attrs = o.attrs ?? [];
  if (!Array.isArray(attrs) || !attrs.every((a) => a && typeof a === 'object' && Object.values(a).every((x) => typeof x === 'string'))) {
    fail('EINVAL', `definition ${parent}/${uuid}: "attrs" must be a list of {"name": "value"} objects`);
  }
  return { uuid, parent, mdev_type: o.mdev_type, start, attrs: attrs as Record<string, string>[] };
}

export class DefinitionStore {
  /** Files skipped by the last list() because they did not parse (one bad file must not hide the others). */
  skipped: { file: string; error: string }[] = [];

  constructor(readonly dir: string) {}

  private file(parent: string, uuid: string): string {
    return join(this.dir, checkParent(parent), mdevUuid(uuid));
  }

  async get(uuid: string, parent?: string): Promise<Definition | undefined> {
    const all = await this.list();
    return all.find((d) => d.uuid === uuid.toLowerCase() && (parent === undefined || d.parent === parent));
  }

  async list(): Promise<Definition[]> {
    let parents: string[];
    try {
      parents = (await readdir(this.dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: Definition[] = [];
    const skipped: { file: string; error: string }[] = [];
    for (const parent of parents.sort()) {
      const names = await readdir(join(this.dir, parent));
      // Only UUID-named files are definitions (mdevctl #52: stray files were parsed as configs).
      for (const name of names.filter(isMdevUuid).sort()) {
        const file = join(this.dir, parent, name);
        try {
          out.push(parseDefinition(await readFile(file, 'utf8'), name, parent));
        } catch (e) {
          skipped.push({ file, error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
    this.skipped = skipped;
    return out;
  }

  /** Write a definition; EEXIST unless `replace`. */
  async save(def: Definition, replace = false): Promise<void> {
    const path = this.file(def.parent, def.uuid);
    if (!replace && (await this.get(def.uuid, def.parent))) fail('EEXIST', `device ${def.uuid} is already defined on parent ${def.parent}`);
    await mkdir(join(this.dir, def.parent), { recursive: true, mode: 0o700 });
    const body = JSON.stringify({ mdev_type: def.mdev_type, start: def.start, attrs: def.attrs }, null, 2) + '\n';
    // Write-then-rename so a crash never leaves half a definition for autostart to choke on.
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, body, { mode: 0o600 });
    await rename(tmp, path);
  }

  /** Delete; ENOENT if there is no such definition. */
  async remove(uuid: string, parent?: string): Promise<Definition> {
    const def = await this.get(mdevUuid(uuid), parent);
    if (!def) fail('ENOENT', `device ${uuid} is not defined${parent ? ` on parent ${parent}` : ''}`);
    await rm(this.file(def.parent, def.uuid));
    return def;
  }
}
