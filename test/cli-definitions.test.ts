import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Readable, Writable } from 'node:stream';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { startDaemon, type Daemon } from '../src/control/index.js';

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
  assert.equal([r.code, r.out], [0, U1 + '\n']);
  const file = join(cfg, 'mtty', U1);
  assert.equal(JSON.parse(await readFile(file, 'utf8')), { mdev_type: 'mtty-2', start: 'auto', attrs: [] });
  r = await run(['list', '--defined', ...at()]);
  assert.is(r.out, `${U1} mtty mtty-2 auto\n`);
  r = await run(['list', ...at()]);
  assert.is(r.out, '');

  r = await run(['start', '--uuid', U1, ...at()]);
  assert.equal([r.code, r.out], [0, U1 + '\n']);
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

test.run();
