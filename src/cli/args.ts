/**
 * Option parsing shared by the mtty verbs: node's util.parseArgs with strict
 * checking, turning its errors into UsageError (exit 2) with the verb's usage.
 * The options every daemon-talking verb accepts are defined once here.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './types.js';
import { findUartProfile, UART_PROFILES, UART_PROFILE_NAMES, type UartProfile } from '../uart/profile.js';

type OptionDef = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };
export type OptionDefs = Record<string, OptionDef>;

/** --socket, --embedded, --json and --config-dir: how to reach the daemon and how to print. */
export const CONNECT_OPTIONS: OptionDefs = {
  socket: { type: 'string' },
  embedded: { type: 'boolean' },
  json: { type: 'boolean' },
  'config-dir': { type: 'string' },
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parse(argv: string[], options: OptionDefs, maxPositionals = 0): Parsed {
  let r: { values: Record<string, unknown>; positionals: string[] };
  try {
    r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, '').replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (r.positionals.length > maxPositionals) throw new UsageError(`unexpected argument '${r.positionals[maxPositionals]}'`);
  return r as Parsed;
}

export function optString(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** The --profile option: a UART profile name (src/uart/profile.ts), UsageError (exit 2) otherwise. */
export function profileOption(text: string | undefined): UartProfile | undefined {
  if (text === undefined) return undefined;
  const p = findUartProfile(text);
  if (!p) throw new UsageError(`--profile must be ${UART_PROFILE_NAMES.join(' or ')}, got '${text}'`);
  return p.name;
}

/** "pc16550d|mtty", for usage lines. */
export const PROFILE_CHOICES = UART_PROFILE_NAMES.join('|');

/** The --profile help text: each profile's name and summary, from its definition. */
export const PROFILE_HELP = UART_PROFILES.map((p) => `${p.name}: ${p.summary}`).join('; ');

/** A non-negative integer option (decimal or 0x hex), UsageError otherwise. */
export function optInt(p: Parsed, name: string, text = optString(p, name)): number | undefined {
  if (text === undefined) return undefined;
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${name} must be a number, got '${text}'`);
  return n;
}

/** `--host PORT=SPEC` (repeatable): a port's host line at create/define/start time. */
export const HOST_LINE_OPTION: OptionDefs = { host: { type: 'string', multiple: true } };
export const HOST_LINE_USAGE = '  --host N=SPEC     put host line SPEC on port N (loopback, serialport:DEV[,baud], pty[:LINK]); repeatable';

/** {"0": "pty:/tmp/x"} from the --host values, or undefined; UsageError for a value without N=. */
export function hostLines(p: Parsed): Record<string, string> | undefined {
  const v = p.values.host;
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  if (!list.length) return undefined;
  const out: Record<string, string> = {};
  for (const item of list) {
    const m = /^(\d+)=(.+)$/.exec(item);
    if (!m) throw new UsageError(`--host takes PORT=SPEC (e.g. 0=pty:/tmp/ttyMTTY0), got '${item}'`);
    out[m[1]!] = m[2]!;
  }
  return out;
}
