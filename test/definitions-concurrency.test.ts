/**
 * Issue 13 item 1: concurrent define/undefine/modify of one UUID, with real
 * processes and sockets. Exactly one define wins (the rest EEXIST) and the
 * stored definition is the winner's; of N undefines exactly one succeeds (the
 * rest ENOENT); concurrent modifies all apply; nothing is resurrected. Daemons
 * are separate `mtty serve` processes sharing one store, so the cross-process
 * path (link(2) exclusive create, the store lock) is the one exercised.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SocketClient } from '../src/control/index.js';
import { MttyError } from '../src/errors/errno.js';

const BIN = resolve(fileURLToPath(import.meta.url), '../../../bin/mtty.cjs');
const U = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

interface Served {
  sock: string;
  child: ChildProcess;
}

let dir = '';
let store = '';
let served: Served[] = [];

/** Start `mtty serve` as its own process on the shared store; resolves once it listens. */
function serve(name: string): Promise<Served> {
  const sock = join(dir, `${name}.sock`);
  const child = spawn(process.execPath, [BIN, 'serve', '--socket', sock, '--config-dir', store, '--no-autostart', '--ports', '64'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`mtty serve ${name} did not start: ${out}`)), 20_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('listening on')) {
        clearTimeout(timer);
        const s = { sock, child };
        served.push(s);
        res(s);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('exit', (code) => rej(new Error(`mtty serve ${name} exited ${code}: ${out}`)));
  });
}

/** Run one `mtty` CLI process; resolves with its exit code and output. */
function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((res) => child.on('close', (code) => res({ code, out, err })));
}

/** Outcome of one call: 'ok' or the errno name. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof MttyError ? e.code : `unexpected ${String(e)}`;
  }
}

function tally(results: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of results) t[r] = (t[r] ?? 0) + 1;
  return t;
}

const stored = () => JSON.parse(readFileSync(join(store, 'mtty', U), 'utf8')) as { mdev_type: string; start: string; attrs: Record<string, string>[] };

/** Nothing but definitions is left in the store (no temp files). */
function onlyDefinitions(): void {
  const pdir = join(store, 'mtty');
  const names = existsSync(pdir) ? readdirSync(pdir) : [];
  assert.equal(names.filter((n) => !/^[0-9a-f-]{36}$/.test(n)), [], 'no temp files left behind');
}

test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'mtty-conc-'));
  store = join(dir, 'etc', 'mdevctl.d');
  served = [];
});

test.after.each(async () => {
  for (const s of served) {
    s.child.kill('SIGTERM');
    await new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)));
  }
  rmSync(dir, { recursive: true, force: true });
});

test('200 clients define one UUID over the control socket: 1 ok, 199 EEXIST, the file is the winner\'s', async () => {
  const d = await serve('a');
  const clients = await Promise.all(Array.from({ length: 200 }, () => SocketClient.connect(d.sock)));
  try {
    const types = clients.map((_, i) => (i % 2 ? 'mtty-1' : 'mtty-2'));
    const results = await Promise.all(clients.map((c, i) => outcome(c.call('define', { uuid: U, type: types[i] }))));
    assert.equal(tally(results), { ok: 1, EEXIST: 199 });
    assert.is(stored().mdev_type, types[results.indexOf('ok')]);
    onlyDefinitions();
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});

test('two daemons on one store, 100 clients each: 1 ok in all, the file is the winner\'s', async () => {
  const [a, b] = await Promise.all([serve('a'), serve('b')]);
  const clients = await Promise.all(Array.from({ length: 200 }, (_, i) => SocketClient.connect(i % 2 ? a.sock : b.sock)));
  try {
    const types = clients.map((_, i) => (i % 4 < 2 ? 'mtty-1' : 'mtty-2'));
    const results = await Promise.all(clients.map((c, i) => outcome(c.call('define', { uuid: U, type: types[i] }))));
    assert.equal(tally(results), { ok: 1, EEXIST: 199 });
    assert.is(stored().mdev_type, types[results.indexOf('ok')]);
    onlyDefinitions();
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});

test('two `mtty define --embedded` processes at once, 6 runs: one exits 0, the other 1 with EEXIST', async () => {
  for (let run = 0; run < 6; run++) {
    rmSync(store, { recursive: true, force: true });
    const [x, y] = await Promise.all(
      ['mtty-1', 'mtty-2'].map((type) => cli(['define', '--embedded', '--config-dir', store, '-u', U, '-t', type])),
    );
    assert.equal([x.code, y.code].sort(), [0, 1], `run ${run}: ${x.err} ${y.err}`);
    const loser = x.code === 1 ? x : y;
    assert.match(loser.err, /^mtty define: EEXIST \(File exists\)/);
    assert.is(stored().mdev_type, x.code === 0 ? 'mtty-1' : 'mtty-2', `run ${run}`);
    onlyDefinitions();
  }
});

test('five clients undefine one UUID, 10 rounds over two daemons: exactly one ok each round, 4 ENOENT', async () => {
  const [a, b] = await Promise.all([serve('a'), serve('b')]);
  const clients = await Promise.all(Array.from({ length: 5 }, (_, i) => SocketClient.connect(i % 2 ? a.sock : b.sock)));
  try {
    let ok = 0;
    for (let round = 0; round < 10; round++) {
      await clients[0].call('define', { uuid: U, type: 'mtty-2' });
      const results = await Promise.all(clients.map((c) => outcome(c.call('undefine', { uuid: U }))));
      assert.equal(tally(results), { ok: 1, ENOENT: 4 }, `round ${round}`);
      ok += results.filter((r) => r === 'ok').length;
      assert.not.ok(existsSync(join(store, 'mtty', U)));
    }
    assert.is(ok, 10);
    onlyDefinitions();
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});

test('concurrent modifies from two daemons all apply (no lost update); an undefine among them is never undone', async () => {
  const [a, b] = await Promise.all([serve('a'), serve('b')]);
  const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => SocketClient.connect(i % 2 ? a.sock : b.sock)));
  try {
    await clients[0].call('define', { uuid: U, type: 'mtty-2' });
    const results = await Promise.all(clients.map((c, i) => outcome(c.call('modify', { uuid: U, addattr: { name: `a${i}`, value: String(i) } }))));
    assert.equal(tally(results), { ok: 20 });
    const names = stored().attrs.map((x) => Object.keys(x)[0]).sort();
    assert.equal(names, Array.from({ length: 20 }, (_, i) => `a${i}`).sort());

    // Modifies racing one undefine: each modify is before it (ok) or after it (ENOENT); the file stays gone.
    const race = await Promise.all([
      ...clients.slice(0, 10).map((c, i) => outcome(c.call('modify', { uuid: U, addattr: { name: `b${i}`, value: '1' } }))),
      outcome(clients[10].call('undefine', { uuid: U })),
      ...clients.slice(11).map((c) => outcome(c.call('modify', { uuid: U, start: 'auto' }))),
    ]);
    assert.is(race[10], 'ok');
    assert.ok(race.every((r) => r === 'ok' || r === 'ENOENT'), race.join(' '));
    assert.not.ok(existsSync(join(store, 'mtty', U)), 'a modify after the undefine must not bring the definition back');
    onlyDefinitions();
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});

test.run();
