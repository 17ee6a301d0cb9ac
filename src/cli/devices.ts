/**
 * mdevctl-like device verbs: types, create, list, remove. Text output follows
 * mdevctl (`mdevctl types`, `mdevctl list`) so habits carry over; --json
 * prints the daemon's reply as is.
 */
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { CONNECT_OPTIONS, HOST_LINE_OPTION, HOST_LINE_USAGE, flag, hostLines, optString, parse } from './args.js';
import { configDirArg, print, printJson, withTransport } from './connect.js';
import type { DeviceEntry, TypeInfo } from '../control/service.js';
import { isMdevUuid } from '../mdev/uuid.js';

const CONNECT_USAGE = '  --socket PATH     control socket of a running `mtty serve`\n  --embedded        run in this process (no daemon; devices vanish on exit)\n  --json            machine-readable output';

/** mdevctl types' text: the parent, then per type its name line and indented "Available instances", "Device API", "Name", "Description". */
export function formatTypes(types: TypeInfo[]): string {
  const out: string[] = [];
  let parent = '';
  for (const t of types) {
    if (t.parent !== parent) out.push((parent = t.parent));
    out.push(`  ${t.type}`, `    Available instances: ${t.availableInstances}`, `    Device API: ${t.deviceApi}`, `    Name: ${t.name}`);
    if (t.description) out.push(`    Description: ${t.description.replace(/\n/g, ', ')}`);
  }
  return out.join('\n');
}

/** mdevctl types --dumpjson: [{parent: [{type: {available_instances, device_api, name, description?}}]}], or [] for none. */
export function dumpTypesJson(types: TypeInfo[]): string {
  const parents: Record<string, Record<string, unknown>[]> = {};
  for (const t of types) {
    (parents[t.parent] ??= []).push({
      [t.type]: { available_instances: t.availableInstances, device_api: t.deviceApi, ...(t.name ? { name: t.name } : {}), ...(t.description ? { description: t.description } : {}) },
    });
  }
  return JSON.stringify(Object.keys(parents).length ? [parents] : [], null, 2);
}

/**
 * mdevctl list's text: "<uuid> <parent> <type> <auto|manual>" plus " (defined)"
 * for a running device that has a definition, " (active)" for a definition that
 * is running; -v adds "  Attrs:" and one `    @{i}: {"name":"value"}` line per attribute.
 */
export function formatList(entries: DeviceEntry[], defined: boolean, verbose = false): string {
  const out: string[] = [];
  for (const e of entries) {
    out.push(`${e.uuid} ${e.parent} ${e.type} ${e.start}${defined ? (e.active ? ' (active)' : '') : e.defined ? ' (defined)' : ''}`);
    if (verbose && e.attrs?.length) {
      out.push('  Attrs:');
      e.attrs.forEach((a, i) => out.push(`    @{${i}}: ${JSON.stringify(a)}`));
    }
  }
  return out.join('\n');
}

/**
 * mdevctl list --dumpjson: [{parent: [{uuid: {mdev_type, start, attrs}}]}] ([]
 * when empty); with -u and exactly one device, just {mdev_type, start, attrs}
 * (what a definition file holds).
 */
export function dumpListJson(entries: DeviceEntry[], byUuid: boolean): string {
  const body = (e: DeviceEntry) => ({ mdev_type: e.type, start: e.start, attrs: e.attrs ?? [] });
  if (byUuid && entries.length === 1) return JSON.stringify(body(entries[0]), null, 2);
  const parents: Record<string, Record<string, unknown>[]> = {};
  for (const e of entries) (parents[e.parent] ??= []).push({ [e.uuid]: body(e) });
  return JSON.stringify(Object.keys(parents).length ? [parents] : [], null, 2);
}

/** A UUID given to an mdevctl verb: malformed is bad usage (exit 2), as mdevctl's argument parser says. */
export function uuidOption(text: string | undefined, name = '--uuid'): string | undefined {
  if (text === undefined) return undefined;
  if (!isMdevUuid(text)) throw new UsageError(`invalid value '${text}' for '${name} <UUID>': not a UUID (8-4-4-4-12 hex digits)`);
  return text.toLowerCase();
}

const types: CliCommand = {
  summary: 'list mdev types and available instances (mdevctl types)',
  usage: `usage: mtty types [-p|--parent P] [--dumpjson] [--json] [--socket PATH | --embedded]\n  --parent P        only the types of parent P (an unknown parent lists nothing, as mdevctl)\n  --dumpjson        mdevctl's JSON layout\n${CONNECT_USAGE}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...CONNECT_OPTIONS, parent: { type: 'string', short: 'p' }, dumpjson: { type: 'boolean' } });
    const parent = optString(p, 'parent');
    const all = await withTransport(p, (t) => t.call<TypeInfo[]>('types', {}));
    const r = all.filter((t) => parent === undefined || t.parent === parent);
    if (flag(p, 'dumpjson')) print(io, dumpTypesJson(r));
    else if (flag(p, 'json')) printJson(io, r);
    else if (r.length) print(io, formatTypes(r));
    return 0;
  },
};

const create: CliCommand = {
  summary: 'create a mediated device and print its UUID (echo UUID > .../create)',
  usage: `usage: mtty create [--type T] [--uuid U] [--parent P] [--json] [--socket PATH | --embedded]\n  --type T          mdev type (default mtty-2, the kernel doc's dual port)\n  --uuid U          the device's UUID (default: a random one)\n  --parent P        parent device (default mtty)\n${HOST_LINE_USAGE}\n${CONNECT_USAGE}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...CONNECT_OPTIONS, ...HOST_LINE_OPTION, type: { type: 'string', short: 't' }, uuid: { type: 'string', short: 'u' }, parent: { type: 'string', short: 'p' } });
    const args: Record<string, unknown> = { type: optString(p, 'type') ?? 'mtty-2' };
    const host = hostLines(p);
    if (host) args.host = host;
    if (optString(p, 'uuid') !== undefined) args.uuid = optString(p, 'uuid');
    if (optString(p, 'parent') !== undefined) args.parent = optString(p, 'parent');
    const r = await withTransport(p, (t) => t.call<{ uuid: string }>('create', args));
    if (flag(p, 'json')) printJson(io, r);
    else print(io, r.uuid);
    return 0;
  },
};

