/**
 * Exercises that check themselves. An exercise is data (so a teacher can hand
 * out another set as a JSON file or URL): a title, what to do, a hint, and a
 * check evaluated against the lab's journal (every access and student action,
 * as text) and the live register state. Nothing here looks at the page.
 *
 * Check language (JSON):
 *   { "log": "<regex>" }                 some journal line matches
 *   { "seq": ["<re1>", "<re2>", ...] }   lines matching re1, then re2, ... in that order
 *   { "port": { "LCR": 3, "DLL": [12, 255] } }
 *                                        one open port has every register = value
 *                                        (or [value, mask]: (reg & mask) === value)
 *   { "device": "mtty-2" }               a device of that type exists now
 *   { "profile": "pc16550d" }            the UART model in use
 *   { "all": [checks] } / { "any": [checks] }
 * A journal line reads "<source>: <access line>", source one of guest,
 * student, vmm, recording; " [INTx]" is appended when the device signalled
 * its interrupt during that access. Example:
 *   "student: ttyS1 W LCR 0x83 = 8N1, DLAB on"
 *   "guest: ttyS1 R IIR 0xcc = character timeout, FIFOs on"
 */
import { findUartProfile, UART_PROFILE_NAMES, type UartProfile } from '../uart/profile.js';
import { fail } from '../errors/errno.js';
import type { RegName } from '../uart/decode.js';

export type Check =
  | { log: string }
  | { seq: string[] }
  | { port: Partial<Record<RegName, number | [number, number]>> }
  | { device: string }
  | { profile: UartProfile }
  | { all: Check[] }
  | { any: Check[] };

export interface Exercise {
  id: string;
  title: string;
  /** What to do, in a sentence or two. */
  task: string;
  /** What to look at / why it works (shown on request). */
  hint?: string;
  check: Check;
}

export interface ExerciseSet {
  title: string;
  exercises: Exercise[];
}

/** What a check reads: journal lines in order and the registers of every open port. */
export interface CheckContext {
  lines: readonly string[];
  ports: () => Iterable<Partial<Record<RegName, number>>>;
  deviceTypes: () => string[];
  profile: string;
}

const REGS = new Set(['RBR', 'IER', 'IIR', 'FCR', 'LCR', 'MCR', 'LSR', 'MSR', 'SCR', 'DLL', 'DLM']);

function regex(src: unknown, where: string): RegExp {
  if (typeof src !== 'string') fail('EINVAL', `${where}: a regular expression string is expected`);
  try {
    return new RegExp(src as string);
  } catch (e) {
    return fail('EINVAL', `${where}: bad regular expression: ${(e as Error).message}`);
  }
}

/** Validate one check (throws EINVAL naming where it is wrong). */
function validateCheck(c: unknown, where: string): Check {
  if (!c || typeof c !== 'object' || Array.isArray(c)) fail('EINVAL', `${where}: a check must be an object`);
  const o = c as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length !== 1) fail('EINVAL', `${where}: a check has exactly one key (log, seq, port, device, profile, all, any), got ${keys.join(', ') || 'none'}`);
  const [k] = keys;
  const v = o[k];
  switch (k) {
    case 'log':
      regex(v, `${where}.log`);
      return { log: v as string };
    case 'seq':
      if (!Array.isArray(v) || v.length === 0) fail('EINVAL', `${where}.seq: a non-empty list of regular expressions is expected`);
      (v as unknown[]).forEach((s, i) => regex(s, `${where}.seq[${i}]`));
      return { seq: v as string[] };
    case 'port': {
      if (!v || typeof v !== 'object' || Array.isArray(v)) fail('EINVAL', `${where}.port: an object of register: value is expected`);
      for (const [r, x] of Object.entries(v as object)) {
        if (!REGS.has(r)) fail('EINVAL', `${where}.port: unknown register '${r}'`);
        const ok = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xff;
        if (!(ok(x) || (Array.isArray(x) && x.length === 2 && ok(x[0]) && ok(x[1])))) fail('EINVAL', `${where}.port.${r}: a byte or [value, mask] is expected`);
      }
      return { port: v as Record<RegName, number> };
    }
    case 'device':
      if (typeof v !== 'string') fail('EINVAL', `${where}.device: a type name is expected`);
      return { device: v as string };
    case 'profile':
      if (!findUartProfile(v)) fail('EINVAL', `${where}.profile: ${UART_PROFILE_NAMES.map((n) => `'${n}'`).join(' or ')}`);
      return { profile: findUartProfile(v)!.name };
    case 'all':
    case 'any':
      if (!Array.isArray(v) || v.length === 0) fail('EINVAL', `${where}.${k}: a non-empty list of checks is expected`);
      return { [k]: (v as unknown[]).map((x, i) => validateCheck(x, `${where}.${k}[${i}]`)) } as Check;
    default:
      return fail('EINVAL', `${where}: unknown check '${k}'`);
  }
}

