/** `mtty replay`: the shared Linux/QEMU trace, mismatch reporting and bad input. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { readFileSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commands } from '../src/cli/replay.js';
import { parseTrace, replayTrace, TraceError } from '../src/replay/index.js';

// The checkout's sibling shared/ (../../../ from dist/test), or one level up from a git worktree.
const TRACE = ['../../../', '../../../../']
  .map((up) => fileURLToPath(new URL(`${up}shared/traces/linux-8250-probe-isa.txt`, import.meta.url)))
  .reduce((found, p) => (existsSync(found) ? found : p));
const dir = mkdtempSync(join(tmpdir(), 'mtty-replay-'));
let seq = 0;

function file(text: string): string {
  const p = join(dir, `t${seq++}.txt`);
  writeFileSync(p, text);
  return p;
}

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new Sink();
  const err = new Sink();
  const code = await commands.replay!.run(argv, { stdout: out, stderr: err, stdin: process.stdin });
  return { code, out: out.text, err: err.text };
}

test('the Linux 6.1 probe trace against QEMU replays with every read and irq change matching', () => {
  const r = replayTrace(parseTrace(readFileSync(TRACE, 'utf8'), TRACE));
  assert.equal(r.mismatches, []);
  assert.is(r.accesses, 205);
  assert.ok(r.irqChecked);
  assert.ok(r.irqChanges > 0);
});

test('mtty replay --check on the shared trace exits 0', async () => {
  const r = await cli('--check', TRACE);
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /OK, 205 accesses/);
});

test('a wrong read value is reported with its line number and exit 1', async () => {
  const r = await cli('--check', file('W 1 0x02\nR 1 0x02\nR 2 0x01\n'));
  assert.is(r.code, 1);
  assert.match(r.out, /:3: mismatch: R 2: trace 0x01, model 0x02/);
});

test('a wrong irq line is reported (QEMU order: after a W, before an R)', async () => {
  const ok = await cli('--check', file('W 1 0x02\n# irq 1\n# irq 0\nR 2 0x02\n'));
  assert.is(ok.code, 0, ok.out);
  const bad = await cli('--check', file('W 1 0x02\n# irq 1\nR 2 0x02\n'));
  assert.is(bad.code, 1);
  assert.match(bad.out, /:3: mismatch: model changed irq to 0/);
});

test('without --check each read is printed with a decoded value', async () => {
  const r = await cli(file('W 4 0x1a\nR 6 0x00\n'));
  assert.is(r.code, 0);
  assert.match(r.out, /:2: R 6 0x92 {2}# MSR 0x92: DDSR CTS DCD/);
});

test("'# initial:' sets the state before the first access", async () => {
  const r = await cli('--check', file('# initial: MCR=0x08 MSR-inputs=none (line idle)\nR 4 0x08\nR 6 0x00\n'));
  assert.is(r.code, 0, r.out);
});

test('QEMU -trace serial_* log lines are accepted, other trace events skipped', async () => {
  const log = [
    '4242@1700000000.000001:serial_ioport_write write addr 0x01 val 0x02',
    '4242@1700000000.000002:ioapic_set_irq vector: 4 level: 1',
    'serial_read read addr 0x02 val 0x02',
    'serial_read read addr 0x02 val 0x01',
  ].join('\n');
  const r = await cli('--check', file(log));
  assert.is(r.code, 0, r.out + r.err);
  assert.match(r.out, /3 accesses/);
});

test('--profile mtty replays under the sample\'s rules (the Linux trace then differs)', async () => {
  const r = await cli('--check', '--profile', 'mtty', TRACE);
  assert.is(r.code, 1);
  assert.match(r.out, /R 6: trace 0xb0, model 0xb3/);
});

for (const [name, text, msg] of [
  ['unknown op', 'W 1 0x02\nX 2 0x00\n', /:2: unknown operation 'X'/],
  ['offset > 7', 'R 8 0x00\n', /:1: offset '8' is not 0-7/],
  ['value > 0xff', 'W 1 0x100\n', /:1: value '0x100' does not fit a byte/],
  ['missing value', 'R 1\n', /:1: expected/],
  ['bad irq level', '# irq 2\n', /:1: irq level must be 0 or 1/],
  ['late initial', 'R 1 0x00\n# initial: MCR=0x08\n', /:2: '# initial:' must come before/],
] as const) {
  test(`bad input (${name}) names file and line, exit 2`, async () => {
    const p = file(text);
    const r = await cli('--check', p);
    assert.is(r.code, 2);
    assert.ok(r.err.includes(p), r.err);
    assert.match(r.err, msg);
  });
}

test('an unreadable file is exit 1 (a failed operation) naming the file', async () => {
  const r = await cli(join(dir, 'missing.txt'));
  assert.is(r.code, 1);
  assert.match(r.err, /missing\.txt: cannot read/);
});

test('bad usage throws UsageError (main prints usage, exit 2)', async () => {
  await cli().then(
    () => assert.unreachable('no error'),
    (e: Error) => assert.is(e.name, 'UsageError'),
  );
  await cli('--profile', 'x', TRACE).then(
    () => assert.unreachable('no error'),
    (e: Error) => assert.is(e.name, 'UsageError'),
  );
});

test('parseTrace throws TraceError carrying file and line', () => {
  try {
    parseTrace('R 1 0x00\nW 9 0x00\n', 'x.txt');
    assert.unreachable('no error');
  } catch (e) {
    assert.instance(e, TraceError);
    assert.is((e as TraceError).line, 2);
    assert.is((e as TraceError).file, 'x.txt');
  }
});

test.run();
