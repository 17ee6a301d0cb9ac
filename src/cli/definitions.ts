/**
 * mdevctl's persistent verbs: define / modify / start / stop / undefine, with
 * mdevctl's options, rules and exit codes (0 done, 1 failed, 2 bad usage).
 * Definitions live in mdevctl's store layout (control/definitions.ts), so the
 * real mdevctl sees them when it shares the root; start and stop act on the
 * running daemon. `mtty serve` starts "auto" ones.
 *
 * Where mtty adds to mdevctl 1.2: --parent defaults to mtty's only parent,
 * `define --manual`, `modify --jsonfile` (upstream's later addition), UUIDs
 * as a positional argument, --json. Where it is stricter: define/modify check
 * the type against the parent (mdevctl accepts any name and fails at start).
 */
import { readFile } from 'node:fs/promises';
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { CONNECT_OPTIONS, HOST_LINE_OPTION, HOST_LINE_USAGE, flag, hostLines, optInt, optString, parse, type Parsed } from './args.js';
import { configDirArg, print, printJson, withTransport } from './connect.js';
import { uuidArg, uuidOption } from './devices.js';
import { fsError, parseDefinitionJson, type Definition } from '../control/definitions.js';

const COMMON =
  '  --config-dir DIR  definition store (default: the daemon\'s: ROOT/etc/mdevctl.d with serve --sysfs-root ROOT, else $XDG_CONFIG_HOME/mtty/etc/mdevctl.d)\n' +
  '  --socket PATH | --embedded   reach a running daemon, or run in this process\n  --json            machine-readable output';

const DEVICE_OPTIONS = {
  ...CONNECT_OPTIONS,
  uuid: { type: 'string', short: 'u' },
  type: { type: 'string', short: 't' },
  parent: { type: 'string', short: 'p' },
} as const;

function pick(p: Parsed, ...names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = optString(p, n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}

/** An mdevctl JSON definition file: read errors keep their errno (ENOENT, EACCES, ...), bad JSON is EINVAL. */
async function readJsonFile(file: string): Promise<ReturnType<typeof parseDefinitionJson>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw fsError(e, `unable to read jsonfile ${file}`);
  }
  return parseDefinitionJson(text, `jsonfile ${file}`);
}

/** Options that exclude each other, as mdevctl's argument parser refuses them (exit 2). */
function exclusive(p: Parsed, a: string, ...others: string[]): void {
  if (p.values[a] === undefined) return;
  for (const o of others) if (p.values[o] !== undefined) throw new UsageError(`the argument '--${a}' cannot be used with '--${o}'`);
}

/** The UUID from -u or a positional argument, checked (malformed: exit 2). */
function deviceUuid(p: Parsed, required: boolean): string | undefined {
  if (!required && !p.positionals.length && optString(p, 'uuid') === undefined) return undefined;
  return uuidOption(uuidArg(p.positionals, optString(p, 'uuid')), p.positionals.length ? 'UUID' : '--uuid');
}

const define: CliCommand = {
  summary: 'define a persistent device (mdevctl define); prints the UUID it generated',
  usage:
    'usage: mtty define [-u U] [-p P] [-t T] [-a | -m] [--jsonfile F]\n' +
    '  -u, --uuid U      UUID (default: a random one, printed); a running device without -t is promoted\n' +
    '  -p, --parent P    parent (default mtty)        -t, --type T   mdev type\n' +
    '  -a, --auto        start it whenever `mtty serve` starts (its parent appears)\n' +
    '  -m, --manual      start it only with `mtty start` (default)\n' +
    '  --jsonfile F      type, start and attrs from an mdevctl JSON file (not with -t/-a/-m)\n' +
    `${HOST_LINE_USAGE} (stored as "mtty_host", attached at start)\n` +
    COMMON,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...DEVICE_OPTIONS, ...HOST_LINE_OPTION, auto: { type: 'boolean', short: 'a' }, manual: { type: 'boolean', short: 'm' }, jsonfile: { type: 'string' } }, 1);
    exclusive(p, 'jsonfile', 'type', 'auto', 'manual');
    exclusive(p, 'auto', 'manual');
    const uuid = deviceUuid(p, false);
    const args: Record<string, unknown> = { ...pick(p, 'type', 'parent'), ...configDirArg(p) };
    if (uuid !== undefined) args.uuid = uuid;
    const file = optString(p, 'jsonfile');
    if (file !== undefined) {
      const j = await readJsonFile(file);
      Object.assign(args, { type: j.mdev_type, start: j.start, attrs: j.attrs });
    }
    const host = hostLines(p);
    if (host) args.host = host;
    if (flag(p, 'auto')) args.start = 'auto';
    if (flag(p, 'manual')) args.start = 'manual';
    const r = await withTransport(p, (t) => t.call<Definition>('define', args));
    if (flag(p, 'json')) printJson(io, r);
    else if (uuid === undefined) print(io, r.uuid); // as mdevctl: only a generated UUID is printed
    return 0;
  },
};

