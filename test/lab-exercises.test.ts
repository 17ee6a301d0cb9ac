/**
 * The lab's data formats: a teacher's exercise set and its check language,
 * session files and share links, the journal's CSV/JSON export. All of them
 * are user input, so each bad field is refused with EINVAL naming it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILTIN_EXERCISES, evaluate, parseExerciseSet, type CheckContext } from '../src/lab/exercises.js';
import { journalCsv, journalJson, parseSession, sessionFromFragment, shareFragment, SHARE_LINK_MAX, type SessionState } from '../src/lab/session-file.js';
import { MttyError } from '../src/errors/errno.js';
import type { LabEntry } from '../src/lab/lab-device.js';

function refused(fn: () => unknown, code: string, field: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, MttyError);
    assert.is((e as MttyError).code, code);
    assert.match((e as Error).message, field);
    return;
  }
  assert.unreachable(`accepted; expected ${code} naming ${field}`);
}

const ctx = (lines: string[], ports: Record<string, number>[] = [], types: string[] = [], profile = 'mtty'): CheckContext =>
  ({ lines, ports: () => ports, deviceTypes: () => types, profile });

test('the built-in set has at least 8 exercises with distinct ids', () => {
  const ids = BUILTIN_EXERCISES.exercises.map((e) => e.id);
  assert.ok(ids.length >= 8);
  assert.is(new Set(ids).size, ids.length);
});

test('checks: log, seq order, port registers with masks, device, profile, all/any', () => {
  const lines = ['student: ttyS1 W LCR 0x83 = 8N1, DLAB on', 'guest: ttyS1 R IIR 0xc2 = THR empty, FIFOs on [INTx]', 'student: ttyS1 W DLL 0x0c = divisor 12 = 9600 baud'];
  assert.ok(evaluate({ log: 'W DLL 0x0c' }, ctx(lines)));
  assert.ok(evaluate({ seq: ['W LCR 0x8', 'W DLL'] }, ctx(lines)));
  assert.not.ok(evaluate({ seq: ['W DLL', 'W LCR 0x8'] }, ctx(lines)), 'order matters');
  assert.ok(evaluate({ log: '\\[INTx\\]$' }, ctx(lines)));
  assert.ok(evaluate({ port: { LCR: [0x03, 0x8f], DLL: 12 } }, ctx([], [{ LCR: 0x13, DLL: 12 }])));
  assert.not.ok(evaluate({ port: { LCR: 3, DLL: 12 } }, ctx([], [{ LCR: 3 }, { DLL: 12 }])), 'one port must satisfy all');
  assert.ok(evaluate({ all: [{ device: 'mtty-2' }, { profile: 'pc16550d' }] }, ctx([], [], ['mtty-2'], 'pc16550d')));
  assert.ok(evaluate({ any: [{ device: 'mtty-1' }, { log: 'LCR' }] }, ctx(lines)));
});

test('a teacher set: accepted when valid, EINVAL naming the field otherwise', () => {
  const ok = parseExerciseSet(JSON.stringify({ title: 'W3', exercises: [{ id: 'a', title: 'A', task: 'do', check: { log: 'x' } }] }));
  assert.is(ok.title, 'W3');
  refused(() => parseExerciseSet('{'), 'EINVAL', /not JSON/);
  refused(() => parseExerciseSet({ exercises: [] }), 'EINVAL', /non-empty list/);
  refused(() => parseExerciseSet({ exercises: [{ id: 'a', title: 'A', task: 't', check: { log: '(' } }] }), 'EINVAL', /exercises\[0\]\.check\.log: bad regular expression/);
  refused(() => parseExerciseSet({ exercises: [{ id: 'a', title: 'A', task: 't', check: { port: { XYZ: 1 } } }] }), 'EINVAL', /unknown register 'XYZ'/);
  refused(() => parseExerciseSet({ exercises: [{ id: 'a', title: 'A', task: 't', check: { all: [{ log: 'x', seq: ['y'] }] } }] }), 'EINVAL', /check\.all\[0\]: a check has exactly one key/);
  refused(() => parseExerciseSet({ exercises: [{ id: 'a', title: 'A', task: 't', check: { log: 'x' } }, { id: 'a', title: 'B', task: 't', check: { log: 'y' } }] }), 'EINVAL', /exercises\[1\]\.id: 'a' is used twice/);
  refused(() => parseExerciseSet({ exercises: [{ id: 'a', title: '', task: 't', check: { log: 'x' } }] }), 'EINVAL', /exercises\[0\]\.title/);
});

const SESSION: SessionState = {
  v: 1, now: 5_000_000, profile0: 'mtty', mode0: 'run', done: ['create-mtty2'],
  actions: [
    { a: 'create', type: 'mtty-2', uuid: 'c0ffee00-6d74-7479-8250-16550a000002', at: 0 },
    { a: 'type', uuid: 'c0ffee00-6d74-7479-8250-16550a000002', port: 1, text: 'hi', at: 120_000 },
  ],
};

test('session files round-trip and bad ones are refused with the field named', () => {
  assert.equal(parseSession(JSON.stringify(SESSION)), { ...SESSION, exercises: undefined });
  refused(() => parseSession('nope'), 'EINVAL', /not JSON/);
  refused(() => parseSession({ ...SESSION, v: 2 }), 'EINVAL', /version 2/);
  refused(() => parseSession({ ...SESSION, actions: [{ a: 'explode', at: 0 }] }), 'EINVAL', /actions\[0\]\.a: unknown action 'explode'/);
  refused(() => parseSession({ ...SESSION, actions: [{ a: 'type', uuid: 'u', port: '1', text: 'x', at: 0 }] }), 'EINVAL', /actions\[0\]\.port: a number/);
  refused(() => parseSession({ ...SESSION, actions: [{ a: 'run', at: -1 }] }), 'EINVAL', /actions\[0\]\.at/);
  refused(() => parseSession({ ...SESSION, exercises: { exercises: 3 } }), 'EINVAL', /"exercises" must be a non-empty list/);
});

test('a share link carries a small session (not the progress); a big one is EMSGSIZE', () => {
  const frag = shareFragment(SESSION);
  assert.match(frag, /^session=[A-Za-z0-9_-]+$/);
  const back = sessionFromFragment('#' + frag)!;
  assert.equal(back.actions, SESSION.actions);
  assert.equal(back.done, []);
  assert.is(sessionFromFragment('#other=1'), null);
  refused(() => sessionFromFragment('#session=%%%'), 'EINVAL', /base64url/);
  const big = { ...SESSION, actions: Array.from({ length: 200 }, (_, i) => ({ a: 'type' as const, uuid: 'c0ffee00-6d74-7479-8250-16550a000002', port: 0, text: 'x', at: i })) };
  refused(() => shareFragment(big), 'EMSGSIZE', new RegExp(`more than a link should carry \\(${SHARE_LINK_MAX}\\)`));
});

test('the journal exports as RFC 4180 CSV and as JSON', () => {
  const e: LabEntry = { seq: 1, t: 1500, uuid: 'u', source: 'guest', task: 'open, "ttyS1"', line: "ttyS1 W THR 0x2c ','", why: 'a\nb', changes: ['x', 'y'], irq: true, intr: 1 };
  const csv = journalCsv([e]);
  assert.is(csv, 'seq,t_us,device,source,task,access,why,intx,changes\r\n1,1.500,u,guest,"open, ""ttyS1""","ttyS1 W THR 0x2c \',\'","a\nb",1,x; y\r\n');
  assert.equal(JSON.parse(journalJson([e])).entries, [e]);
});

test.run();
