import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Readable, Writable } from 'node:stream';
import { mkdtemp, rm, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { startDaemon, type Daemon } from '../src/control/index.js';

const DOC_UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

/** A writable that collects text and can wait for a substring to appear (no timers). */
function sink() {
  let text = '';
  let waiters: { s: string; resolve: () => void }[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      waiters = waiters.filter((w) => (text.includes(w.s) ? (w.resolve(), false) : true));
      cb();
    },
  });
  return {
    stream,
    get text() {
      return text;
    },
    waitFor: (s: string) => new Promise<void>((resolve) => (text.includes(s) ? resolve() : waiters.push({ s, resolve }))),
  };
}

async function run(args: string[]) {
  const out = sink();
  const err = sink();
  const code = await main(args, { stdout: out.stream, stderr: err.stream, stdin: Readable.from([]) });
  return { code, out: out.text, err: err.text };
}

let dir = '';
let sock = '';
let daemon: Daemon;

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtty-cli-'));
  sock = join(dir, 'control.sock');
  daemon = await startDaemon({ socketPath: sock, configDir: join(dir, 'cfg') });
});

test.after.each(async () => {
  await daemon.close();
  await rm(dir, { recursive: true, force: true });
});

test('types prints the mdevctl layout', async () => {
  const r = await run(['types', '--socket', sock]);
  assert.is(r.code, 0);
  assert.is(
    r.out,
    [
      'mtty',
      '  mtty-1',
      '    Available instances: 24',
      '    Device API: vfio-pci',
      '    Name: Single port serial',
      '  mtty-2',
      '    Available instances: 12',
      '    Device API: vfio-pci',
      '    Name: Dual port serial',
      '',
    ].join('\n'),
  );
  const j = await run(['types', '--socket', sock, '--json']);
  assert.equal(JSON.parse(j.out).map((t: { type: string }) => t.type), ['mtty-1', 'mtty-2']);
});

test('create / list / lspci / setserial / remove', async () => {
  let r = await run(['create', '--socket', sock, '--uuid', DOC_UUID]);
  assert.equal([r.code, r.out], [0, DOC_UUID + '\n']);
  r = await run(['create', '--socket', sock, '--type', 'mtty-1']);
  assert.is(r.code, 0);
  const generated = r.out.trim();
  assert.match(generated, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  r = await run(['list', '--socket', sock]);
  assert.is(r.out, [`${DOC_UUID} mtty mtty-2 manual`, `${generated} mtty mtty-1 manual`].sort().join('\n') + '\n'); // mdevctl's order: by UUID
  r = await run(['list', '--socket', sock, '--json']);
  assert.equal(JSON.parse(r.out).find((e: { uuid: string }) => e.uuid === DOC_UUID), { uuid: DOC_UUID, parent: 'mtty', type: 'mtty-2', start: 'manual', active: true, defined: false });
  // Views show the device as it is: no guest has programmed it yet (BARs unassigned, no IRQ).
  r = await run(['lspci', DOC_UUID, '--socket', sock]);
  assert.is(r.code, 0);
  assert.ok(r.out.startsWith('00:05.0 Serial controller: Device 4348:3253 (rev 10) (prog-if 02 [16550])\n'));
  assert.ok(r.out.includes('\tRegion 0: I/O ports at 0000 [size=8]\n'), r.out);
  assert.ok(r.out.includes('\n10: 01 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00\n'));
  assert.ok(r.out.includes('\n30: 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00'));
  r = await run(['setserial', DOC_UUID, '--socket', sock]);
  assert.is(r.out, 'BAR0 (no guest tty), UART: 16550A, Port: 0x0000, IRQ: 0\nBAR1 (no guest tty), UART: 16550A, Port: 0x0000, IRQ: 0\n');
  r = await run(['reg', DOC_UUID, '0', 'thr', '0x5a', '--socket', sock]);
  assert.is(r.code, 0);
  // A plain read peeks: asking twice gives the same byte; --consume reads it like inb, and then it is gone.
  r = await run(['reg', DOC_UUID, '0', 'rbr', '--socket', sock]);
  assert.is(r.out, '0x5a\n');
  r = await run(['reg', DOC_UUID, '0', 'lsr', '--socket', sock]);
  assert.is(r.out, '0x61\n');
  r = await run(['reg', DOC_UUID, '0', 'rbr', '--consume', '--socket', sock]);
  assert.is(r.out, '0x5a\n');
  r = await run(['reg', DOC_UUID, '0', 'lsr', '--socket', sock]);
  assert.is(r.out, '0x60\n', 'DR clear after the consuming read');
  // DLL/DLM are offsets 0/1 only while LCR.DLAB is set: the name must not silently hit THR/IER.
  r = await run(['reg', DOC_UUID, '0', 'dll', '5', '--socket', sock]);
  assert.is(r.code, 1);
  assert.match(r.err, /EINVAL .*DLL is offset 0 only while LCR\.DLAB is 1; LCR is 0x00, so offset 0 is THR now \(set DLAB with: mtty reg \S+ 0 lcr 0x80\)/);
  assert.is((await run(['reg', DOC_UUID, '0', 'lsr', '--socket', sock])).out, '0x60\n', 'nothing was transmitted');
  assert.is((await run(['reg', DOC_UUID, '0', 'lcr', '0x83', '--socket', sock])).code, 0);
  assert.is((await run(['reg', DOC_UUID, '0', 'dll', '12', '--socket', sock])).code, 0);
  assert.is((await run(['reg', DOC_UUID, '0', 'dll', '--socket', sock])).out, '0x0c\n');
  r = await run(['reg', DOC_UUID, '0', 'thr', '0x41', '--socket', sock]);
  assert.match(r.err, /THR is offset 0 only while LCR\.DLAB is 0; LCR is 0x83, so offset 0 is DLL now/);
  assert.is((await run(['reg', DOC_UUID, '0', 'lcr', '0x03', '--socket', sock])).code, 0);
  r = await run(['remove', DOC_UUID, '--socket', sock]);
  assert.equal([r.code, r.out, r.err], [0, '', '']);
  r = await run(['list', '--socket', sock]);
  assert.is(r.out, `${generated} mtty mtty-1 manual\n`);
});

test('errors print "mtty <verb>: CODE (text): ..." and exit 1; bad usage exits 2', async () => {
  let r = await run(['create', '--socket', sock, '--uuid', 'xyz']);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty create: EINVAL \(Invalid argument\): /);
  r = await run(['remove', DOC_UUID, '--socket', sock]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty remove: ENODEV \(No such device\): /);
  for (let i = 0; i < 12; i++) assert.is((await run(['create', '--socket', sock])).code, 0);
  r = await run(['create', '--socket', sock]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty create: ENOSPC \(No space left on device\): /);
  r = await run(['create', '--socket', sock, '--bogus']);
  assert.is(r.code, 2);
  assert.match(r.err, /^mtty create: Unknown option '--bogus'\nusage: mtty create/);
  r = await run(['remove', '--socket', sock]);
  assert.is(r.code, 2);
  r = await run(['types', '--embedded', '--socket', sock]);
  assert.is(r.code, 2);
});

