/**
 * Issue 13 item 2: durable definitions and honest errors.
 * - a full filesystem (a 64 KiB tmpfs in an `unshare -Urm` namespace) answers
 *   ENOSPC, not EIO, leaves no temp file, and the stored definitions are intact;
 *   a read-only one answers EROFS;
 * - the write protocol, seen by strace: temp file, fsync, link/rename, fsync of
 *   the directory, before the reply;
 * - temp files of dead writers (ours and the old `<uuid>.tmp-<pid>`) are swept
 *   at start, a live writer's are not;
 * - every acknowledged definition survives kill -9 of the daemon;
 * - definitions in mtty's old layout move into the mdevctl store at start.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SocketClient, startDaemon } from '../src/control/index.js';
import { DefinitionStore, parseDefinition } from '../src/control/definitions.js';

const BIN = resolve(fileURLToPath(import.meta.url), '../../../bin/mtty.cjs');
const CHILD = fileURLToPath(new URL('./support/definitions-fs-child.js', import.meta.url));
const U0 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1000';
const U1 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

const userns = spawnSync('unshare', ['-Urm', 'true']).status === 0;
if (!userns) console.log('definitions-durability: SKIPPING the tmpfs tests: unprivileged user+mount namespaces are not available (unshare -Urm failed)');
const ns = userns ? test : test.skip;
const haveStrace = spawnSync('strace', ['-o', '/dev/null', 'true']).status === 0;
if (!haveStrace) console.log('definitions-durability: SKIPPING the strace test: strace is missing or may not trace here');

let dir = '';
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'mtty-durable-'));
});
test.after.each(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Run the child in a fresh namespace with a 64 KiB tmpfs at DIR/mnt (`pre` runs in the shell first). */
function inTmpfs(mode: string, pre = ''): Record<string, unknown> {
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const script = `mount -t tmpfs -o size=64k tmpfs "$1" && ${pre} exec "$2" "$3" "$1" "$4"`;
  const r = spawnSync('unshare', ['-Urm', 'sh', '-c', script, 'sh', mnt, process.execPath, CHILD, mode], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

ns('a full filesystem: define and modify answer ENOSPC (not EIO), leave no temp file, keep what was stored', () => {
  const r = inTmpfs('enospc');
  assert.equal(r.first, { code: 0, err: '' });
  assert.is(r.fillError, 'ENOSPC');
  for (const f of r.full as { code: number; err: string }[]) {
    assert.is(f.code, 1);
    assert.match(f.err, /^mtty define: ENOSPC \(No space left on device\): /);
  }
  assert.is((r.modifyFull as { code: number }).code, 1);
  assert.match((r.modifyFull as { err: string }).err, /^mtty modify: ENOSPC/);
  assert.equal(r.filesWhenFull, [U0], 'no 0-byte temp file per failed write');
  assert.is(r.u0WhenFull, '{\n  "mdev_type": "mtty-2",\n  "start": "manual",\n  "attrs": []\n}', 'the failed modify left the definition as it was');
  assert.equal(r.afterFree, { code: 0, err: '' });
  assert.equal(r.files, [U0, U1]);
});

ns('a read-only filesystem: EROFS for define, modify and undefine; listing still works (with a stale temp file it cannot sweep)', () => {
  const def = JSON.stringify({ mdev_type: 'mtty-2', start: 'manual', attrs: [] });
  const stale = `.${U1}.mtty-tmp-4194303-ab`; // a dead writer's temp file, which a read-only store cannot lose
  const pre = `mkdir -p "$1/etc/mdevctl.d/mtty" && printf '%s' '${def}' > "$1/etc/mdevctl.d/mtty/${U0}" && : > "$1/etc/mdevctl.d/mtty/${stale}" && mount -o remount,ro "$1" &&`;
  const r = inTmpfs('erofs', pre);
  assert.equal(r.list, { code: 0, err: '' });
  for (const k of ['define', 'modify', 'undefine']) {
    const v = r[k] as { code: number; err: string };
    assert.is(v.code, 1, k);
    assert.match(v.err, new RegExp(`^mtty ${k}: EROFS \\(Read-only file system\\)`), k);
  }
  assert.equal(r.files, [stale, U0]);
});

(haveStrace ? test : test.skip)('define and modify: temp file, fsync, link/rename, fsync of the directory, in that order (strace)', () => {
  const store = join(dir, 'store');
  const log = join(dir, 'strace.log');
  const run = (...args: string[]) => {
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat,fsync,fdatasync,link,rename,unlink', '-o', log, process.execPath, BIN, ...args, '--embedded', '--config-dir', store], { encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 0, r.stderr);
    // Keep the calls on the store, in order, as "call path" (fds resolved from the openat lines).
    const fds = new Map<string, string>();
    const seq: string[] = [];
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const body = line.replace(/^\d+\s+/, '');
      let m = /^openat\(AT_FDCWD, "([^"]+)".*\)\s+= (\d+)$/.exec(body);
      if (m) {
        fds.set(m[2], m[1]);
        if (m[1].startsWith(store) && /O_CREAT|O_DIRECTORY|O_RDONLY/.test(body)) seq.push(`open ${m[1].slice(store.length)}`);
        continue;
      }
      m = /^(fsync|fdatasync)\((\d+)\)\s+= 0$/.exec(body);
      if (m && fds.get(m[2])?.startsWith(store)) seq.push(`fsync ${fds.get(m[2])!.slice(store.length)}`);
      m = /^(link|rename|unlink)\("([^"]+)"(?:, "([^"]+)")?\)\s+= 0$/.exec(body);
      if (m && m[2].startsWith(store)) seq.push(`${m[1]} ${m[2].slice(store.length)}${m[3] ? ` ${m[3].slice(store.length)}` : ''}`);
    }
    return seq.map((s) => s.replace(/\.mtty-tmp-\d+-[0-9a-f]+/g, '.TMP'));
  };
  const define = run('define', '-u', U1, '-t', 'mtty-2');
  const want = [`open /mtty/.${U1}.TMP`, `fsync /mtty/.${U1}.TMP`, `link /mtty/.${U1}.TMP /mtty/${U1}`, `unlink /mtty/.${U1}.TMP`, 'open /mtty', 'fsync /mtty'];
  const at = define.indexOf(want[0]);
  assert.ok(at >= 0, define.join('\n'));
  assert.equal(define.slice(at).filter((s) => !s.startsWith('open /mtty/') || s === want[0]).slice(0, want.length), want, define.join('\n'));
  const modify = run('modify', '-u', U1, '--auto');
  const w2 = [`open /mtty/.${U1}.TMP`, `fsync /mtty/.${U1}.TMP`, `rename /mtty/.${U1}.TMP /mtty/${U1}`, 'open /mtty', 'fsync /mtty'];
  const at2 = modify.indexOf(w2[0]);
  assert.ok(at2 >= 0, modify.join('\n'));
  assert.equal(modify.slice(at2).filter((s) => !s.startsWith('open /mtty/') || s === w2[0]).slice(0, w2.length), w2, modify.join('\n'));
});