const modify: CliCommand = {
  summary: "change a definition (mdevctl modify); a running device is not touched",
  usage:
    'usage: mtty modify -u U [-p P] [-t T] [-a | -m] [--addattr NAME --value V | --delattr] [-i N] [--jsonfile F]\n' +
    '  -t, --type T      new mdev type\n' +
    '  -a, --auto / -m, --manual   start policy\n' +
    '  --addattr NAME --value V    add an attribute (written to the device after create, in order), at the end or at -i\n' +
    '  --delattr         delete the last attribute, or the one at -i\n' +
    '  -i, --index N     attribute position (0 = first)\n' +
    '  --jsonfile F      replace type, start and attrs with an mdevctl JSON file (alone)\n' +
    COMMON,
  async run(argv: string[], io: CliIO) {
    const p = parse(
      argv,
      {
        ...DEVICE_OPTIONS,
        auto: { type: 'boolean', short: 'a' },
        manual: { type: 'boolean', short: 'm' },
        addattr: { type: 'string' },
        value: { type: 'string' },
        delattr: { type: 'boolean' },
        index: { type: 'string', short: 'i' },
        jsonfile: { type: 'string' },
      },
      1,
    );
    exclusive(p, 'auto', 'manual');
    exclusive(p, 'delattr', 'addattr');
    exclusive(p, 'jsonfile', 'type', 'auto', 'manual', 'addattr', 'delattr', 'index', 'value');
    if (p.values.addattr !== undefined && p.values.value === undefined) throw new UsageError("--addattr needs --value <attr_value>");
    const args: Record<string, unknown> = { uuid: deviceUuid(p, true), ...pick(p, 'type', 'parent'), ...configDirArg(p) };
    if (flag(p, 'auto')) args.start = 'auto';
    if (flag(p, 'manual')) args.start = 'manual';
    const index = optInt(p, 'index');
    if (index !== undefined) args.index = index;
    const name = optString(p, 'addattr');
    if (name !== undefined) args.addattr = { name, value: optString(p, 'value') };
    if (flag(p, 'delattr')) args.delattr = true;
    const file = optString(p, 'jsonfile');
    if (file !== undefined) args.definition = await readJsonFile(file);
    const r = await withTransport(p, (t) => t.call<Definition>('modify', args));
    if (flag(p, 'json')) printJson(io, r);
    return 0;
  },
};

const start: CliCommand = {
  summary: 'start a defined device, or a transient one with -t or --jsonfile (mdevctl start)',
  usage:
    'usage: mtty start [-u U] [-p P] [-t T | --jsonfile F]\n' +
    '  -u U alone        create the device as defined (attributes written in order)\n' +
    '  -t T or --jsonfile F   fully specified: a transient device from these arguments only\n' +
    "                    (random UUID unless -u, printed); --jsonfile's attrs are written after create\n" +
    `${HOST_LINE_USAGE} (over the definition's)\n` +
    COMMON,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...DEVICE_OPTIONS, ...HOST_LINE_OPTION, jsonfile: { type: 'string' } }, 1);
    exclusive(p, 'jsonfile', 'type');
    const uuid = deviceUuid(p, false);
    const args: Record<string, unknown> = { ...pick(p, 'type', 'parent'), ...configDirArg(p) };
    if (uuid !== undefined) args.uuid = uuid;
    const file = optString(p, 'jsonfile');
    if (file !== undefined) {
      const j = await readJsonFile(file);
      Object.assign(args, { type: j.mdev_type, attrs: j.attrs });
    }
    const host = hostLines(p);
    if (host) args.host = host;
    if (args.uuid === undefined && args.type === undefined) throw new UsageError('give -u of a definition, or -t / --jsonfile (the device is insufficiently specified)');
    const r = await withTransport(p, (t) => t.call<{ uuid: string }>('start', args));
    if (flag(p, 'json')) printJson(io, r);
    else if (uuid === undefined) print(io, r.uuid); // as mdevctl: only a generated UUID is printed
    return 0;
  },
};

const stop: CliCommand = {
  summary: 'stop (remove) a running device; its definition stays (mdevctl stop)',
  usage: `usage: mtty stop -u U\n${COMMON}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, DEVICE_OPTIONS, 1);
    const uuid = deviceUuid(p, true);
    const r = await withTransport(p, (t) => t.call('stop', { uuid }));
    if (flag(p, 'json')) printJson(io, r);
    return 0;
  },
};

const undefine: CliCommand = {
  summary: "delete a definition (every parent's, unless -p); a running device keeps running (mdevctl undefine)",
  usage: `usage: mtty undefine -u U [-p P]\n${COMMON}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, DEVICE_OPTIONS, 1);
    const uuid = deviceUuid(p, true);
    const r = await withTransport(p, (t) => t.call<{ uuid: string; parent: string }[]>('undefine', { uuid, ...pick(p, 'parent'), ...configDirArg(p) }));
    if (flag(p, 'json')) printJson(io, r);
    return 0;
  },
};

export const commands: Record<string, CliCommand> = { define, modify, start, stop, undefine };
