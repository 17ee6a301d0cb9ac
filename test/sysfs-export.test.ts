import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMtty, type LoadedMtty } from '../src/mtty/load.js';
import { startDaemon } from '../src/control/index.js';
import { MttyError } from '../src/errors/errno.js';
import type { Sysfs } from '../src/mdev/sysfs.js';
import { SysfsExporter, runMdevctl, type SnapshotEntry } from '../src/sysfs-export/index.js';

const U1 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
const U2 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002';
const PARENT = '/sys/devices/virtual/mtty/mtty';
const TYPES = `${PARENT}/mdev_supported_types`;

/** Poll `cond` every 5 ms; fail after `ms` (a bound, never an assertion about timing). */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The exported tree read back from disk in the snapshot's shape. */
function diskSnapshot(root: string, path = '/sys', out: SnapshotEntry[] = []): SnapshotEntry[] {
  const d = join(root, path);
  const st = lstatSync(d);
  if (st.isSymbolicLink()) out.push({ kind: 'link', path, target: readlinkSync(d) });
  else if (st.isDirectory()) {
    out.push({ kind: 'dir', path });
    for (const n of readdirSync(d).sort()) diskSnapshot(root, `${path}/${n}`, out);
  } else if (st.isFIFO()) {
    // create/remove: a FIFO the daemon reads; reading it here would take a writer's bytes
    assert.is(st.mode & 0o777, 0o600);
    out.push({ kind: 'attr', path, access: 'wo', content: '' });
  } else {
    const mode = st.mode & 0o777;
    const access = mode === 0o600 ? 'wo' : mode === 0o644 ? 'rw' : 'ro';
    out.push({ kind: 'attr', path, access, content: readFileSync(d, 'utf8') });
  }
  return out;
}

/** The facade read through its public API only (readlink/list/read from /), in the same shape. */
function facadeSnapshot(sysfs: Sysfs, path = '/sys', out: SnapshotEntry[] = []): SnapshotEntry[] {
  let target: string | undefined;
  try {
    target = sysfs.readlink(path);
  } catch {
    target = undefined;
  }
  if (target !== undefined) {
    out.push({ kind: 'link', path, target });
    return out;
  }
  let names: string[] | undefined;
  try {
    names = sysfs.list(path);
  } catch {
    names = undefined;
  }
  if (names) {
    out.push({ kind: 'dir', path });
    for (const n of names) facadeSnapshot(sysfs, `${path}/${n}`, out);
    return out;
  }
  try {
    const content = sysfs.read(path);
    const rw = /\/(uevent|power\/control|power\/autosuspend_delay_ms)$/.test(path);
    out.push({ kind: 'attr', path, access: rw ? 'rw' : 'ro', content });
  } catch (e) {
    assert.instance(e, MttyError);
    const code = (e as MttyError).code;
    if (code === 'EACCES') out.push({ kind: 'attr', path, access: 'wo', content: '' });
    else out.push({ kind: 'attr', path, access: 'rw', content: '' }); // autosuspend_delay_ms: EIO
  }
  return out;
}

interface World {
  root: string;
  mtty: LoadedMtty;
  ex: SysfsExporter;
  logs: string[];
  close(): Promise<void>;
}

