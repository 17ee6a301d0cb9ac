/**
 * What the device looks like from inside a guest: `lspci -xxvv` and
 * `setserial -g`, as the kernel doc's steps 4 and 5 show them. The daemon
 * keeps a small guest model per device (BIOS-programmed BARs, 8250 driver)
 * that answers these.
 */
import type { CliCommand, CliIO } from './types.js';
import { CONNECT_OPTIONS, flag, optString, parse } from './args.js';
import { print, printJson, withTransport } from './connect.js';
import { uuidArg } from './devices.js';

const USAGE_TAIL = '  --socket PATH | --embedded   reach a running daemon, or run in this process\n  --json            machine-readable output';

const lspci: CliCommand = {
  summary: "the guest's `lspci -xxvv` of a device (kernel doc step 4)",
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
  summary: "the guest's `setserial -g` lines for a device's ports (kernel doc step 5)",
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
