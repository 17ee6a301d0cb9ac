/**
 * One definition store with the real mdevctl (Debian 1.2.0), side by side:
 * `mtty serve --sysfs-root DIR` keeps its definitions in DIR/etc/mdevctl.d,
 * which mdevctl (in an `unshare -Urm` namespace) sees as /etc/mdevctl.d.
 * Each tool's definitions show in the other's listings with the same start
 * policy and attributes, the JSON layouts are the same text, and the refusals
 * give the same exit codes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { main } from '../src/cli/main.js';
import { startDaemon, type Daemon } from '../src/control/index.js';
import { runMdevctl } from '../src/sysfs-export/index.js';

const U1 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
const U2 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002';
const U3 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1003';

const haveMdevctl = !spawnSync('mdevctl', ['--version']).error;
const userns = haveMdevctl && spawnSync('unshare', ['-Urm', 'true']).status === 0;
if (!haveMdevctl) console.log('definitions-mdevctl: SKIPPING: `mdevctl` is not installed (apt-get install mdevctl)');
else if (!userns) console.log('definitions-mdevctl: SKIPPING: unprivileged user namespaces are not available (unshare -Urm failed)');
const real = userns ? test : test.skip;

let dir = '';
let root = '';
let sock = '';
let daemon: Daemon;

async function mtty(...args: string[]) {
  let out = '';
  let err = '';
  const w = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  const code = await main([...args, '--socket', sock], { stdout: w((s) => (out += s)), stderr: w((s) => (err += s)), stdin: Readable.from([]) });
  return { code, out, err };
}

async function md(...args: string[]) {
  const r = await runMdevctl(root, args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

/** mdevctl ends every listing with an empty line; mtty does not. The rest must be the same text. */
const same = (mdevctlOut: string) => mdevctlOut.replace(/\n\n$/, '\n').replace(/^\n$/, '');

test.before.each(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mtty-store-'));
  root = join(dir, 'root');
  sock = join(dir, 'control.sock');
  daemon = await startDaemon({ socketPath: sock, sysfsRoot: root, ports: 8 });
});

test.after.each(async () => {
  await daemon.close();
  rmSync(dir, { recursive: true, force: true });
});

real('the daemon keeps its definitions in DIR/etc/mdevctl.d, the store mdevctl reads', async () => {
  assert.is(daemon.service.store().dir, join(root, 'etc/mdevctl.d'));
  assert.is((await mtty('define', '-u', U1, '-t', 'mtty-2', '--auto')).code, 0);
  assert.is(readFileSync(join(root, 'etc/mdevctl.d/mtty', U1), 'utf8'), '{\n  "mdev_type": "mtty-2",\n  "start": "auto",\n  "attrs": []\n}');
});

