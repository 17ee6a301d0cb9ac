/**
 * Issue 13 item 4: the control socket's directory, `--vfio-user DIR` and
 * `--sysfs-root DIR` all follow one rule (src/control/paths.ts
 * preparePrivateDir): owned by the daemon's user, not group/world-writable,
 * not a symlink; created 0700 when missing. And a vfio-user socket of a
 * transient device left by `kill -9` is gone after the next start.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SocketClient } from '../src/control/client.js';
import { startDaemon, type DaemonOptions } from '../src/control/daemon.js';
import { preparePrivateDir } from '../src/control/paths.js';
import { MttyError } from '../src/errors/errno.js';

const BIN = fileURLToPath(new URL('../../bin/mtty.cjs', import.meta.url));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let base = '';
let n = 0;

test.before(() => {
  base = mkdtempSync(join(tmpdir(), 'mtty-dirs-'));
});
test.after(() => {
  rmSync(base, { recursive: true, force: true });
});

async function refusal(opts: DaemonOptions): Promise<MttyError> {
  const sock = opts.socketPath ?? join(base, `ok-${n++}`, 'control.sock');
  try {
    const d = await startDaemon({ configDir: join(base, 'cfg'), autostart: false, ports: 2, ...opts, socketPath: sock });
    await d.close();
  } catch (e) {
    assert.instance(e, MttyError);
    // Nothing is left listening: the control socket of a refused start is gone.
    assert.not.ok(existsSync(sock), `${sock} left behind`);
    return e as MttyError;
  }
  throw new Error('startDaemon accepted the directory');
}

/** A fresh path per case, prepared by `make`. */
function place(make: (p: string) => void): string {
  const p = join(base, `case-${n++}`);
  make(p);
  return p;
}

const worldWritable = () => place((p) => {
  mkdirSync(p);
  chmodSync(p, 0o777);
});
const groupWritable = () => place((p) => {
  mkdirSync(p);
  chmodSync(p, 0o770);
});
const symlinked = () => place((p) => {
  const real = `${p}-real`;
  mkdirSync(real, { mode: 0o700 });
  symlinkSync(real, p);
});
const foreign = () => place((p) => {
  mkdirSync(p, { mode: 0o700 });
  chownSync(p, 65534, 65534); // nobody
});

const roles: [string, (dir: string) => DaemonOptions][] = [
  ['control socket directory', (d) => ({ socketPath: join(d, 'control.sock') })],
  ['--vfio-user DIR', (d) => ({ vfioUserDir: d })],
  ['--sysfs-root DIR', (d) => ({ sysfsRoot: d })],
];

for (const [role, opts] of roles) {
  test(`${role}: mode 0777 and 0770 are refused with EACCES and a sentence`, async () => {
    let e = await refusal(opts(worldWritable()));
    assert.is(e.code, 'EACCES');
    assert.match(e.message, /writable by every user \(mode 777\).*chmod go-w/);
    e = await refusal(opts(groupWritable()));
    assert.is(e.code, 'EACCES');
    assert.match(e.message, /writable by its group/);
  });

  test(`${role}: a symlinked directory is refused with EACCES`, async () => {
    const e = await refusal(opts(symlinked()));
    assert.is(e.code, 'EACCES');
    assert.match(e.message, /is a symbolic link/);
  });

  test(`${role}: a directory owned by another user is refused with EPERM`, async () => {
    if (!isRoot) {
      console.log(`  skipped (${role}, other owner): needs root to chown a directory to another user`);
      return;
    }
    const e = await refusal(opts(foreign()));
    assert.is(e.code, 'EPERM');
    assert.match(e.message, /belongs to uid 65534, not to this daemon's user/);
  });

  test(`${role}: a missing directory is created 0700 (whatever the umask)`, async () => {
    const dir = join(base, `fresh-${n++}`, 'deeper');
    const old = process.umask(0);
    try {
      const d = await startDaemon({ configDir: join(base, 'cfg'), autostart: false, ports: 2, socketPath: join(base, `s-${n++}`, 'c.sock'), ...opts(dir) });
      await d.close();
    } finally {
      process.umask(old);
    }
    assert.is(statSync(dir).mode & 0o777, 0o700);
  });
}

test('preparePrivateDir: our own 0700 and 0755 directories pass; a regular file is EINVAL', () => {
  const d = place((p) => mkdirSync(p, { mode: 0o700 }));
  assert.is(preparePrivateDir(d, 'test directory'), d);
  chmodSync(d, 0o755);
  assert.is(preparePrivateDir(join(d, '.'), 'test directory'), d);
  const file = join(d, 'file');
  writeFileSync(file, '');
  try {
    preparePrivateDir(file, 'test directory');
    throw new Error('a regular file was accepted');
  } catch (e) {
    assert.is((e as MttyError).code, 'EINVAL');
    assert.match((e as Error).message, /is not a directory/);
  }
});

/** Start `mtty serve` in its own process and wait for its banner. */
function serveProcess(args: string[]): Promise<{ child: ChildProcess; err: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('listening on')) resolve({ child, err: () => err });
    });
    child.once('exit', (code) => reject(new Error(`mtty serve exited ${code}: ${err}`)));
  });
}

test('a transient device\'s vfio-user socket left by kill -9 is removed at the next start', async () => {
  const dir = join(base, `vfu-${n++}`);
  const sock = join(base, `ctl-${n++}`, 'control.sock');
  const args = ['--socket', sock, '--config-dir', join(base, 'cfg'), '--no-autostart', '--ports', '4', '--vfio-user', dir];
  const first = await serveProcess(args);
  const c = await SocketClient.connect(sock);
  const { uuid } = await c.call<{ uuid: string }>('create', { type: 'mtty-1' });
  await c.close();
  const devSock = join(dir, `${uuid}.sock`);
  assert.ok(lstatSync(devSock).isSocket());
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  assert.ok(lstatSync(devSock).isSocket(), 'kill -9 leaves the socket (nothing could remove it)');
  const second = await serveProcess(args);
  try {
    assert.not.ok(existsSync(devSock), 'the stale socket is still there');
    assert.match(second.err(), new RegExp(`removed 1 stale socket.*${uuid}\\.sock`));
  } finally {
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  }
});

test.run();
