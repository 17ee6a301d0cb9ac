/**
 * mdevctl's persistent verbs: define / start / stop / undefine. Definitions
 * are JSON files in the config directory (see control/definitions.ts); start
 * and stop act on the running daemon. `mtty serve` starts "auto" ones.
 */
import { readFile } from 'node:fs/promises';
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { CONNECT_OPTIONS, HOST_LINE_OPTION, HOST_LINE_USAGE, flag, hostLines, optString, parse } from './args.js';
import { configDirArg, print, printJson, withTransport } from './connect.js';
import { uuidArg } from './devices.js';
import type { Definition } from '../control/definitions.js';
import { MttyError } from '../errors/errno.js';

const COMMON = '  --config-dir DIR  definitions directory (default $XDG_CONFIG_HOME/mtty, else ~/.config/mtty)\n  --socket PATH | --embedded   reach a running daemon, or run in this process\n  --json            machine-readable output';

const DEVICE_OPTIONS = {
  ...CONNECT_OPTIONS,
  uuid: { type: 'string', short: 'u' },
  type: { type: 'string', short: 't' },
  parent: { type: 'string', short: 'p' },
} as const;

function pick(p: ReturnType<typeof parse>, ...names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = optString(p, n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}

const define: CliCommand = {
  summary: 'define a persistent device (mdevctl define); prints its UUID',
  usage: `usage: mtty define [--uuid U] [--type T] [--parent P] [--auto | --manual] [--jsonfile F]\n  --uuid U          UUID (default: random); a running device without --type is promoted\n  --auto            start it whenever \`mtty serve\` starts\n  --manual          start it only with \`mtty start\` (default)\n  --jsonfile F      take mdev_type/start/attrs from an mdevctl-style JSON file\n${HOST_LINE_USAGE} (stored, attached at start)\n${COMMON}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...DEVICE_OPTIONS, ...HOST_LINE_OPTION, auto: { type: 'boolean', short: 'a' }, manual: { type: 'boolean', short: 'm' }, jsonfile: { type: 'string' } });
    if (flag(p, 'auto') && flag(p, 'manual')) throw new UsageError('--auto and --manual exclude each other');
    const args: Record<string, unknown> = { ...pick(p, 'uuid', 'type', 'parent'), ...configDirArg(p) };
    const file = optString(p, 'jsonfile');
    if (file) {
      let j: Record<string, unknown>;
      try {
        j = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new MttyError('EINVAL', `cannot read definition file ${file}: ${(e as Error).message}`);
      }
      if (args.type === undefined && j.mdev_type !== undefined) args.type = j.mdev_type;
      if (j.start !== undefined) args.start = j.start;
      if (j.attrs !== undefined) args.attrs = j.attrs;
    }
    const host = hostLines(p);
    if (host) args.host = host;
    if (flag(p, 'auto')) args.start = 'auto';
    if (flag(p, 'manual')) args.start = 'manual';
    const r = await withTransport(p, (t) => t.call<Definition>('define', args));
    if (flag(p, 'json')) printJson(io, r);
    else print(io, r.uuid);
    return 0;
  },
};

const start: CliCommand = {
  summary: 'start a defined device, or a transient one with --type (mdevctl start)',
  usage: `usage: mtty start [--uuid U] [--type T] [--parent P]\n  with --uuid of a definition: create it as defined (attributes applied in order)\n  with --type: create a transient device (random UUID unless --uuid); prints the UUID\n${HOST_LINE_USAGE} (over the definition's)\n${COMMON}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...DEVICE_OPTIONS, ...HOST_LINE_OPTION }, 1);
    const args: Record<string, unknown> = { ...pick(p, 'type', 'parent'), ...configDirArg(p) };
    const host = hostLines(p);
    if (host) args.host = host;
    if (p.positionals.length || optString(p, 'uuid') !== undefined) args.uuid = uuidArg(p.positionals, optString(p, 'uuid'));
    if (args.uuid === undefined && args.type === undefined) throw new UsageError('give --uuid of a definition, or --type');
    const r = await withTransport(p, (t) => t.call<{ uuid: string }>('start', args));
    if (flag(p, 'json')) printJson(io, r);
    else print(io, r.uuid);
    return 0;
  },
};

const stop: CliCommand = {
  summary: 'stop (remove) a running device; its definition stays (mdevctl stop)',
  usage: `usage: mtty stop <uuid>\n${COMMON}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, DEVICE_OPTIONS, 1);
    const uuid = uuidArg(p.positionals, optString(p, 'uuid'));
    const r = await withTransport(p, (t) => t.call('stop', { uuid }));
    if (flag(p, 'json')) printJson(io, r);
    return 0;
  },
};

const undefine: CliCommand = {
  summary: 'delete a definition; a running device keeps running (mdevctl undefine)',
  usage: `usage: mtty undefine <uuid> [--parent P]\n${COMMON}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, DEVICE_OPTIONS, 1);
    const uuid = uuidArg(p.positionals, optString(p, 'uuid'));
    const r = await withTransport(p, (t) => t.call<Definition>('undefine', { uuid, ...pick(p, 'parent'), ...configDirArg(p) }));
    if (flag(p, 'json')) printJson(io, r);
    return 0;
  },
};

export const commands: Record<string, CliCommand> = { define, start, stop, undefine };