real('defined auto with mtty is auto in mdevctl list -d, and the reverse; attrs and JSON are the same text', async () => {
  assert.is((await mtty('define', '-u', U1, '-t', 'mtty-2', '--auto')).code, 0);
  let m = await md('define', '-u', U2, '-p', 'mtty', '-t', 'mtty-1', '--auto');
  assert.is(m.code, 0, m.err);
  assert.is((await md('modify', '-u', U2, '--addattr', 'foo', '--value', 'bar')).code, 0);
  assert.is((await mtty('modify', '-u', U1, '--addattr', 'baz', '--value', '1')).code, 0);
  assert.is((await mtty('define', '-u', U3, '-t', 'mtty-1')).code, 0);

  m = await md('list', '-d');
  assert.is(m.out, `${U1} mtty mtty-2 auto\n${U2} mtty mtty-1 auto\n${U3} mtty mtty-1 manual\n\n`);
  let t = await mtty('list', '-d');
  assert.is(t.out, same(m.out));
  for (const args of [['list', '-d', '-v'], ['list', '-d', '--dumpjson'], ['list', '-d', '-u', U2, '--dumpjson'], ['list', '-d', '-p', 'mtty', '-v'], ['types', '--dumpjson'], ['types']]) {
    m = await md(...args);
    t = await mtty(...args);
    assert.is(m.code, 0, m.err);
    assert.equal([t.code, t.out], [0, same(m.out)], args.join(' '));
  }

  // mdevctl starts mtty's auto definition (with its attrs nothing on mtty's device takes, so: no attrs here).
  assert.is((await mtty('modify', '-u', U1, '--delattr')).code, 0);
  m = await md('start', '-u', U1);
  assert.is(m.code, 0, m.err);
  const until = Date.now() + 5000;
  while (!daemon.service.mtty.bus.device(U1) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  assert.is(daemon.service.mtty.bus.device(U1)?.type.id, 'mtty-2');
  // mtty starts mdevctl's definition; both list both running devices alike.
  assert.is((await mtty('start', '-u', U3)).code, 0);
  await daemon.sysfsExport!.idle();
  for (const args of [['list'], ['list', '--dumpjson'], ['list', '-d'], ['list', '-u', U1, '--dumpjson']]) {
    m = await md(...args);
    t = await mtty(...args);
    assert.equal([t.code, t.out], [0, same(m.out)], args.join(' '));
  }
  assert.is(t.out, '{\n  "mdev_type": "mtty-2",\n  "start": "auto",\n  "attrs": []\n}\n');

  // Each tool undefines the other's; both see it gone.
  assert.is((await mtty('undefine', '-u', U2)).code, 0);
  assert.is((await md('undefine', '-u', U3)).code, 0);
  m = await md('list', '-d');
  assert.is(m.out, `${U1} mtty mtty-2 auto (active)\n\n`);
  assert.is((await mtty('list', '-d')).out, same(m.out));
});

real('one UUID, two tools: whoever defines first wins, the other is refused and the file is the winner\'s', async () => {
  assert.is((await mtty('define', '-u', U1, '-t', 'mtty-2')).code, 0);
  const m = await md('define', '-u', U1, '-p', 'mtty', '-t', 'mtty-1');
  assert.is(m.code, 1);
  assert.match(m.err, /already defined/);
  assert.is((await md('define', '-u', U2, '-p', 'mtty', '-t', 'mtty-1')).code, 0);
  const t = await mtty('define', '-u', U2, '-t', 'mtty-2');
  assert.is(t.code, 1);
  assert.match(t.err, /^mtty define: EEXIST \(File exists\): device 83b8f4f2-509f-382f-3c1e-e6bfe0fa1002 is already defined on parent mtty/);
  assert.is(JSON.parse(readFileSync(join(root, 'etc/mdevctl.d/mtty', U1), 'utf8')).mdev_type, 'mtty-2');
  assert.is(JSON.parse(readFileSync(join(root, 'etc/mdevctl.d/mtty', U2), 'utf8')).mdev_type, 'mtty-1');
});

real('the same refusals give the same exit codes (1 failed, 2 bad usage)', async () => {
  assert.is((await mtty('define', '-u', U1, '-t', 'mtty-2')).code, 0);
  const jf = join(dir, 'd.json');
  rmSync(jf, { force: true });
  await import('node:fs/promises').then((f) => f.writeFile(jf, '{"mdev_type":"mtty-1","start":"manual","attrs":[]}'));
  const cases: string[][] = [
    ['list', '-u', 'notauuid'],
    ['modify', '-u', U1, '--auto', '--manual'],
    ['modify', '-u', U1, '--addattr', 'x'],
    ['modify', '-u', U1, '--addattr', 'x', '--delattr', '--value', '1'],
    ['modify', '-u', U2, '--auto'],
    ['modify', '-u', U1, '--addattr', 'x', '--value', '1', '--index', '7'],
    ['modify', '-u', U1, '--delattr', '--index', '3'],
    ['undefine', '-u', U2],
    ['define', '-u', U1, '-p', 'mtty', '-t', 'mtty-1'],
    ['define', '-u', U3, '-p', 'mtty', '--jsonfile', jf, '-t', 'mtty-1'],
    ['define', '-u', U3, '-p', 'mtty', '--jsonfile', jf, '--auto'],
    ['define', '-u', U3, '-p', 'mtty', '--jsonfile', join(dir, 'missing.json')],
    ['start', '-u', U2],
    ['start', '-p', 'mtty', '--jsonfile', jf, '-t', 'mtty-1'],
    ['stop', '-u', U2],
  ];
  for (const c of cases) {
    const m = await md(...c);
    const t = await mtty(...c);
    assert.is(t.code, m.code, `${c.join(' ')}: mtty ${t.code} (${t.err.split('\n')[0]}), mdevctl ${m.code} (${m.err.split('\n')[0]})`);
  }
});

real('mdevctl and 20 mtty clients define one UUID at once: the file is always whole, both tools list it', async () => {
  const { SocketClient } = await import('../src/control/index.js');
  const clients = await Promise.all(Array.from({ length: 20 }, () => SocketClient.connect(sock)));
  try {
    for (let round = 0; round < 3; round++) {
      await mtty('undefine', '-u', U1).catch(() => undefined);
      const [m, ...ours] = await Promise.all([
        md('define', '-u', U1, '-p', 'mtty', '-t', 'mtty-1'),
        ...clients.map((c) => c.call('define', { uuid: U1, type: 'mtty-2' }).then(() => 'ok', (e: { code?: string }) => e.code)),
      ]);
      // mtty's side: at most one of ours wins, the rest are EEXIST (mdevctl's own check-then-write may still overwrite it).
      assert.ok(ours.filter((r) => r === 'ok').length <= 1, ours.join(' '));
      assert.ok(ours.every((r) => r === 'ok' || r === 'EEXIST'), ours.join(' '));
      assert.ok(m.code === 0 || m.code === 1, m.err);
      const body = JSON.parse(readFileSync(join(root, 'etc/mdevctl.d/mtty', U1), 'utf8'));
      assert.ok(body.mdev_type === 'mtty-1' || body.mdev_type === 'mtty-2');
      const listed = await md('list', '-d');
      assert.is(listed.code, 0, listed.err);
      assert.is((await mtty('list', '-d')).out, same(listed.out));
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});

test.run();
