import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Readable, Writable } from 'node:stream';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { SocketClient, startDaemon, type Daemon } from '../src/control/index.js';
import { MttyError } from '../src/errors/errno.js';

const U1 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
const U2 = '11111111-2222-4333-8444-555555555555';

async function run(args: string[]) {
  let out = '';
  let err = '';
  const w = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  const code = await main(args, { stdout: w((s) => (out += s)), stderr: w((s) => (err += s)), stdin: Readable.from([]) });
  return { code, out, err };
}

let dir = '';
let cfg = '';
let sock = '';
let daemon: Daemon;
const at = () => ['--socket', sock, '--config-dir', cfg];

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtty-def-'));
  cfg = join(dir, 'cfg');
  sock = join(dir, 'control.sock');
  daemon = await startDaemon({ socketPath: sock, configDir: join(dir, 'daemon-cfg') });
});

test.after.each(async () => {
  await daemon.close();
  await rm(dir, { recursive: true, force: true });
});

test('define -> start -> stop -> undefine round trip', async () => {
  let r = await run(['define', '--uuid', U1, '--type', 'mtty-2', '--auto', ...at()]);
  assert.equal([r.code, r.out, r.err], [0, '', ''], 'mdevctl prints only a UUID it generated');
  const file = join(cfg, 'mtty', U1);
  // mdevctl's own bytes: serde_json pretty, 2 spaces, no trailing newline.
  assert.is(await readFile(file, 'utf8'), '{\n  "mdev_type": "mtty-2",\n  "start": "auto",\n  "attrs": []\n}');
  r = await run(['list', '--defined', ...at()]);
  assert.is(r.out, `${U1} mtty mtty-2 auto\n`);
  r = await run(['list', ...at()]);
  assert.is(r.out, '');

  r = await run(['start', '--uuid', U1, ...at()]);
  assert.equal([r.code, r.out], [0, '']);
  r = await run(['list', ...at()]);
  assert.is(r.out, `${U1} mtty mtty-2 auto (defined)\n`);
  r = await run(['list', '-d', ...at()]);
  assert.is(r.out, `${U1} mtty mtty-2 auto (active)\n`);
  r = await run(['start', U1, ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty start: EEXIST/);

  r = await run(['stop', U1, ...at()]);
  assert.is(r.code, 0);
  r = await run(['list', ...at()]);
  assert.is(r.out, '');
  assert.ok(existsSync(file), 'stop keeps the definition');

  r = await run(['undefine', U1, ...at()]);
  assert.is(r.code, 0);
  assert.not.ok(existsSync(file));
  r = await run(['list', '--defined', ...at()]);
  assert.is(r.out, '');
  r = await run(['undefine', U1, ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty undefine: ENOENT/);
});

test('define rules: duplicate EEXIST, promote a running device, --jsonfile, transient start', async () => {
  let r = await run(['define', '--uuid', U1, '--type', 'mtty-1', ...at()]);
  assert.is(r.code, 0);
  r = await run(['define', '--uuid', U1, '--type', 'mtty-1', ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty define: EEXIST/);

  r = await run(['create', '--uuid', U2, '--type', 'mtty-1', '--socket', sock]);
  r = await run(['define', '--uuid', U2, ...at()]);
  assert.is(r.code, 0);
  assert.equal(JSON.parse(await readFile(join(cfg, 'mtty', U2), 'utf8')).mdev_type, 'mtty-1');

  const jf = join(dir, 'def.json');
  await writeFile(jf, JSON.stringify({ mdev_type: 'mtty-2', start: 'manual', attrs: [] }));
  r = await run(['define', '--jsonfile', jf, ...at()]);
  assert.is(r.code, 0);
  const u3 = r.out.trim();
  assert.equal(JSON.parse(await readFile(join(cfg, 'mtty', u3), 'utf8')), { mdev_type: 'mtty-2', start: 'manual', attrs: [] });

  r = await run(['start', '--type', 'mtty-1', ...at()]);
  assert.is(r.code, 0);
  assert.match(r.out, /^[0-9a-f-]{36}\n$/, 'a generated UUID is printed');
  r = await run(['start', '--uuid', '22222222-2222-4333-8444-555555555555', ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty start: ENOENT .*not defined/);
  r = await run(['start', ...at()]);
  assert.is(r.code, 2);
  r = await run(['define', '--type', 'mtty-9', ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty define: ENOENT/);
});

test('an attribute that cannot be written stops the device again (mdevctl cleanup)', async () => {
  const jf = join(dir, 'attrs.json');
  await writeFile(jf, JSON.stringify({ mdev_type: 'mtty-2', start: 'manual', attrs: [{ no_such_attr: '1' }] }));
  let r = await run(['define', '--uuid', U1, '--jsonfile', jf, ...at()]);
  assert.is(r.code, 0);
  r = await run(['start', U1, ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty start: ENOENT/);
  r = await run(['list', ...at()]);
  assert.is(r.out, '');
  r = await run(['types', '--json', '--socket', sock]);
  assert.is(JSON.parse(r.out)[1].availableInstances, 12);
});

test('a daemon started on a config dir starts its "auto" definitions only', async () => {
  await run(['define', '--uuid', U1, '--type', 'mtty-2', '--auto', ...at()]);
  await run(['define', '--uuid', U2, '--type', 'mtty-1', '--manual', ...at()]);
  const broken = join(cfg, 'mtty', '33333333-2222-4333-8444-555555555555');
  await writeFile(broken, '{not json');
  await writeFile(join(cfg, 'mtty', 'README'), 'stray file, not a definition');
  const d2 = await startDaemon({ socketPath: join(dir, 'second.sock'), configDir: cfg });
  try {
    assert.equal(d2.autostarted.started, [U1]);
    assert.equal(d2.autostarted.failed.map((f) => f.uuid), [broken]);
    const r = await run(['list', '--socket', join(dir, 'second.sock')]);
    assert.is(r.out, `${U1} mtty mtty-2 auto (defined)\n`);
  } finally {
    await d2.close();
  }
});

test('list -u/-p/-t/-v and --dumpjson in mdevctl\'s layout; types --dumpjson', async () => {
  const U3 = '00000000-0000-4000-8000-000000000003';
  assert.is((await run(['define', '-u', U2, '-t', 'mtty-1', ...at()])).code, 0);
  assert.is((await run(['define', '-u', U1, '-t', 'mtty-2', '-a', ...at()])).code, 0);
  assert.is((await run(['modify', '-u', U1, '--addattr', 'foo', '--value', 'bar', ...at()])).code, 0);
  // Sorted by parent then UUID, as mdevctl prints them.
  let r = await run(['list', '-d', ...at()]);
  assert.is(r.out, `${U2} mtty mtty-1 manual\n${U1} mtty mtty-2 auto\n`);
  r = await run(['list', '-d', '-v', ...at()]);
  assert.is(r.out, `${U2} mtty mtty-1 manual\n${U1} mtty mtty-2 auto\n  Attrs:\n    @{0}: {"foo":"bar"}\n`);
  assert.is((await run(['list', '-d', '-t', 'mtty-1', ...at()])).out, `${U2} mtty mtty-1 manual\n`);
  assert.is((await run(['list', '-d', '-u', U1.toUpperCase(), ...at()])).out, `${U1} mtty mtty-2 auto\n`);
  assert.equal(await run(['list', '-d', '-p', 'nope', ...at()]), { code: 0, out: '', err: '' });
  // One unreadable file: the rest are listed, and the user is told which was left out (mdevctl fails the whole listing).
  const broken = join(cfg, 'mtty', '33333333-2222-4333-8444-555555555555');
  await writeFile(broken, '');
  r = await run(['list', '-d', ...at()]);
  assert.is(r.code, 0);
  assert.is(r.out, `${U2} mtty mtty-1 manual\n${U1} mtty mtty-2 auto\n`);
  assert.match(r.err, new RegExp(`^mtty list: skipped ${broken}: EINVAL \\(Invalid argument\\): definition mtty/33333333-2222-4333-8444-555555555555 is not JSON`));
  r = await run(['modify', '-u', '33333333-2222-4333-8444-555555555555', '--auto', ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty modify: EINVAL .*cannot be used: .* is not JSON/);
  r = await run(['start', '-u', '33333333-2222-4333-8444-555555555555', ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty start: EINVAL .*cannot be used/);
  // ...and undefine can still get rid of it.
  assert.equal(await run(['undefine', '-u', '33333333-2222-4333-8444-555555555555', ...at()]), { code: 0, out: '', err: '' });
  assert.not.ok(existsSync(broken));
  r = await run(['list', '-d', '--dumpjson', ...at()]);
  assert.equal(JSON.parse(r.out), [
    { mtty: [{ [U2]: { mdev_type: 'mtty-1', start: 'manual', attrs: [] } }, { [U1]: { mdev_type: 'mtty-2', start: 'auto', attrs: [{ foo: 'bar' }] } }] },
  ]);
  // With -u and one device: exactly what its definition file holds.
  r = await run(['list', '-d', '-u', U1, '--dumpjson', ...at()]);
  assert.is(r.out, (await readFile(join(cfg, 'mtty', U1), 'utf8')) + '\n');
  assert.is((await run(['list', '--dumpjson', ...at()])).out, '[]\n');

  // Running: a transient device is manual with no attrs; a defined one shows its definition's start.
  assert.is((await run(['create', '-u', U3, '-t', 'mtty-1', '--socket', sock])).code, 0);
  assert.is((await run(['create', '-u', U1, '-t', 'mtty-2', '--socket', sock])).code, 0);
  r = await run(['list', '-v', ...at()]);
  assert.is(r.out, `${U3} mtty mtty-1 manual\n${U1} mtty mtty-2 auto (defined)\n  Attrs:\n    @{0}: {"foo":"bar"}\n`);
  assert.is((await run(['list', '-d', ...at()])).out, `${U2} mtty mtty-1 manual\n${U1} mtty mtty-2 auto (active)\n`);
  r = await run(['list', '--dumpjson', '-u', U3, ...at()]);
  assert.equal(JSON.parse(r.out), { mdev_type: 'mtty-1', start: 'manual', attrs: [] });

  r = await run(['types', '--dumpjson', '--socket', sock]);
  assert.equal(JSON.parse(r.out), [
    {
      mtty: [
        { 'mtty-1': { available_instances: 21, device_api: 'vfio-pci', name: 'Single port serial' } },
        { 'mtty-2': { available_instances: 10, device_api: 'vfio-pci', name: 'Dual port serial' } },
      ],
    },
  ]);
  assert.equal(await run(['types', '-p', 'nope', '--socket', sock]), { code: 0, out: '', err: '' });
  assert.is((await run(['types', '-p', 'nope', '--dumpjson', '--socket', sock])).out, '[]\n');

  // Bad usage is exit 2, as mdevctl's argument parser.
  assert.is((await run(['list', '-u', 'notauuid', ...at()])).code, 2);
  assert.is((await run(['list', '--dumpjson', '--json', ...at()])).code, 2);
});

test('modify: --auto/--manual, --type, --addattr/--delattr with --index, --jsonfile; errors as mdevctl', async () => {
  const file = join(cfg, 'mtty', U1);
  const stored = async () => JSON.parse(await readFile(file, 'utf8'));
  assert.is((await run(['define', '-u', U1, '-t', 'mtty-2', ...at()])).code, 0);
  assert.equal(await run(['modify', '-u', U1, ...at()]), { code: 0, out: '', err: '' }, 'nothing to change is fine');
  assert.is((await run(['modify', '-u', U1, '--auto', ...at()])).code, 0);
  assert.is((await stored()).start, 'auto');
  assert.is((await run(['modify', '-u', U1, '-m', ...at()])).code, 0);
  assert.is((await stored()).start, 'manual');
  assert.is((await run(['modify', '-u', U1, '-t', 'mtty-1', ...at()])).code, 0);
  assert.is((await stored()).mdev_type, 'mtty-1');
  assert.is((await run(['modify', '-u', U1, '--addattr', 'a', '--value', '1', ...at()])).code, 0);
  assert.is((await run(['modify', '-u', U1, '--addattr', 'b', '--value', '2', '--index', '0', ...at()])).code, 0);
  assert.is((await run(['modify', '-u', U1, '--addattr', 'c', '--value', '3', '-i', '2', ...at()])).code, 0);
  assert.equal((await stored()).attrs, [{ b: '2' }, { a: '1' }, { c: '3' }]);
  let r = await run(['modify', '-u', U1, '--addattr', 'd', '--value', '4', '--index', '9', ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty modify: EINVAL \(Invalid argument\): Attribute index 9 is invalid/);
  assert.is((await run(['modify', '-u', U1, '--delattr', '--index', '1', ...at()])).code, 0);
  assert.equal((await stored()).attrs, [{ b: '2' }, { c: '3' }]);
  assert.is((await run(['modify', '-u', U1, '--delattr', ...at()])).code, 0);
  assert.equal((await stored()).attrs, [{ b: '2' }]);
  r = await run(['modify', '-u', U1, '--delattr', '-i', '5', ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /Attribute index 5 is invalid/);
  assert.equal((await stored()).attrs, [{ b: '2' }], 'a refused modify changes nothing');
  r = await run(['modify', '-u', U1, '-t', 'mtty-9', ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty modify: ENOENT .*mtty-9/);
  assert.is((await stored()).mdev_type, 'mtty-1');

  // Keys we do not know (a newer mdevctl's, another tool's) survive a modify, after the three we do.
  await writeFile(file, JSON.stringify({ mdev_type: 'mtty-1', start: 'manual', attrs: [{ b: '2' }], future: { x: 1 } }));
  assert.is((await run(['modify', '-u', U1, '--auto', ...at()])).code, 0);
  assert.is(await readFile(file, 'utf8'), '{\n  "mdev_type": "mtty-1",\n  "start": "auto",\n  "attrs": [\n    {\n      "b": "2"\n    }\n  ],\n  "future": {\n    "x": 1\n  }\n}');

  const jf = join(dir, 'new.json');
  await writeFile(jf, JSON.stringify({ mdev_type: 'mtty-2', start: 'auto', attrs: [{ x: 'y' }] }));
  assert.is((await run(['modify', '-u', U1, '--jsonfile', jf, ...at()])).code, 0);
  assert.equal(await stored(), { mdev_type: 'mtty-2', start: 'auto', attrs: [{ x: 'y' }], future: { x: 1 } });

  // Usage errors (exit 2), as mdevctl's parser: conflicts and a missing --value.
  for (const bad of [
    ['--auto', '--manual'],
    ['--addattr', 'a', '--delattr', '--value', '1'],
    ['--addattr', 'a'],
    ['--jsonfile', jf, '-t', 'mtty-1'],
    ['-i', 'x', '--delattr'],
  ]) {
    r = await run(['modify', '-u', U1, ...bad, ...at()]);
    assert.is(r.code, 2, bad.join(' '));
  }
  assert.is((await run(['modify', ...at()])).code, 2, '-u is required');
  r = await run(['modify', '-u', U2, '--auto', ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty modify: ENOENT .*not defined/);
  r = await run(['modify', '-u', U1, '-p', 'other', '--auto', ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty modify: ENOENT .*other\/.* is not defined/);
});

test('start --jsonfile (transient, libvirt nodedev-create), -p/-t fully specified, define --jsonfile rules', async () => {
  const jf = join(dir, 'dev.json');
  await writeFile(jf, JSON.stringify({ mdev_type: 'mtty-1', start: 'auto', attrs: [] }));
  let r = await run(['start', '-p', 'mtty', '--jsonfile', jf, ...at()]);
  assert.is(r.code, 0);
  const u = r.out.trim();
  assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.is((await run(['list', ...at()])).out, `${u} mtty mtty-1 manual\n`, 'transient: not defined, so manual');
  assert.is((await run(['list', '-d', ...at()])).out, '');
  r = await run(['start', '-p', 'mtty', '-u', U1, '--jsonfile', jf, ...at()]);
  assert.equal([r.code, r.out], [0, '']);
  r = await run(['start', '-p', 'mtty', '-u', U1, '--jsonfile', jf, ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty start: EEXIST/);
  // An attribute the device does not have: the device is stopped again (mdevctl does the same).
  await writeFile(jf, JSON.stringify({ mdev_type: 'mtty-1', start: 'manual', attrs: [{ nope: '1' }] }));
  r = await run(['start', '-u', U2, '--jsonfile', jf, ...at()]);
  assert.is(r.code, 1);
  assert.is((await run(['list', '-u', U2, ...at()])).out, '');
  assert.is((await run(['start', '--jsonfile', jf, '-t', 'mtty-1', ...at()])).code, 2);
  r = await run(['start', '--jsonfile', join(dir, 'missing.json'), ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty start: ENOENT .*unable to read jsonfile/);
  await writeFile(jf, '{"mdev_type": "mtty-1"}');
  r = await run(['define', '--jsonfile', jf, ...at()]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtty define: EINVAL .*"start"/);
  for (const extra of [['-t', 'mtty-1'], ['--auto'], ['-m']]) {
    assert.is((await run(['define', '--jsonfile', jf, ...extra, ...at()])).code, 2, extra.join(' '));
  }
  assert.is((await run(['define', '-u', 'xyz', '-t', 'mtty-1', ...at()])).code, 2);
  assert.is((await run(['undefine', '-u', U1, ...at()])).code, 1, 'a transient device has no definition');
});

test('the list/modify/start ops refuse bad arguments with EINVAL and change nothing', async () => {
  assert.is((await run(['define', '-u', U1, '-t', 'mtty-2', ...at()])).code, 0);
  const before = await readFile(join(cfg, 'mtty', U1), 'utf8');
  const c = await SocketClient.connect(sock);
  try {
    const bad: Record<string, unknown>[] = [
      { uuid: U1, index: -1, delattr: true },
      { uuid: U1, index: 1.5, delattr: true },
      { uuid: U1, addattr: 'x' },
      { uuid: U1, addattr: { name: '', value: '1' } },
      { uuid: U1, addattr: { name: 'a', value: 1 } },
      { uuid: U1, addattr: { name: 'a', value: '1' }, delattr: true },
      { uuid: U1, start: 'sometimes' },
      { uuid: U1, definition: { mdev_type: 'mtty-1', start: 'auto', attrs: [1] } },
      { uuid: U1, definition: { mdev_type: 'mtty-1', start: 'auto', attrs: [] }, start: 'manual' },
      { uuid: 'nope', start: 'auto' },
      { uuid: U1, parent: '../x', start: 'auto' },
    ];
    for (const args of bad) {
      const e = await c.call('modify', { ...args, configDir: cfg }).then(() => null, (x: unknown) => x);
      assert.instance(e, MttyError, JSON.stringify(args));
      assert.is((e as MttyError).code, 'EINVAL', JSON.stringify(args));
    }
    for (const [op, args] of [
      ['list', { uuid: 'nope' }],
      ['list', { attrs: 'yes' }],
      ['start', { type: 'mtty-1', attrs: { a: '1' } }],
    ] as const) {
      const e = await c.call(op, args).then(() => null, (x: unknown) => x);
      assert.is((e as MttyError)?.code, 'EINVAL', `${op} ${JSON.stringify(args)}`);
    }
  } finally {
    await c.close();
  }
  assert.is(await readFile(join(cfg, 'mtty', U1), 'utf8'), before);
  assert.is((await run(['list', ...at()])).out, '', 'no device was started');
});

test.run();