const list: CliCommand = {
  summary: 'list running devices, or definitions with -d (mdevctl list)',
  usage:
    'usage: mtty list [-d] [-u U] [-p P] [-t T] [-v] [--dumpjson | --json] [--config-dir DIR] [--socket PATH | --embedded]\n' +
    '  -d, --defined     definitions (" (active)" for running ones) instead of running devices (" (defined)")\n' +
    '  -u, --uuid U      only this UUID        -p, --parent P   only this parent\n' +
    '  -t, --type T      only this mdev type (mtty\'s addition; mdevctl 1.2 has no -t)\n' +
    '  -v, --verbose     also each definition\'s attributes\n' +
    "  --dumpjson        mdevctl's JSON: [{parent: [{uuid: {mdev_type, start, attrs}}]}]; with -u and one device, that device's definition\n" +
    '  --config-dir DIR  definition store (default: the daemon\'s; see docs/definitions.md)\n' +
    CONNECT_USAGE,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, {
      ...CONNECT_OPTIONS,
      defined: { type: 'boolean', short: 'd' },
      uuid: { type: 'string', short: 'u' },
      parent: { type: 'string', short: 'p' },
      type: { type: 'string', short: 't' },
      verbose: { type: 'boolean', short: 'v' },
      dumpjson: { type: 'boolean' },
    });
    if (flag(p, 'dumpjson') && flag(p, 'json')) throw new UsageError('--dumpjson and --json exclude each other');
    const defined = flag(p, 'defined');
    const uuid = uuidOption(optString(p, 'uuid'));
    const args: Record<string, unknown> = { defined, ...configDirArg(p) };
    if (uuid !== undefined) args.uuid = uuid;
    for (const k of ['parent', 'type']) if (optString(p, k) !== undefined) args[k] = optString(p, k);
    if (flag(p, 'verbose') || flag(p, 'dumpjson')) args.attrs = true;
    const { devices: r, skipped } = await withTransport(p, (t) => t.call<{ devices: DeviceEntry[]; skipped: { file: string; error: string }[] }>('list', { ...args, report: true }));
    // mdevctl fails the whole listing on one unreadable file; we list the rest and say which were left out.
    for (const s of skipped) io.stderr.write(`mtty list: skipped ${s.file}: ${s.error}\n`);
    if (flag(p, 'dumpjson')) print(io, dumpListJson(r, uuid !== undefined));
    else if (flag(p, 'json')) printJson(io, r);
    else if (r.length) print(io, formatList(r, defined, flag(p, 'verbose')));
    return 0;
  },
};

/** The UUID from `verb <uuid>` or `verb --uuid <uuid>`. */
export function uuidArg(positionals: string[], option: string | undefined): string {
  if (positionals.length && option !== undefined) throw new UsageError('give the UUID once (positional or --uuid)');
  const u = positionals[0] ?? option;
  if (!u) throw new UsageError('missing UUID');
  return u;
}

const remove: CliCommand = {
  summary: 'remove a mediated device (echo 1 > .../remove); waits for its opener to close it',
  usage: `usage: mtty remove <uuid> [--timeout SECONDS] [--json] [--socket PATH | --embedded]\n  --timeout S       give up (EBUSY, device untouched) if its opener (a VMM, a console) has not closed it after S seconds\n${CONNECT_USAGE}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...CONNECT_OPTIONS, uuid: { type: 'string', short: 'u' }, timeout: { type: 'string' } }, 1);
    const uuid = uuidArg(p.positionals, optString(p, 'uuid'));
    const tText = optString(p, 'timeout');
    const timeout = tText === undefined ? undefined : Number(tText);
    if (timeout !== undefined && (!/^\d+(\.\d+)?$/.test(tText!) || !Number.isFinite(timeout))) throw new UsageError(`--timeout must be a number of seconds, got '${tText}'`);
    const r = await withTransport(p, async (t) => {
      // Like the kernel's remove write, this blocks while the device is open: say on whom we wait.
      const d = await t.call<{ openedBy: string | null }>('device', { uuid });
      if (d.openedBy) io.stderr.write(`mtty remove: ${uuid} is open by ${d.openedBy}; waiting for it to close${timeout !== undefined ? ` (up to ${timeout} s)` : ' (as the kernel does; Ctrl-C stops waiting here but the removal completes when it closes; --timeout S gives up instead)'}\n`);
      return t.call<{ uuid: string }>('remove', { uuid, ...(timeout !== undefined ? { timeout } : {}) });
    });
    if (flag(p, 'json')) printJson(io, r);
    return 0;
  },
};

export const commands: Record<string, CliCommand> = { types, create, list, remove };