test('stale temp files of dead writers are swept at start (ours and the old <uuid>.tmp-<pid>); a live writer\'s stay', async () => {
  const store = join(dir, 'store');
  mkdirSync(join(store, 'mtty'), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  const stale = [`.${U1}.mtty-tmp-${deadPid}-0a1b2c`, `${U1}.tmp-${deadPid}`];
  const live = `.${U0}.mtty-tmp-1-0a1b2c`; // pid 1 is alive (and not the daemon, which runs in this process)
  for (const n of [...stale, live]) writeFileSync(join(store, 'mtty', n), '');
  writeFileSync(join(store, 'mtty', U0), JSON.stringify({ mdev_type: 'mtty-1', start: 'manual', attrs: [] }));
  const logs: string[] = [];
  const d = await startDaemon({ socketPath: join(dir, 'c.sock'), configDir: store, log: (l) => logs.push(l) });
  try {
    assert.equal(readdirSync(join(store, 'mtty')).sort(), [live, U0].sort());
    for (const n of stale) assert.ok(logs.some((l) => l === `removed the stale temp file ${join(store, 'mtty', n)}`), logs.join('\n'));
  } finally {
    await d.close();
  }
});

test('every acknowledged definition survives kill -9 of the daemon; the next daemon starts clean', async () => {
  const store = join(dir, 'store');
  const sock = join(dir, 'c.sock');
  const child = spawn(process.execPath, [BIN, 'serve', '--socket', sock, '--config-dir', store, '--no-autostart'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res) => child.stdout!.on('data', (d: Buffer) => String(d).includes('listening') && res()));
  const clients = await Promise.all(Array.from({ length: 4 }, () => SocketClient.connect(sock)));
  const acked: string[] = [];
  let n = 0;
  const uuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  // Four clients define as fast as they can; the daemon is killed once 60 are acknowledged, with more in flight.
  const writers = clients.map(async (c) => {
    for (;;) {
      const u = uuid(n++);
      try {
        await c.call('define', { uuid: u, type: n % 2 ? 'mtty-1' : 'mtty-2' });
        acked.push(u);
        if (acked.length === 60) child.kill('SIGKILL');
      } catch {
        return; // the connection died with the daemon
      }
    }
  });
  await Promise.all(writers);
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  assert.ok(acked.length >= 60);
  for (const u of acked) {
    const text = readFileSync(join(store, 'mtty', u), 'utf8');
    parseDefinition(text, u, 'mtty'); // whole and valid
  }
  for (const n of readdirSync(join(store, 'mtty')).filter((x) => /^[0-9a-f-]{36}$/.test(x))) {
    parseDefinition(readFileSync(join(store, 'mtty', n), 'utf8'), n, 'mtty'); // unacknowledged ones are whole too, or absent
  }
  const d = await startDaemon({ socketPath: join(dir, 'c2.sock'), configDir: store, autostart: false });
  try {
    assert.equal(readdirSync(join(store, 'mtty')).filter((x) => !/^[0-9a-f-]{36}$/.test(x)), [], 'no temp file left after the restart');
    const listed = (await d.service.list({ defined: true })).map((e) => e.uuid);
    for (const u of acked) assert.ok(listed.includes(u), u);
  } finally {
    await d.close();
    await Promise.all(clients.map((c) => c.close()));
  }
});

test('definitions in the old layout ($XDG_CONFIG_HOME/mtty/<parent>/<uuid>) move into the mdevctl store at start', async () => {
  const old = join(dir, 'xdg', 'mtty');
  mkdirSync(join(old, 'mtty'), { recursive: true });
  writeFileSync(join(old, 'mtty', U1), JSON.stringify({ mdev_type: 'mtty-2', start: 'auto', attrs: [] }, null, 2) + '\n');
  const saved = process.env.XDG_CONFIG_HOME;
  process.env.XDG_CONFIG_HOME = join(dir, 'xdg');
  const logs: string[] = [];
  try {
    const d = await startDaemon({ socketPath: join(dir, 'c.sock'), log: (l) => logs.push(l) });
    try {
      assert.is(d.service.store().dir, join(old, 'etc', 'mdevctl.d'));
      assert.equal(d.autostarted.started, [U1], 'the moved auto definition is started');
      assert.ok(existsSync(join(old, 'etc', 'mdevctl.d', 'mtty', U1)));
      assert.not.ok(existsSync(join(old, 'mtty', U1)));
      assert.ok(logs.some((l) => l.startsWith(`moved the definition ${join(old, 'mtty', U1)}`)), logs.join('\n'));
    } finally {
      await d.close();
    }
  } finally {
    if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
    else process.env.XDG_CONFIG_HOME = saved;
  }
});

test('a lock left by a killed holder is taken over once stale; a held one makes the next change wait, not fail', async () => {
  const store = join(dir, 'store');
  const s = new DefinitionStore(store);
  await s.define({ uuid: U1, parent: 'mtty', mdev_type: 'mtty-2', start: 'manual', attrs: [] });
  // What kill -9 inside modify leaves: the lock directory, no longer refreshed.
  mkdirSync(s.lockPath);
  const old = new Date(Date.now() - 60_000);
  utimesSync(s.lockPath, old, old);
  await s.modify(U1, 'mtty', (d) => ({ ...d, start: 'auto' }));
  assert.is((await s.get(U1))?.start, 'auto');
  assert.not.ok(existsSync(s.lockPath), 'released after use');
  // A live holder (fresh lock): the change waits for it and then applies.
  mkdirSync(s.lockPath);
  let done = false;
  const pending = s.modify(U1, 'mtty', (d) => ({ ...d, start: 'manual' })).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.not.ok(done, 'must not change the definition while another process holds the lock');
  rmSync(s.lockPath, { recursive: true });
  await pending;
  assert.is((await s.get(U1))?.start, 'manual');
});

test.run();
