/**
 * Read-only verbs for the daemon's read-only ops that had none: the parent's
 * sysfs tree (kernel doc step 1), single sysfs files and directories, one
 * device's state and opener, the console guest's dmesg, and the daemon
 * itself (ping, ops). None of them changes anything.
 */
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { CONNECT_OPTIONS, flag, optString, parse } from './args.js';
import { print, printJson, withTransport } from './connect.js';
import { uuidArg } from './devices.js';

const PARENT = '/sys/devices/virtual/mtty/mtty/';
const TAIL = '  --socket PATH | --embedded   reach a running daemon, or run in this process\n  --json            machine-readable output';

function pathVerb(op: string, summary: string, usage: string, fallback: string | undefined, show: (r: unknown) => string): CliCommand {
  return {
    summary,
    usage: `${usage}\n${TAIL}`,
    async run(argv: string[], io: CliIO) {
      const p = parse(argv, CONNECT_OPTIONS, 1);
      const path = p.positionals[0] ?? fallback;
      if (path === undefined) throw new UsageError('missing PATH');
      const r = await withTransport(p, (t) => t.call(op, { path }));
      if (flag(p, 'json')) printJson(io, r);
      else print(io, show(r));
      return 0;
    },
  };
}

const tree = pathVerb(
  'sysfs.tree',
  "`tree` of the mtty parent in sysfs, or of PATH (kernel doc step 1)",
  `usage: mtty tree [PATH]          (default ${PARENT})`,
  PARENT,
  (r) => (r as { text: string }).text,
);
const cat = pathVerb('sysfs.read', 'print a sysfs attribute (cat /sys/...)', 'usage: mtty cat PATH', undefined, (r) => (r as { text: string }).text);
const ls = pathVerb('sysfs.list', 'list a sysfs directory (ls /sys/...)', 'usage: mtty ls PATH', undefined, (r) => (r as string[]).join('\n'));

const info: CliCommand = {
  summary: "a device's parent, type, state and who has it open",
  usage: `usage: mtty info <uuid>\n${TAIL}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...CONNECT_OPTIONS, uuid: { type: 'string', short: 'u' } }, 1);
    const uuid = uuidArg(p.positionals, optString(p, 'uuid'));
    const r = await withTransport(p, (t) => t.call<{ uuid: string; parent: string; type: string; state: string; openedBy: string | null }>('device', { uuid }));
    if (flag(p, 'json')) printJson(io, r);
    else print(io, `${r.uuid} ${r.parent} ${r.type} ${r.state}, ${r.openedBy ? `open by ${r.openedBy}` : 'not open'}`);
    return 0;
  },
};

const dmesg: CliCommand = {
  summary: "the console guest's kernel log for a device (empty while no console runs on it)",
  usage: `usage: mtty dmesg <uuid>\n${TAIL}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...CONNECT_OPTIONS, uuid: { type: 'string', short: 'u' } }, 1);
    const uuid = uuidArg(p.positionals, optString(p, 'uuid'));
    const r = await withTransport(p, (t) => t.call<{ lines: string[]; guest: boolean }>('dmesg', { uuid }));
    if (flag(p, 'json')) printJson(io, r);
    else if (r.guest) print(io, r.lines.join('\n'));
    else io.stderr.write('mtty dmesg: no guest runs on this device (start one with `mtty console`)\n');
    return 0;
  },
};

const ping: CliCommand = {
  summary: 'check that the daemon answers (its pid and protocol version)',
  usage: `usage: mtty ping\n${TAIL}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, CONNECT_OPTIONS);
    const r = await withTransport(p, (t) => t.call<{ pid: number; version: number }>('ping'));
    if (flag(p, 'json')) printJson(io, r);
    else print(io, `mtty daemon pid ${r.pid}, protocol ${r.version}`);
    return 0;
  },
};

const ops: CliCommand = {
  summary: 'list the control socket operations the daemon answers',
  usage: `usage: mtty ops\n${TAIL}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, CONNECT_OPTIONS);
    const r = await withTransport(p, (t) => t.call<string[]>('ops'));
    if (flag(p, 'json')) printJson(io, r);
    else print(io, r.join('\n'));
    return 0;
  },
};

/** The read-only verbs: tree, cat, ls, info, dmesg, ping, ops. */
export const commands: Record<string, CliCommand> = { tree, cat, ls, info, dmesg, ping, ops };