async function world(ports = 24): Promise<World> {
  const root = mkdtempSync(join(tmpdir(), 'mtty-sysfs-export-'));
  const mtty = await loadMtty({ ports });
  const logs: string[] = [];
  const ex = SysfsExporter.start({ root, sysfs: mtty.sysfs, bus: mtty.bus, log: (l) => logs.push(l) });
  return {
    root,
    mtty,
    ex,
    logs,
    async close() {
      await ex.close();
      await mtty.unload();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function inStep(w: World): Promise<void> {
  await w.ex.idle();
  assert.equal(diskSnapshot(w.root), facadeSnapshot(w.mtty.sysfs));
}

test('the exported tree is the facade: same dirs, files, contents and relative links', async () => {
  const w = await world();
  try {
    await inStep(w);
    const r = w.root;
    assert.is(readFileSync(join(r, TYPES, 'mtty-1/available_instances'), 'utf8'), '24\n');
    assert.is(readFileSync(join(r, TYPES, 'mtty-2/name'), 'utf8'), 'Dual port serial\n');
    assert.is(readFileSync(join(r, TYPES, 'mtty-2/device_api'), 'utf8'), 'vfio-pci\n');
    assert.is(readlinkSync(join(r, '/sys/class/mdev_bus/mtty')), w.mtty.sysfs.readlink('/sys/class/mdev_bus/mtty'));
    assert.is(realpathSync(join(r, '/sys/class/mdev_bus/mtty')), realpathSync(join(r, PARENT)));
    assert.is(lstatSync(join(r, TYPES, 'mtty-2/create')).mode & 0o777, 0o600);
    assert.is(lstatSync(join(r, TYPES, 'mtty-2/name')).mode & 0o777, 0o444);
    assert.ok(existsSync(join(r, 'etc/mdevctl.d/scripts.d/callouts')));
  } finally {
    await w.close();
  }
});

test('creates and removes from the library show up in the tree, with available_instances', async () => {
  const w = await world();
  try {
    const t2 = w.mtty.parent.types.find((t) => t.id === 'mtty-2')!;
    const dev = t2.create(U1);
    await until(() => existsSync(join(w.root, '/sys/bus/mdev/devices', U1)), 'the device link');
    await inStep(w);
    assert.is(realpathSync(join(w.root, '/sys/bus/mdev/devices', U1)), realpathSync(join(w.root, PARENT, U1)));
    assert.is(readlinkSync(join(w.root, PARENT, U1, 'mdev_type')), '../mdev_supported_types/mtty-2');
    assert.is(readFileSync(join(w.root, TYPES, 'mtty-2/available_instances'), 'utf8'), '11\n');
    assert.is(readFileSync(join(w.root, TYPES, 'mtty-1/available_instances'), 'utf8'), '22\n');
    await dev.remove();
    await until(() => !existsSync(join(w.root, PARENT, U1)), 'the device dir to go');
    await until(() => readFileSync(join(w.root, TYPES, 'mtty-2/available_instances'), 'utf8') === '12\n', 'the ports to come back');
    await inStep(w);
  } finally {
    await w.close();
  }
});

test('writing a UUID to the exported create file creates the device; 1 to remove removes it', async () => {
  const w = await world();
  try {
    const create = join(w.root, TYPES, 'mtty-1/create');
    writeFileSync(create, U1); // what mdevctl does: O_TRUNC, one write, no newline
    await until(() => w.mtty.bus.device(U1) !== undefined, 'the device on the bus');
    await until(() => existsSync(join(w.root, '/sys/bus/mdev/devices', U1)), 'the device link');
    await inStep(w);
    writeFileSync(join(w.root, '/sys/bus/mdev/devices', U1, 'remove'), '1\n');
    await until(() => w.mtty.bus.device(U1) === undefined, 'the device to go');
    await until(() => !existsSync(join(w.root, PARENT, U1)), 'the device dir to go');
    await inStep(w);
    assert.ok(w.logs.some((l) => l.includes('create: ok')));
  } finally {
    await w.close();
  }
});

test('a UUID arriving in two writes creates one device', async () => {
  const w = await world();
  try {
    const fd = openSync(join(w.root, TYPES, 'mtty-2/create'), 'w');
    writeSync(fd, U2.slice(0, 10));
    await new Promise((r) => setTimeout(r, 5)); // let the watcher see the prefix (it must wait, not fail)
    writeSync(fd, U2.slice(10) + '\n');
    closeSync(fd);
    await until(() => w.mtty.bus.device(U2) !== undefined, 'the device');
    await inStep(w);
    assert.is(w.mtty.bus.devices.length, 1);
    assert.not.ok(w.logs.some((l) => l.includes('FAILED')), w.logs.join('\n'));
  } finally {
    await w.close();
  }
});

test('errors (EINVAL, EEXIST, ENOSPC) are logged and nothing else changes', async () => {
  const w = await world(2);
  try {
    const c1 = join(w.root, TYPES, 'mtty-1/create');
    writeFileSync(c1, 'not-a-uuid\n');
    await until(() => w.logs.some((l) => l.includes('EINVAL')), 'the EINVAL log line');
    assert.is(w.mtty.bus.devices.length, 0);
    await inStep(w);

    w.mtty.parent.types.find((t) => t.id === 'mtty-1')!.create(U1);
    writeFileSync(c1, U1);
    await until(() => w.logs.some((l) => l.includes('EEXIST')), 'the EEXIST log line');

    writeFileSync(join(w.root, TYPES, 'mtty-2/create'), U2); // 1 port left, mtty-2 needs 2
    await until(() => w.logs.some((l) => l.includes('ENOSPC')), 'the ENOSPC log line');
    assert.ok(w.logs.find((l) => l.includes('ENOSPC'))!.includes('the writer was not told'));
    assert.is(w.mtty.bus.devices.length, 1);
    assert.is(w.mtty.bus.device(U2), undefined);
    await inStep(w);
    assert.is(readFileSync(join(w.root, TYPES, 'mtty-2/available_instances'), 'utf8'), '0\n');
  } finally {
    await w.close();
  }
});

/** bash with $1 = the exported root, in its own process (the mirror reads on this thread, asynchronously). */
function bash(root: string, script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-c', script, 'bash', root], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const nth = (i: number) => `83b8f4f2-509f-382f-3c1e-${i.toString(16).padStart(12, '0')}`;

test('mirror: 50 back-to-back `echo UUID > create` make 50 devices', async () => {
  const w = await world(100);
  try {
    const r = await bash(w.root, `for i in $(seq 1 50); do printf '83b8f4f2-509f-382f-3c1e-%012x\n' $i > "$1${TYPES}/mtty-1/create"; done`);
    assert.is(r.code, 0, r.stderr);
    await until(() => w.mtty.bus.devices.length === 50, `50 devices (have ${w.mtty.bus.devices.length})`);
    await w.ex.idle();
    assert.equal(w.mtty.bus.devices.map((d) => d.uuid).sort(), Array.from({ length: 50 }, (_, i) => nth(i + 1)).sort());
    await inStep(w);
  } finally {
    await w.close();
  }
});

test('mirror: 8 racing writers (echo with and without newline, as mdevctl writes) all handled; then 8 racing removes', async () => {
  const w = await world(100);
  try {
    const writers = Array.from({ length: 8 }, (_, k) =>
      bash(w.root, `for i in $(seq 1 10); do printf '83b8f4f2-509f-382f-3c1e-%012x${k % 2 ? '' : '\\n'}' $((${k} * 100 + i)) > "$1${TYPES}/mtty-1/create"; done`),
    );
    for (const r of await Promise.all(writers)) assert.is(r.code, 0, r.stderr);
    await until(() => w.mtty.bus.devices.length === 80, `80 devices (have ${w.mtty.bus.devices.length})`);
    await w.ex.idle();
    assert.not.ok(w.logs.some((l) => l.includes('FAILED')), w.logs.filter((l) => l.includes('FAILED')).join('\n'));
    const uuids = w.mtty.bus.devices.map((d) => d.uuid);
    const removers = Array.from({ length: 8 }, (_, k) =>
      bash(w.root, uuids.slice(k * 10, k * 10 + 10).map((u) => `echo 1 > "$1/sys/bus/mdev/devices/${u}/remove"`).join('; ')),
    );
    for (const r of await Promise.all(removers)) assert.is(r.code, 0, r.stderr);
    await until(() => w.mtty.bus.devices.length === 0, `no devices (have ${w.mtty.bus.devices.length})`);
    await w.ex.idle();
    await inStep(w);
  } finally {
    await w.close();
  }
});

test('mirror: a 100 MB value written into create is refused once, logged as a bounded prefix, and the next write works', async () => {
  const w = await world(4);
  try {
    const r = await bash(w.root, `head -c 100000000 /dev/zero | tr '\\0' a > "$1${TYPES}/mtty-1/create"`);
    assert.is(r.code, 0, r.stderr); // a pipe takes it all; the mirror cannot fail write(2)
    await until(() => w.logs.some((l) => l.includes('FAILED')), 'the refusal in the log');
    await new Promise((res) => setTimeout(res, 200)); // any further line would come now
    await w.ex.idle();
    const lines = w.logs.filter((l) => l.includes('/create'));
    assert.is(lines.length, 1, `one line for one overlong value, got ${lines.length}`);
    assert.ok(lines[0].length < 400, `a log line of ${lines[0].length} characters`);
    assert.match(lines[0], /"a{80}"\.\.\. \(4096 characters\)/);
    const ok = await bash(w.root, `echo ${U1} > "$1${TYPES}/mtty-1/create"`);
    assert.is(ok.code, 0);
    await until(() => w.mtty.bus.device(U1) !== undefined, 'the next create');
    assert.is(w.mtty.bus.devices.length, 1);
  } finally {
    await w.close();
  }
});

test('mirror: a symlink planted at a temporary file name is not written through', async () => {
  const w = await world(4);
  try {
    const victim = join(w.root, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(w.root, TYPES, 'mtty-1', '.available_instances.mtty-tmp'));
    w.mtty.parent.types.find((t) => t.id === 'mtty-1')!.create(U1); // available_instances changes: rewritten through the temp name
    await until(() => readFileSync(join(w.root, TYPES, 'mtty-1/available_instances'), 'utf8') === '3\n', 'the new count');
    assert.is(readFileSync(victim, 'utf8'), 'precious\n');
    assert.not.ok(lstatSync(join(w.root, TYPES, 'mtty-1/available_instances')).isSymbolicLink());
    await inStep(w);
  } finally {
    await w.close();
  }
});

test('mirror: the sysfs root gets the private-directory rule (a 0777 root is refused)', async () => {
  const mtty = await loadMtty({ ports: 2 });
  const root = mkdtempSync(join(tmpdir(), 'mtty-sysfs-export-open-'));
  try {
    chmodSync(root, 0o777);
    try {
      SysfsExporter.start({ root, sysfs: mtty.sysfs, bus: mtty.bus });
      assert.unreachable('a world-writable root was accepted');
    } catch (e) {
      assert.instance(e, MttyError);
      assert.is((e as MttyError).code, 'EACCES');
    }
    assert.not.ok(existsSync(join(root, 'sys')));
  } finally {
    await mtty.unload();
    rmSync(root, { recursive: true, force: true });
  }
});

test('close removes DIR/sys and keeps mdevctl configs', async () => {
  const w = await world();
  try {
    writeFileSync(join(w.root, 'etc/mdevctl.d/keep'), 'x');
    await w.ex.close();
    assert.not.ok(existsSync(join(w.root, 'sys')));
    assert.ok(existsSync(join(w.root, 'etc/mdevctl.d/keep')));
  } finally {
    await w.close(); // the exporter's close is idempotent; unloads the parent and removes the root whatever failed
  }
});

// ---- the real mdevctl (Debian 1.2.0), run in an unprivileged user+mount namespace ----

const haveMdevctl = !spawnSync('mdevctl', ['--version']).error;
if (!haveMdevctl) console.log('sysfs-export: SKIPPING the real-mdevctl tests: `mdevctl` is not installed (apt-get install mdevctl)');

const real = haveMdevctl ? test : test.skip;

real('real mdevctl: types, start, list, define, list -d, stop, and refusals leave everything consistent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-mdevctl-'));
  const root = join(dir, 'root');
  const logs: string[] = [];
  const daemon = await startDaemon({ socketPath: join(dir, 'control.sock'), configDir: join(dir, 'cfg'), ports: 4, sysfsRoot: root, log: (l) => logs.push(l) });
  const mtty = daemon.service.mtty;
  const ex = daemon.sysfsExport!;
  const md = async (...args: string[]) => {
    const r = await runMdevctl(root, args);
    return { ...r, out: r.stdout };
  };
  try {
    const types = await md('types');
    assert.is(types.code, 0, types.stderr);
    assert.is(
      types.stdout,
      'mtty\n  mtty-1\n    Available instances: 4\n    Device API: vfio-pci\n    Name: Single port serial\n' +
        '  mtty-2\n    Available instances: 2\n    Device API: vfio-pci\n    Name: Dual port serial\n\n',
    );

    const start = await md('start', '-p', 'mtty', '-t', 'mtty-2', '-u', U1);
    assert.is(start.code, 0, start.stderr);
    await until(() => mtty.bus.device(U1)?.state === 'active', 'the device in the daemon');
    assert.is(mtty.bus.device(U1)!.type.id, 'mtty-2');
    await ex.idle();
    const list = await md('list');
    assert.is(list.stdout, `${U1} mtty mtty-2 manual\n\n`);
    assert.is(readFileSync(join(root, TYPES, 'mtty-2/available_instances'), 'utf8'), '1\n');
    assert.match((await md('types')).stdout, /mtty-1\n {4}Available instances: 2\n/);

    const def = await md('define', '-u', U2, '-p', 'mtty', '-t', 'mtty-1');
    assert.is(def.code, 0, def.stderr);
    assert.ok(existsSync(join(root, 'etc/mdevctl.d/mtty', U2)));
    assert.is((await md('list', '-d')).stdout, `${U2} mtty mtty-1 manual\n\n`);

    // Refusals mdevctl makes from what it reads in the tree: the UUID is already active.
    const again = await md('start', '-p', 'mtty', '-t', 'mtty-1', '-u', U1);
    assert.is.not(again.code, 0);
    assert.is(mtty.bus.devices.length, 1);

    // Pool exhausted: 2 ports left -> mtty-2 once more, then available_instances 0 and mdevctl refuses.
    const third = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1003';
    assert.is((await md('start', '-p', 'mtty', '-t', 'mtty-2', '-u', third)).code, 0);
    await until(() => mtty.bus.device(third) !== undefined, 'the second device');
    await ex.idle();
    const full = await md('start', '-u', U2);
    assert.is.not(full.code, 0, 'mdevctl must refuse when available_instances is 0');
    assert.is(mtty.bus.device(U2), undefined);
    assert.equal(diskSnapshot(root), facadeSnapshot(mtty.sysfs));

    assert.is((await md('stop', '-u', third)).code, 0);
    const stop = await md('stop', '-u', U1);
    assert.is(stop.code, 0, stop.stderr);
    await until(() => mtty.bus.devices.length === 0, 'the devices to be removed');
    await until(() => readFileSync(join(root, TYPES, 'mtty-2/available_instances'), 'utf8') === '2\n', 'the ports to come back');
    await ex.idle();
    assert.is((await md('list')).stdout, '\n');
    assert.equal(diskSnapshot(root), facadeSnapshot(mtty.sysfs));
    assert.not.ok(logs.some((l) => l.includes('FAILED')), logs.join('\n'));
  } finally {
    await daemon.close();
    assert.not.ok(existsSync(join(root, 'sys')));
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
