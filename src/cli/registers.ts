/**
 * `mtty reg`: read or write one UART register of a device's port, as a
 * student pokes a chip to see what it answers. Reads have the chip's side
 * effects (reading RBR consumes a byte, like inb would).
 */
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { CONNECT_OPTIONS, flag, optInt, parse } from './args.js';
import { print, printJson, withTransport } from './connect.js';

const NAMES: Record<string, number> = { rbr: 0, thr: 0, dll: 0, ier: 1, dlm: 1, iir: 2, fcr: 2, lcr: 3, mcr: 4, lsr: 5, msr: 6, scr: 7 };

const reg: CliCommand = {
  summary: 'read or write a UART register of a device port (for experiments)',
  usage:
    'usage: mtty reg <uuid> <port> <reg> [value]\n' +
    '  <port>   0 or 1 (BAR0 / BAR1)\n  <reg>    0-7 or a name: rbr thr ier iir fcr lcr mcr lsr msr scr dll dlm\n' +
    '  [value]  write this byte (decimal or 0x hex) instead of reading\n  --socket PATH | --embedded, --json',
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, CONNECT_OPTIONS, 4);
    const [uuid, portText, regText, valueText] = p.positionals;
    if (!uuid || portText === undefined || regText === undefined) throw new UsageError('need <uuid> <port> <reg>');
    const port = optInt(p, 'port', portText)!;
    const name = regText.toLowerCase();
    const r = Object.hasOwn(NAMES, name) ? NAMES[name] : optInt(p, 'reg', regText)!;
    if (valueText !== undefined) {
      const value = optInt(p, 'value', valueText)!;
      await withTransport(p, (t) => t.call('reg.write', { uuid, port, reg: r, value }));
      if (flag(p, 'json')) printJson(io, { uuid, port, reg: r, value });
      return 0;
    }
    const res = await withTransport(p, (t) => t.call<{ value: number }>('reg.read', { uuid, port, reg: r }));
    if (flag(p, 'json')) printJson(io, { uuid, port, reg: r, ...res });
    else print(io, `0x${res.value.toString(16).padStart(2, '0')}`);
    return 0;
  },
};

export const commands: Record<string, CliCommand> = { reg };
