/**
 * A lab session as data: the student's actions with their virtual
 * timestamps, the exercises done, and a teacher's exercise set if one was
 * loaded. The same object is kept in browser storage (survives reloads),
 * saved to and loaded from a file, and, when small, carried in a share link
 * (#session=<base64url JSON>). Loading validates everything and answers
 * EINVAL naming the bad field: a session file is user input.
 *
 * The journal (access log) exports as CSV or JSON for a lab report.
 */
import { findUartProfile, UART_PROFILE_NAMES, type UartProfile } from '../uart/profile.js';
import { fail } from '../errors/errno.js';
import { parseExerciseSet, type ExerciseSet } from './exercises.js';
import type { LabEntry } from './lab-device.js';

/** An action as made, before the lab stamps it with the virtual time. */
export type LabActionBody =
    | { a: 'create'; type: string; uuid: string }
    | { a: 'remove'; uuid: string }
    | { a: 'cat'; type: string }
    | { a: 'type'; uuid: string; port: number; text: string }
    | { a: 'write'; uuid: string; port: number; offset: number; value: number; why?: string }
    | { a: 'read'; uuid: string; port: number; offset: number }
    | { a: 'cfg'; uuid: string; offset: number }
    | { a: 'modem'; uuid: string; port: number; bits: number }
    | { a: 'inject'; uuid: string; port: number; kind: 'byte' | 'break' | 'parity' | 'framing' | 'overrun'; byte: number }
    | { a: 'step'; uuid?: string }
    | { a: 'run' }
    | { a: 'mode'; mode: 'run' | 'step' }
    | { a: 'profile'; profile: UartProfile }
    | { a: 'time'; ns: number }
    | { a: 'lesson'; id: string };

/** An action with the virtual time (ns) it was made at. */
export type LabAction = LabActionBody & { at: number };

export interface SessionState {
  v: 1;
  /** Virtual time (ns) when it was saved. */
  now: number;
  /** The UART model and guest mode the page started with. */
  profile0: UartProfile;
  mode0: 'run' | 'step';
  actions: LabAction[];
  /** Exercise ids done. */
  done: string[];
  /** A teacher's set, when one was loaded instead of the built-in one. */
  exercises?: ExerciseSet;
}

/** Bigger sessions than this go in a file, not a link (links this long break in mail and chats). */
export const SHARE_LINK_MAX = 6000;

const FIELDS: Record<LabAction['a'], Record<string, 'string' | 'number' | 'string?' | 'number?'>> = {
  create: { type: 'string', uuid: 'string' },
  remove: { uuid: 'string' },
  cat: { type: 'string' },
  type: { uuid: 'string', port: 'number', text: 'string' },
  write: { uuid: 'string', port: 'number', offset: 'number', value: 'number', why: 'string?' },
  read: { uuid: 'string', port: 'number', offset: 'number' },
  cfg: { uuid: 'string', offset: 'number' },
  modem: { uuid: 'string', port: 'number', bits: 'number' },
  inject: { uuid: 'string', port: 'number', kind: 'string', byte: 'number' },
  step: { uuid: 'string?' },
  run: {},
  mode: { mode: 'string' },
  profile: { profile: 'string' },
  time: { ns: 'number' },
  lesson: { id: 'string' },
};

function validAction(x: unknown, i: number): LabAction {
  const where = `actions[${i}]`;
  if (!x || typeof x !== 'object') fail('EINVAL', `${where}: an object is expected`);
  const o = x as Record<string, unknown>;
  const spec = FIELDS[o.a as LabAction['a']];
  if (!spec) fail('EINVAL', `${where}.a: unknown action '${String(o.a)}'`);
  if (typeof o.at !== 'number' || !Number.isFinite(o.at) || o.at < 0) fail('EINVAL', `${where}.at: a virtual time in ns (>= 0) is expected`);
  for (const [k, t] of Object.entries(spec)) {
    const opt = t.endsWith('?');
    const base = t.replace('?', '');
    if (o[k] === undefined && opt) continue;
    if (typeof o[k] !== base || (base === 'number' && !Number.isFinite(o[k] as number))) fail('EINVAL', `${where}.${k}: a ${base} is expected`);
  }
  return o as LabAction;
}

/** Validate a session (parsed JSON or text). */
export function parseSession(input: string | unknown): SessionState {
  let v: unknown = input;
  if (typeof input === 'string') {
    try {
      v = JSON.parse(input);
    } catch (e) {
      fail('EINVAL', `session: not JSON: ${(e as Error).message}`);
    }
  }
  if (!v || typeof v !== 'object') fail('EINVAL', 'session: an object is expected');
  const o = v as Record<string, unknown>;
  if (o.v !== 1) fail('EINVAL', `session: version ${String(o.v)} is not supported (this lab reads version 1)`);
  if (typeof o.now !== 'number' || o.now < 0) fail('EINVAL', 'session.now: a virtual time in ns is expected');
  if (!findUartProfile(o.profile0)) fail('EINVAL', `session.profile0: ${UART_PROFILE_NAMES.join(' or ')}`);
  if (o.mode0 !== 'run' && o.mode0 !== 'step') fail('EINVAL', 'session.mode0: run or step');
  if (!Array.isArray(o.actions)) fail('EINVAL', 'session.actions: a list is expected');
  if (!Array.isArray(o.done) || !(o.done as unknown[]).every((d) => typeof d === 'string')) fail('EINVAL', 'session.done: a list of exercise ids is expected');
  return {
    v: 1,
    now: o.now as number,
    profile0: o.profile0 as UartProfile,
    mode0: o.mode0 as 'run' | 'step',
    actions: (o.actions as unknown[]).map(validAction),
    done: o.done as string[],
    exercises: o.exercises === undefined ? undefined : parseExerciseSet(o.exercises),
  };
}

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) fail('EINVAL', 'share link: the session part is not base64url');
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** The fragment of a share link ("session=..."); EMSGSIZE when the session is too big for a link. */
export function shareFragment(s: SessionState): string {
  // A link carries the actions, not the teacher's set or progress: the receiver does the exercises.
  const frag = 'session=' + toBase64Url(JSON.stringify({ ...s, done: [], exercises: undefined }));
  if (frag.length > SHARE_LINK_MAX) fail('EMSGSIZE', `this session needs ${frag.length} characters, more than a link should carry (${SHARE_LINK_MAX}); save it as a file instead`);
  return frag;
}

/** The session in a share link's fragment, or null when the fragment has none. */
export function sessionFromFragment(hash: string): SessionState | null {
  const m = /(?:^#?|&)session=([^&]*)/.exec(hash);
  if (!m) return null;
  return parseSession(fromBase64Url(m[1]));
}

const CSV_COLUMNS = ['seq', 't_us', 'device', 'source', 'task', 'access', 'why', 'intx', 'changes'] as const;

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The journal as CSV (RFC 4180 quoting), one access per row, time in µs. */
export function journalCsv(entries: readonly LabEntry[]): string {
  const rows = entries.map((e) => [e.seq, (e.t / 1000).toFixed(3), e.uuid, e.source, e.task, e.line, e.why, e.irq ? 1 : 0, e.changes.join('; ')].map(csvField).join(','));
  return [CSV_COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}

/** The journal as JSON (the entries as kept, time in ns). */
export function journalJson(entries: readonly LabEntry[]): string {
  return JSON.stringify({ columns: 'seq t(ns) uuid source task line why changes irq port iir intr', entries }, null, 1);
}