/** Parse a teacher's exercise set (JSON text or an already parsed value). EINVAL says what is wrong. */
export function parseExerciseSet(input: string | unknown): ExerciseSet {
  let v: unknown = input;
  if (typeof input === 'string') {
    try {
      v = JSON.parse(input);
    } catch (e) {
      fail('EINVAL', `exercise set: not JSON: ${(e as Error).message}`);
    }
  }
  if (!v || typeof v !== 'object') fail('EINVAL', 'exercise set: an object { title, exercises: [...] } is expected');
  const o = v as Record<string, unknown>;
  if (!Array.isArray(o.exercises) || o.exercises.length === 0) fail('EINVAL', 'exercise set: "exercises" must be a non-empty list');
  const ids = new Set<string>();
  const exercises = (o.exercises as unknown[]).map((x, i): Exercise => {
    const where = `exercises[${i}]`;
    if (!x || typeof x !== 'object') fail('EINVAL', `${where}: an object is expected`);
    const e = x as Record<string, unknown>;
    for (const f of ['id', 'title', 'task'] as const) {
      if (typeof e[f] !== 'string' || !(e[f] as string).trim()) fail('EINVAL', `${where}.${f}: a non-empty string is expected`);
    }
    if (ids.has(e.id as string)) fail('EINVAL', `${where}.id: '${e.id}' is used twice`);
    ids.add(e.id as string);
    if (e.hint !== undefined && typeof e.hint !== 'string') fail('EINVAL', `${where}.hint: a string is expected`);
    return { id: e.id as string, title: e.title as string, task: e.task as string, hint: e.hint as string | undefined, check: validateCheck(e.check, `${where}.check`) };
  });
  return { title: typeof o.title === 'string' && o.title ? o.title : 'Exercises', exercises };
}

/** Does the context satisfy the check now? */
export function evaluate(c: Check, ctx: CheckContext): boolean {
  if ('log' in c) {
    const re = new RegExp(c.log);
    return ctx.lines.some((l) => re.test(l));
  }
  if ('seq' in c) {
    const res = c.seq.map((s) => new RegExp(s));
    let i = 0;
    for (const l of ctx.lines) {
      if (res[i].test(l) && ++i === res.length) return true;
    }
    return false;
  }
  if ('port' in c) {
    const want = Object.entries(c.port) as [RegName, number | [number, number]][];
    for (const regs of ctx.ports()) {
      if (want.every(([r, x]) => {
        const [value, mask] = Array.isArray(x) ? x : [x, 0xff];
        const have = regs[r];
        return have !== undefined && (have & mask) === value;
      })) return true;
    }
    return false;
  }
  if ('device' in c) return ctx.deviceTypes().includes(c.device);
  if ('profile' in c) return ctx.profile === c.profile;
  if ('all' in c) return c.all.every((x) => evaluate(x, ctx));
  return c.any.some((x) => evaluate(x, ctx));
}

const S = '^student: ';
/** Any port's name in an access line. */
const P = 'ttyS\\d+';

/**
 * The built-in set: the kernel doc's walk-through and the 16550's behaviour,
 * each done with the page's own controls (create form, `cat` buttons, the
 * register and config tools, line events, the profile switch).
 */