test('without a daemon: a clear ENOENT, and --embedded runs in-process', async () => {
  let r = await run(['types', '--socket', join(dir, 'none.sock')]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty types: ENOENT .*mtty serve.*--embedded/);
  r = await run(['types', '--embedded']);
  assert.is(r.code, 0);
  assert.ok(r.out.includes('    Available instances: 12\n'));
  r = await run(['create', '--embedded', '--uuid', DOC_UUID]);
  assert.equal([r.code, r.out], [0, DOC_UUID + '\n']);
});

test('serve: listens, autostarts "auto" definitions, stops cleanly on SIGTERM', async () => {
  const cfg = join(dir, 'serve-cfg');
  await mkdir(join(cfg, 'mtty'), { recursive: true });
  await writeFile(join(cfg, 'mtty', DOC_UUID), JSON.stringify({ mdev_type: 'mtty-2', start: 'auto', attrs: [] }));
  const path = join(dir, 'serve', 'control.sock');
  const out = sink();
  const err = sink();
  const serving = main(['serve', '--socket', path, '--config-dir', cfg], { stdout: out.stream, stderr: err.stream, stdin: Readable.from([]) });
  await out.waitFor(`started ${DOC_UUID} (auto)`);
  assert.ok(out.text.startsWith(`mtty serve: listening on ${path}`));
  const r = await run(['list', '--socket', path]);
  assert.is(r.out, `${DOC_UUID} mtty mtty-2 auto (defined)\n`);
  process.emit('SIGTERM', 'SIGTERM');
  assert.is(await serving, 0);
  assert.not.ok(existsSync(path));
  assert.match(err.text, /SIGTERM: shutting down/);
});

test('help lists the verbs', async () => {
  const r = await run(['help']);
  for (const v of ['types', 'create', 'list', 'remove', 'define', 'start', 'stop', 'undefine', 'lspci', 'setserial', 'serve', 'reg']) {
    assert.ok(r.out.includes(`  ${v} `), v);
  }
});

test('reg: a register name that is not one (even an Object.prototype key) is bad usage, exit 2, before any daemon is asked', async () => {
  for (const bad of ['constructor', 'toString', '__proto__', 'foo']) {
    const r = await run(['reg', DOC_UUID, '0', bad, '--socket', join(tmpdir(), 'mtty-no-daemon-here.sock')]);
    assert.is(r.code, 2, bad);
    assert.match(r.err, /unknown register '.*': use an offset 0-7 or one of rbr thr dll ier dlm iir fcr lcr mcr lsr msr scr/);
  }
});

test.run();
