/**
 * `mtty host attach|detach|show` from the command line against a real
 * daemon, with the real picocom on the pty in tmux: what is typed in picocom
 * reaches the guest (the daemon's guest console on /dev/ttyS1), and what the
 * guest sends appears in picocom. Locks: a second attach is EBUSY naming the
 * holder, --force takes over. `mtty remove` on a held device says whom it
 * waits for and honours --timeout.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Readable, PassThrough, Writable } from 'node:stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, readlink, rm, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { startDaemon, type Daemon } from '../src/control/index.js';

const UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

async function run(args: string[], stdin: NodeJS.ReadableStream = Readable.from([])) {
  let out = '';
  let err = '';
  const w = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  const code = await main(args, { stdout: w((s) => (out += s)), stderr: w((s) => (err += s)), stdin });
  return { code, out, err };
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, tries = 400): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 15));
  }
  throw new Error(`gave up waiting for ${what}`);
}

let dir = '';
let sock = '';
let daemon: Daemon;

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtty-cli-host-'));
  sock = join(dir, 'control.sock');
  daemon = await startDaemon({ socketPath: sock, configDir: join(dir, 'cfg'), autostart: false });
  assert.is((await run(['create', '--uuid', UUID, '--socket', sock])).code, 0);
});

test.after.each(async () => {
  await daemon.close();
  await rm(dir, { recursive: true, force: true });
});

test('mtty host attach pty:LINK, picocom on it (tmux) talks to the guest console on ttyS1 both ways', async () => {
  const link = join(dir, 'ttyMTTY0');
  const a = await run(['host', 'attach', UUID, '0', `pty:${link}`, '--socket', sock]);
  assert.is(a.code, 0, a.err);
  assert.match(a.out, new RegExp(`^${UUID} port 0: pty:${link} connected /dev/pts/\\d+ \\(rx 0, tx 0.*held by mtty host attach \\(pid ${process.pid}`));
  const pts = await readlink(link);
  // The guest: its 8250 driver on ttyS1 at 115200, fed line by line by the console.
  const stdin = new PassThrough();
  let cout = '';
  let cerr = '';
  const cio = {
    stdin,
    stdout: new Writable({ write: (c, _e, cb) => ((cout += String(c)), cb()) }),
    stderr: new Writable({ write: (c, _e, cb) => ((cerr += String(c)), cb()) }),
  };
  const guest = main(['console', UUID, '--baud', '115200', '--socket', sock], cio);
  await until(() => cerr.includes('Line mode'), 'guest console banner');
  assert.match(cerr, new RegExp(`the host end is pty:${link}`));
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const t = (...args: string[]) => promisify(execFile)('tmux', ['-L', `mtty-cli-host-${tag}`, ...args]);
  const screen = () => t('capture-pane', '-p', '-t', 'pico').then((r) => r.stdout);
  try {
    await t('new-session', '-d', '-s', 'pico', '-x', '120', '-y', '20', `picocom -b 115200 ${link}`);
    await until(async () => (await screen()).includes('Terminal ready'), 'picocom ready');
    await t('send-keys', '-t', 'pico', '-l', 'typed in picocom');
    await until(() => cout.includes('typed in picocom'), 'picocom keys at the guest tty');
    stdin.write('hello from ttyS1\n');
    await until(async () => (await screen()).includes('hello from ttyS1'), 'the guest line on picocom');
    const show = await run(['host', 'show', UUID, '--socket', sock]);
    assert.match(show.out, new RegExp(`port 0: pty:${link} connected ${pts} \\(rx 16, tx 17, guest 115200 8N1, held by`));
    assert.match(show.out, new RegExp(`${UUID} port 1: loopback`));
    await t('send-keys', '-t', 'pico', 'C-a', 'C-x');
  } finally {
    await t('kill-server').catch(() => undefined);
    stdin.end();
  }
  assert.is(await guest, 0);
  assert.match(cerr, /typed 17 character\(s\), the guest's driver sent 17 and received 16 with \d+ interrupt/);
  const d = await run(['host', 'detach', UUID, '0', '--socket', sock]);
  assert.equal([d.code, d.out], [0, `${UUID} port 0: loopback\n`]);
  assert.not.ok(await lstat(link).then(() => true, () => false), 'link removed');
});

test('a held line: second attach is EBUSY naming the holder; --force takes it; loopback detaches', async () => {
  const link = join(dir, 'ttyA');
  assert.is((await run(['host', 'attach', UUID, '1', `pty:${link}`, '--socket', sock])).code, 0);
  let r = await run(['host', 'attach', UUID, '1', 'pty', '--socket', sock]);
  assert.is(r.code, 1);
  assert.match(r.err, new RegExp(`^mtty host: EBUSY \\(Device or resource busy\\): port 1 of ${UUID} is held by pty:${link} \\(mtty host attach \\(pid \\d+.*use --force`));
  assert.is(await readlink(link).then(() => 'there'), 'there', 'the holder keeps its pty');
  r = await run(['host', 'attach', UUID, '1', 'loopback', '--socket', sock]);
  assert.is(r.code, 1, 'loopback over a held line is a takeover too');
  r = await run(['host', 'attach', UUID, '1', 'pty', '--force', '--socket', sock, '--json']);
  assert.is(r.code, 0, r.err);
  assert.is(JSON.parse(r.out).spec, 'pty');
  await until(async () => !(await lstat(link).then(() => true, () => false)), 'old link gone');
  r = await run(['host', 'attach', UUID, '1', 'loopback', '--force', '--socket', sock]);
  assert.equal([r.code, r.out], [0, `${UUID} port 1: loopback\n`]);
  r = await run(['host', 'show', '--socket', sock]);
  assert.is(r.out, '(no host lines held: every port loops back)\n');
  // Bad input: a clear errno, nothing held.
  r = await run(['host', 'attach', UUID, '0', 'serialport:/dev/nonexistent-tty', '--socket', sock]);
  assert.is(r.code, 1);
  assert.match(r.err, /ENOENT/);
  r = await run(['host', 'attach', UUID, '0', 'telnet:x', '--socket', sock]);
  assert.match(r.err, /EINVAL .*unknown host back-end 'telnet'/);
  r = await run(['host', 'attach', UUID, '7', 'pty', '--socket', sock]);
  assert.match(r.err, /EINVAL .*port 7 does not exist/);
  r = await run(['host', 'frob', '--socket', sock]);
  assert.is(r.code, 2);
  assert.equal((await run(['host', 'show', '--socket', sock, '--json'])).out, '[]\n');
});

test('mtty remove on a device someone holds says whom it waits for; --timeout gives up with EBUSY and leaves it', async () => {
  const vmm = daemon.service.mtty.device(UUID)!.open('a vfio-user client on /tmp/test.sock');
  let r = await run(['remove', UUID, '--timeout', '0.1', '--socket', sock]);
  assert.is(r.code, 1);
  assert.match(r.err, new RegExp(`^mtty remove: ${UUID} is open by a vfio-user client on /tmp/test.sock; waiting for it to close \\(up to 0.1 s\\)\\n`));
  assert.match(r.err, /mtty remove: EBUSY \(Device or resource busy\): .*still open by a vfio-user client on \/tmp\/test.sock after 100 ms; not removed/);
  assert.is(daemon.service.mtty.device(UUID)!.state, 'active');
  vmm.read(0x5, 1); // the VMM's handle still works
  const removing = run(['remove', UUID, '--socket', sock]);
  await new Promise((res) => setTimeout(res, 50));
  assert.is(daemon.service.mtty.device(UUID)!.state, 'removing', 'waits like the kernel remove write');
  vmm.close();
  r = await removing;
  assert.is(r.code, 0);
  assert.match(r.err, /waiting for it to close \(as the kernel does; .*--timeout S gives up instead\)/);
  assert.is(daemon.service.mtty.device(UUID), undefined);
  r = await run(['remove', UUID, '--timeout', 'soon', '--socket', sock]);
  assert.is(r.code, 2);
});

test('a host line at create/define/start time: stored in the definition (mtty_host), attached on start, all or nothing', async () => {
  const U2 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002';
  const link = join(dir, 'ttyDEF');
  let r = await run(['define', '--uuid', U2, '--type', 'mtty-1', '--host', `0=pty:${link}`, '--socket', sock]);
  assert.is(r.code, 0, r.err);
  const stored = JSON.parse(await readFile(join(dir, 'cfg', 'mtty', U2), 'utf8'));
  assert.equal(stored.mtty_host, { '0': `pty:${link}` });
  assert.is(stored.mdev_type, 'mtty-1');
  r = await run(['start', '--uuid', U2, '--socket', sock]);
  assert.is(r.code, 0, r.err);
  r = await run(['host', 'show', U2, '--socket', sock]);
  assert.match(r.out, new RegExp(`^${U2} port 0: pty:${link} connected /dev/pts/\\d+ .*held by mtty start \\(definition ${U2}\\)`));
  assert.ok(await readlink(link));
  r = await run(['stop', U2, '--socket', sock]);
  assert.is(r.code, 0);
  assert.not.ok(await lstat(link).then(() => true, () => false), 'the line went with the device');
  // create --host: a line that cannot be opened means no device at all.
  const avail = async () => Number((await run(['cat', '/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-1/available_instances', '--socket', sock])).out);
  const before = await avail();
  r = await run(['create', '--type', 'mtty-1', '--uuid', U2, '--host', '0=serialport:/dev/no-such-tty', '--socket', sock]);
  assert.is(r.code, 1);
  assert.match(r.err, /ENOENT .*\/dev\/no-such-tty/);
  assert.is(await avail(), before, 'nothing created');
  r = await run(['create', '--type', 'mtty-1', '--host', '0:pty', '--socket', sock]);
  assert.is(r.code, 2, 'PORT=SPEC is the syntax');
  r = await run(['create', '--type', 'mtty-1', '--uuid', U2, '--host', `0=pty:${link}`, '--socket', sock]);
  assert.is(r.code, 0, r.err);
  assert.ok(await readlink(link));
  assert.is((await run(['remove', U2, '--socket', sock])).code, 0);
});

test.run();
