/**
 * `mtty reg`: look at or poke one UART register of a device's port, as a
 * student pokes a chip to see what it answers.
 *
 * A plain read is a view: it peeks (the value a read would return, without a
 * read's side effects), so looking never changes the device. `--consume` does
 * a real read, with the chip's side effects (RBR takes a byte, LSR clears OE,
 * IIR clears a THRE interrupt), like inb would. Writes and consuming reads
 * are refused (EBUSY) while a VMM has the device open.
 */
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { CONNECT_OPTIONS, flag, optInt, parse, type Parsed } from './args.js';
import { print, printJson, withTransport } from './connect.js';
import { fail } from '../errors/errno.js';
import { registerName } from '../uart/registers.js';
import { REGISTER_NAMES } from '../control/service.js';

const NAMES_TEXT = Object.keys(REGISTER_NAMES).join(' ');

/** The names that hold only for one value of LCR.DLAB (true: DLAB=1). */
const DLAB_NAMES: Readonly<Record<string, boolean>> = { dll: true, dlm: true, rbr: false, thr: false, ier: false };

const USAGE =
  'usage: mtty reg <uuid> <port> <reg> [value] [--consume]\n' +
  '  <port>      0 or 1 (BAR0 / BAR1)\n' +
  `  <reg>       0-7 or a name: ${NAMES_TEXT}\n` +
  '  [value]     write this byte (0-255, decimal or 0x hex) instead of reading\n' +
  "  --consume   a real read with the chip's side effects (default: peek, which changes nothing)\n" +
  '  --socket PATH | --embedded, --json';

/** A number as the user typed it (decimal, 0x hex, possibly negative), or NaN. */
function number(text: string): number {
  if (/^-?0x[0-9a-f]+$/i.test(text)) return (text.startsWith('-') ? -1 : 1) * parseInt(text.replace(/^-/, ''), 16);
  if (/^-?\d+$/.test(text)) return Number(text);
  return NaN;
}

/** "lsr" or "5" -> 5; anything else is bad usage listing the valid names (exit 2, no daemon asked). */
export function registerOffset(text: string): number {
  const name = text.toLowerCase();
  if (Object.hasOwn(REGISTER_NAMES, name)) return REGISTER_NAMES[name]!;
  const n = number(text);
  if (Number.isInteger(n) && n >= 0 && n <= 7) return n;
  throw new UsageError(`unknown register '${text}': use an offset 0-7 or one of ${NAMES_TEXT}`);
}

/**
 * Offsets 0 and 1 are two registers each, chosen by LCR.DLAB (PC16550D table 2): a name that
 * does not match the current DLAB would silently hit the other register, so it is EINVAL,
 * naming the register the offset is now and the LCR write that selects the named one.
 */
async function checkDlabName(p: Parsed, uuid: string, port: number, r: number, regText: string, dir: 'r' | 'w'): Promise<void> {
  const dlabWanted = DLAB_NAMES[regText.toLowerCase()];
  if (dlabWanted === undefined) return;
  const lcr = await withTransport(p, (t) => t.call<{ value: number }>('reg.peek', { uuid, port, reg: 3 }));
  const dlab = (lcr.value & 0x80) !== 0;
  if (dlab === dlabWanted) return;
  const hex = (v: number) => `0x${v.toString(16).padStart(2, '0')}`;
  fail('EINVAL', `${regText.toUpperCase()} is offset ${r} only while LCR.DLAB is ${dlabWanted ? 1 : 0}; LCR is ${hex(lcr.value)}, so offset ${r} is ${registerName(r, dir, dlab)} now` +
    ` (set DLAB with: mtty reg ${uuid} ${port} lcr ${hex(dlabWanted ? lcr.value | 0x80 : lcr.value & 0x7f)})`);
}

const reg: CliCommand = {
  summary: 'peek at, read or write a UART register of a device port (peeks change nothing)',
  usage: USAGE,
  async run(argv: string[], io: CliIO) {
    // A negative value is an argument to range-check, not an option: positionals go after "--".
    const options: string[] = [];
    const positionals: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (!a.startsWith('-') || /^-(\d|0x)/i.test(a)) positionals.push(a);
      else {
        options.push(a);
        if ((a === '--socket' || a === '--config-dir') && i + 1 < argv.length) options.push(argv[++i]!);
      }
    }
    const p = parse([...options, '--', ...positionals], { ...CONNECT_OPTIONS, consume: { type: 'boolean' } }, 4);
    const [uuid, portText, regText, valueText] = positionals;
    if (!uuid || portText === undefined || regText === undefined) throw new UsageError('need <uuid> <port> <reg>');
    const port = optInt(p, 'port', portText)!;
    const r = registerOffset(regText);
    if (valueText !== undefined) {
      if (flag(p, 'consume')) throw new UsageError('--consume is for reads; a write always changes the chip');
      const value = number(valueText);
      if (!Number.isInteger(value) || value < 0 || value > 0xff) fail('EINVAL', `register value must be 0..255 (0x00-0xff); got '${valueText}'`);
      await checkDlabName(p, uuid, port, r, regText, 'w');
      await withTransport(p, (t) => t.call('reg.write', { uuid, port, reg: r, value }));
      if (flag(p, 'json')) printJson(io, { uuid, port, reg: r, value });
      return 0;
    }
    await checkDlabName(p, uuid, port, r, regText, 'r');
    const op = flag(p, 'consume') ? 'reg.read' : 'reg.peek';
    const res = await withTransport(p, (t) => t.call<{ value: number }>(op, { uuid, port, reg: r }));
    if (flag(p, 'json')) printJson(io, { uuid, port, reg: r, ...res });
    else print(io, `0x${res.value.toString(16).padStart(2, '0')}`);
    return 0;
  },
};

export const commands: Record<string, CliCommand> = { reg };