export const BUILTIN_EXERCISES: ExerciseSet = parseExerciseSet({
  title: 'mtty and the 16550A (built-in)',
  exercises: [
    {
      id: 'create-mtty2',
      title: 'Create an mtty-2 and read available_instances',
      task: 'Create an mtty-2 device, then press "cat" on the mtty-2 row to read its available_instances.',
      hint: 'mtty-1 and mtty-2 share 24 ports: one mtty-2 takes 2, so mtty-2 drops from 12 to 11 and mtty-1 from 24 to 22.',
      check: { all: [{ device: 'mtty-2' }, { log: `${S}cat \\S+/mtty-2/available_instances = 11` }] },
    },
    {
      id: 'config-ids',
      title: 'Find vendor, device and class in config space',
      task: 'With the config-space tool of a device, read the dwords at 0x00 and 0x08.',
      hint: '0x00 holds vendor 0x4348 and device 0x3253 (WCH CH352 2S); 0x08 holds class 07 00 02 (serial, 16550) and revision 0x10.',
      check: { all: [{ log: `${S}CFG R 0x00 = 0x32534348` }, { log: `${S}CFG R 0x08 = 0x07000210` }] },
    },
    {
      id: 'baud-9600',
      title: 'Program 9600 8N1 through DLAB',
      task: 'Set LCR.DLAB, write the divisor (115200 / 9600 = 12) to DLL/DLM, then write LCR = 0x03. The baud picker does it for you, but try it by hand.',
      hint: 'With DLAB set, offsets 0 and 1 are the divisor latch instead of RBR/THR and IER.',
      check: {
        all: [
          { seq: [`${S}${P} W LCR 0x[89a-f][0-9a-f] `, `${S}${P} W DLL 0x0c`, `${S}${P} W LCR 0x[0-7][0-9a-f] `] },
          { port: { DLL: 12, DLM: 0, LCR: [0x03, 0x8f] } },
        ],
      },
    },
    {
      id: 'fifo-trigger8',
      title: 'FIFO on with trigger level 8, and IIR 0xC1',
      task: 'Write FCR = 0x81 (FIFO enable, RX trigger 8), then read IIR. Explain 0xC1 from its bits.',
      hint: 'Bits 7:6 = 11: FIFOs enabled. Bit 0 = 1: no interrupt pending.',
      check: { seq: [`${S}${P} W FCR 0x[89ab][13579bdf] `, `${S}${P} R IIR 0xc1`] },
    },
    {
      id: 'thre-irq',
      title: 'Make a THRE interrupt fire, and clear it',
      task: 'Set IER.ETBEI (bit 1) while THR is empty: INTx fires. See IIR 0xC2, then clear it (read IIR on a 16550, or turn ETBEI off).',
      hint: 'On the PC16550D reading IIR clears a THRE interrupt; the mtty sample keeps reporting it until IER bit 1 is cleared or THR is written.',
      check: { seq: [`${S}${P} W IER 0x.[2367abef] .*\\[INTx\\]`, `${P} R IIR 0xc2`, `(${P} R IIR 0xc1|${S}${P} W IER 0x.[014589cd] |${P} W THR)`] },
    },
    {
      id: 'loopback-msr',
      title: 'MCR loopback: watch the MSR map',
      task: 'Switch MCR loopback on, toggle DTR/RTS/OUT1/OUT2 and read MSR.',
      hint: 'In loopback a 16550 feeds RTS to CTS, DTR to DSR, OUT1 to RI and OUT2 to DCD; the modem inputs from the line are ignored.',
      check: { all: [{ seq: [`${S}${P} W MCR 0x[13][0-9a-f] `, `${S}${P} R MSR `] }, { port: { MCR: [0x10, 0x10] } }] },
    },
    {
      id: 'char-timeout',
      title: 'Cause and observe a character timeout (IIR 0xCC)',
      task: 'With the PC16550D model, FIFO trigger above 1 and fewer bytes received than the trigger, let time pass: IIR reads 0xCC.',
      hint: 'The timeout fires after 4 character times without RX activity. The mtty sample has no timeout (its trigger is always 1).',
      check: { log: `${P} R IIR 0xcc` },
    },
    {
      id: 'overrun',
      title: 'Cause an overrun and read OE',
      task: 'Overflow the RX FIFO (the "overrun" line event sends 17 bytes at once) and find LSR with OE set.',
      hint: 'Reading LSR clears OE: the driver counts the overrun in its handler.',
      check: { log: `${P} R LSR 0x[0-9a-f]{2} = .*\\bOE\\b` },
    },
    {
      id: 'profiles',
      title: 'Compare the mtty and PC16550D profiles',
      task: 'Type the same key under both UART models and compare LSR in the log.',
      hint: 'With a received byte waiting, the sample reads LSR 0x01 (it clears THRE/TEMT), a 16550 reads 0x61.',
      check: { all: [{ log: `${S}UART model -> ` }, { log: `${P} R LSR 0x61 ` }, { log: `${P} R LSR 0x01 ` }] },
    },
    {
      id: 'remove-open',
      title: 'Remove a device while it is open',
      task: 'Press Remove on a device: its VMM still holds the VFIO device open.',
      hint: 'The kernel blocks the remove write until the opener closes the device; the lab closes its handle, then the remove completes.',
      check: { log: '^vmm: remove \\S+ while the VMM holds it open' },
    },
  ],
});
