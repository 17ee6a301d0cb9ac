/**
 * The small things a new user trips over (issue 12, "the rest"): a closed
 * pipe, --version, `mtty tree` (kernel doc step 1), messages for a missing
 * trace and for --socket given a directory, serve --help's options, and
 * that every verb the README says takes --embedded does.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';

const BIN = new URL('../../bin/mtty.cjs', import.meta.url).pathname;
const UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

async function run(args: string[]) {
  let out = '';
  let err = '';
  const w = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  const code = await main(args, { stdout: w((s) => (out += s)), stderr: w((s) => (err += s)), stdin: Readable.from([]) });
  return { code, out, err };
}

test('output into a closed pipe exits quietly (mtty help | head -1)', async () => {
  const child = spawn(process.execPath, [BIN, 'help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the first line is written
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.is(err, '', 'no EPIPE stack trace');
  assert.is(code, 0);
});

test('mtty --version prints the package version', async () => {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await run([flag]);
    assert.equal([r.code, r.out], [0, `mtty ${pkg.version}\n`]);
  }
});

test('mtty tree shows the parent as the kernel doc step 1 does (embedded)', async () => {
  const r = await run(['tree', '--embedded']);
  assert.is(r.code, 0, r.err);
  for (const s of ['mdev_supported_types', 'mtty-1', 'mtty-2', 'available_instances', 'create', 'device_api', 'name']) assert.ok(r.out.includes(s), s);
  const cat = await run(['cat', '/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/available_instances', '--embedded']);
  assert.equal([cat.code, cat.out], [0, '12\n']);
  const ls = await run(['ls', '/sys/devices/virtual/mtty/mtty/mdev_supported_types', '--embedded']);
  assert.equal([ls.code, ls.out], [0, 'mtty-1\nmtty-2\n']);
  const ping = await run(['ping', '--embedded']);
  assert.equal([ping.code, ping.out], [0, `mtty daemon pid ${process.pid}, protocol 1\n`]);
  const ops = (await run(['ops', '--embedded'])).out.split('\n');
  for (const op of ['host.attach', 'host.detach', 'host.status', 'console.open', 'reg.peek', 'device', 'sysfs.tree']) assert.ok(ops.includes(op), op);
  const missing = await run(['cat', '/sys/nope', '--embedded']);
  assert.is(missing.code, 1);
  assert.match(missing.err, /^mtty cat: ENOENT/);
});

test('messages: replay of a missing file exits 1; --socket DIR says it is a directory', async () => {
  let r = await run(['replay', '/missing/trace.txt']);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty replay: \/missing\/trace.txt: cannot read: ENOENT/);
  const dir = await mkdtemp(join(tmpdir(), 'mtty-sockdir-'));
  try {
    r = await run(['list', '--socket', dir]);
    assert.is(r.code, 1);
    assert.match(r.err, new RegExp(`^mtty list: EISDIR \\(Is a directory\\): ${dir} is a directory, not the daemon's control socket`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('reg: a bad register name lists the valid ones (exit 2); a negative value is the EINVAL range error', async () => {
  let r = await run(['reg', UUID, '0', 'foo', '--embedded']);
  assert.is(r.code, 2);
  assert.match(r.err, /^mtty reg: unknown register 'foo': use an offset 0-7 or one of rbr thr dll ier dlm iir fcr lcr mcr lsr msr scr\n/);
  r = await run(['reg', UUID, '0', 'thr', '-1', '--embedded']);
  assert.is(r.code, 1);
  assert.is(r.err, "mtty reg: EINVAL (Invalid argument): register value must be 0..255 (0x00-0xff); got '-1'\n");
  r = await run(['reg', UUID, '0', 'thr', '256', '--embedded']);
  assert.match(r.err, /EINVAL .*got '256'/);
});

test('serve --help no longer offers MDEVCTL_ENV_ROOT (Debian\'s mdevctl ignores it)', async () => {
  const r = await run(['serve', '--help']);
  assert.is(r.code, 0);
  assert.match(r.out, /--sysfs-root DIR/);
  assert.not.match(r.out, /MDEVCTL_ENV_ROOT/);
});

test('every verb the README lists as taking --embedded accepts it; the README names the ones that do not', async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const m = /`--embedded` \(run in-process, with no\s+daemon\) is taken by ([^;]+);/.exec(readme);
  assert.ok(m, 'README sentence listing the --embedded verbs');
  const verbs = [...m![1]!.matchAll(/`([a-z-]+)`/g)].map((x) => x[1]!);
  assert.ok(verbs.length >= 10, verbs.join(' '));
  for (const v of verbs) {
    const r = await run([v, '--embedded', '--bogus-option-to-stop-early']);
    // Unknown option is usage (2) - but never "Unknown option '--embedded'".
    assert.not.match(r.err, /'--embedded'/, v);
  }
  const without = /not by ([^.]+)\./.exec(readme.slice(m!.index));
  assert.ok(without, 'README names the verbs without --embedded');
  for (const v of [...without![1]!.matchAll(/`([a-z-]+)`/g)].map((x) => x[1]!)) {
    const r = await run([v, '--embedded']);
    assert.match(r.err, /'--embedded'|--embedded/, v);
  }
});

test.run();
