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

const CONNECT_USAGE = '  --socket PATH     control socket of a running `mtty serve`\n  --embedded        run in this process (no daemon; devices vanish on exit)\n  --json            machine-readable output';

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

export function formatList(entries: DeviceEntry[], defined: boolean): string {
  return entries
    .map((e) => `${e.uuid} ${e.parent} ${e.type} ${e.start}${defined ? (e.active ? ' (active)' : '') : e.defined ? ' (defined)' : ''}`)
    .join('\n');
}

const types: CliCommand = {
  summary: 'list mdev types and available instances (mdevctl types)',
  usage: `usage: mtty types [--parent P] [--json] [--socket PATH | --embedded]\n${CONNECT_USAGE}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...CONNECT_OPTIONS, parent: { type: 'string', short: 'p' } });
    const parent = optString(p, 'parent');
    const r = await withTransport(p, (t) => t.call<TypeInfo[]>('types', parent ? { parent } : {}));
    if (flag(p, 'json')) printJson(io, r);
    else print(io, formatTypes(r));
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
  summary: 'list devices: "<uuid> <parent> <type> <auto|manual>" (mdevctl list)',
  usage: `usage: mtty list [--defined] [--config-dir DIR] [--json] [--socket PATH | --embedded]\n  --defined, -d     list definitions (with " (active)" for running ones) instead of running devices\n  --config-dir DIR  definitions directory (default $XDG_CONFIG_HOME/mtty)\n${CONNECT_USAGE}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...CONNECT_OPTIONS, defined: { type: 'boolean', short: 'd' } });
    const defined = flag(p, 'defined');
    const r = await withTransport(p, (t) => t.call<DeviceEntry[]>('list', { defined, ...configDirArg(p) }));
    if (flag(p, 'json')) printJson(io, r);
    else if (r.length) print(io, formatList(r, defined));
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
