/**
 * What the device looks like to a guest: `lspci -xxvv` and `setserial -g`,
 * as the kernel doc's steps 4 and 5 show them. Views: they read the device
 * as it is and change nothing (no guest is booted for them). Until a guest
 * has placed the BARs - `mtty console` boots the daemon's guest model, or a
 * VMM does - lspci shows BAR0 0x00000001 and setserial "Port: 0x0000";
 * while a console's guest runs, its names (ttyS1, 00:05.0) are used.
 */
import type { CliCommand, CliIO } from './types.js';
import { CONNECT_OPTIONS, flag, optString, parse } from './args.js';
import { print, printJson, withTransport } from './connect.js';
import { uuidArg } from './devices.js';

const USAGE_TAIL = '  --socket PATH | --embedded   reach a running daemon, or run in this process\n  --json            machine-readable output';

const lspci: CliCommand = {
  summary: '`lspci -xxvv` of a device\'s config space as it is now (kernel doc step 4; changes nothing)',
  usage: `usage: mtty lspci <uuid>\n${USAGE_TAIL}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...CONNECT_OPTIONS, uuid: { type: 'string', short: 'u' } }, 1);
    const uuid = uuidArg(p.positionals, optString(p, 'uuid'));
    const r = await withTransport(p, (t) => t.call<{ text: string }>('lspci', { uuid }));
    if (flag(p, 'json')) printJson(io, r);
    else print(io, r.text);
    return 0;
  },
};

const setserial: CliCommand = {
  summary: '`setserial -g` lines for a device\'s ports from its BARs and IRQ as they are (kernel doc step 5)',
  usage: `usage: mtty setserial <uuid>\n${USAGE_TAIL}`,
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, { ...CONNECT_OPTIONS, uuid: { type: 'string', short: 'u' } }, 1);
    const uuid = uuidArg(p.positionals, optString(p, 'uuid'));
    const r = await withTransport(p, (t) => t.call<{ lines: string[] }>('setserial', { uuid }));
    if (flag(p, 'json')) printJson(io, r);
    else print(io, r.lines.join('\n'));
    return 0;
  },
};

export const commands: Record<string, CliCommand> = { lspci, setserial };
