/**
 * `mtty host attach|detach|show`: what is on the far end of a port's line.
 *
 *   mtty host attach <uuid> <port> <spec> [--force]   loopback | serialport:<dev>[,baud] | pty[:<link>]
 *   mtty host detach <uuid> <port>                    back to loopback (mtty.c's own line)
 *   mtty host show [<uuid> [<port>]]                  every port of a device, or every held line
 *
 * A held line is locked: a second attach is EBUSY (naming the holder) unless
 * --force, the way picocom and minicom refuse a port someone has open.
 */
import process from 'node:process';
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { CONNECT_OPTIONS, flag, parse } from './args.js';
import { print, printJson, withTransport } from './connect.js';
import type { PortLineStatus } from '../control/host-lines.js';

const USAGE = `usage: mtty host attach <uuid> <port> <spec> [--force]
       mtty host detach <uuid> <port>
       mtty host show [<uuid> [<port>]]
  <spec>    loopback                      the port loops back (mtty.c's behaviour, the default)
            serialport:/dev/ttyUSB0[,baud] a host serial device (opened at baud until the guest sets its own)
            pty[:/tmp/ttyMTTY0]           a new pseudo-terminal (and a stable link to it) for picocom/minicom/screen
  --force   take a line someone else holds (their back-end is closed)
  --socket PATH | --embedded, --json      (--embedded: the line lives only as long as this command)`;

/** One line per port: "<uuid> port 0: pty:/tmp/x connected /dev/pts/3 (held by ..., rx 2 tx 1)". */
export function formatLine(s: PortLineStatus): string {
  if (s.kind === 'loopback') return `${s.uuid} port ${s.port}: loopback`;
  const where = s.path ? ` ${s.path}` : '';
  const who = s.holder ? `, held by ${s.holder} since ${s.since}` : '';
  const g = s.guestSettings;
  const settings = g ? `, guest ${g.baud} ${g.dataBits}${g.parity[0]!.toUpperCase()}${g.stopBits}` : '';
  const warn = s.warnings.length ? `\n    note: ${s.warnings.join('\n    note: ')}` : '';
  return `${s.uuid} port ${s.port}: ${s.spec} ${s.state}${where} (rx ${s.rxBytes}, tx ${s.txBytes}${s.txDiscarded ? `, tx discarded ${s.txDiscarded}` : ''}${settings}${who})${warn}`;
}

function portArg(text: string | undefined): number {
  if (text === undefined) throw new UsageError('missing <port>');
  if (!/^\d+$/.test(text)) throw new UsageError(`<port> must be a port number (0, 1), got '${text}'`);
  return Number(text);
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const p = parse(argv, { ...CONNECT_OPTIONS, force: { type: 'boolean', short: 'f' } }, 4);
  const [sub, uuid, portText, spec] = p.positionals;
  const json = flag(p, 'json');
  switch (sub) {
    case 'attach': {
      if (!uuid) throw new UsageError('missing <uuid>');
      const port = portArg(portText);
      if (spec === undefined) throw new UsageError('missing <spec> (loopback, serialport:<dev>[,baud] or pty[:<link>])');
      const holder = `mtty host attach (pid ${process.pid}, uid ${process.getuid?.() ?? '?'})`;
      const r = await withTransport(p, (t) => t.call<PortLineStatus>('host.attach', { uuid, port, spec, force: flag(p, 'force'), holder }));
      if (json) printJson(io, r);
      else print(io, formatLine(r));
      return 0;
    }
    case 'detach': {
      if (!uuid) throw new UsageError('missing <uuid>');
      const port = portArg(portText);
      if (spec !== undefined) throw new UsageError(`unexpected argument '${spec}'`);
      const r = await withTransport(p, (t) => t.call<PortLineStatus>('host.detach', { uuid, port }));
      if (json) printJson(io, r);
      else print(io, formatLine(r));
      return 0;
    }
    case 'show':
    case 'status': {
      if (spec !== undefined) throw new UsageError(`unexpected argument '${spec}'`);
      const args: Record<string, unknown> = {};
      if (uuid) args.uuid = uuid;
      if (portText !== undefined) args.port = portArg(portText);
      const r = await withTransport(p, (t) => t.call<PortLineStatus[]>('host.status', args));
      if (json) printJson(io, r);
      else if (r.length) print(io, r.map(formatLine).join('\n'));
      else if (!uuid) print(io, '(no host lines held: every port loops back)');
      return 0;
    }
    case undefined:
      throw new UsageError('missing subcommand: attach, detach or show');
    default:
      throw new UsageError(`unknown subcommand '${sub}' (attach, detach or show)`);
  }
}

/** `mtty host attach|detach|show`. */
export const commands: Record<string, CliCommand> = {
  host: { summary: "attach, detach or show a port's host line (loopback, serialport:DEV, pty[:LINK])", usage: USAGE, run },
};

