/**
 * The lab's HTTP server: serves the built page and its wasm from dist/lab,
 * answers 404 for anything else, refuses path traversal and non-loopback
 * Host headers. Raw http.request is used (not fetch) because fetch would
 * normalise "/../" away before it reaches the server.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_LAB_ROOT, startLabServer, type LabServer } from '../src/lab/server.js';
import { resolveStatic } from '../src/lab/static-files.js';
import { commands, parseLabArgs } from '../src/cli/lab.js';
import { UsageError } from '../src/cli/types.js';
import { MttyError } from '../src/errors/errno.js';

interface Reply {
  status: number;
  type: string;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
}

function get(server: LabServer, rawPath: string, opts: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, path: rawPath, method: opts.method ?? 'GET', headers: opts.host ? { Host: opts.host } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks), headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// A private root with a secret next to it: traversal must not reach secret.txt.
const base = mkdtempSync(path.join(tmpdir(), 'mtty-lab-'));
const root = path.join(base, 'lab');
mkdirSync(path.join(root, 'wasm'), { recursive: true });
writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>lab</title><script type="module" src="app.js"></script>');
writeFileSync(path.join(root, 'app.js'), 'console.log("lab")');
writeFileSync(path.join(root, 'wasm/uart.wasm'), Buffer.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
writeFileSync(path.join(base, 'secret.html'), 'do not serve');

let server: LabServer;

test.before(async () => {
  server = await startLabServer({ port: 0, root });
});

test.after(async () => {
  await server.close();
});

test('listens on 127.0.0.1 on an ephemeral port and reports its URL', () => {
  assert.ok(server.port > 0);
  assert.is(server.url, `http://127.0.0.1:${server.port}/`);
});

test('serves index.html at /, the bundle and the wasm with their types', async () => {
  const index = await get(server, '/');
  assert.is(index.status, 200);
  assert.match(index.type, /^text\/html/);
  assert.match(index.body.toString(), /app\.js/);
  assert.match(String(index.headers['content-security-policy']), /wasm-unsafe-eval/);
  const js = await get(server, '/app.js?v=1');
  assert.is(js.status, 200);
  assert.match(js.type, /^text\/javascript/);
  const wasm = await get(server, '/wasm/uart.wasm');
  assert.is(wasm.status, 200);
  assert.is(wasm.type, 'application/wasm');
  assert.equal([...wasm.body.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d]);
});

test('HEAD answers headers only', async () => {
  const r = await get(server, '/app.js', { method: 'HEAD' });
  assert.is(r.status, 200);
  assert.is(r.body.length, 0);
});

test('404 for unknown paths and unknown file kinds', async () => {
  assert.is((await get(server, '/nope.js')).status, 404);
  assert.is((await get(server, '/wasm/other.wasm')).status, 404);
  assert.is((await get(server, '/etc/passwd')).status, 404);
  assert.is((await get(server, '/README')).status, 404);
});

test('path traversal is refused, plain or percent-encoded', async () => {
  for (const p of ['/../secret.html', '/wasm/../../secret.html', '/%2e%2e/secret.html', '/wasm/..%2f..%2fsecret.html', '/%2E%2E%2Fsecret.html', '/..\\secret.html', '/%00index.html']) {
    const r = await get(server, p);
    assert.is(r.status, 400, p);
    assert.not.match(r.body.toString(), /do not serve/, p);
  }
});

test('other methods are refused', async () => {
  const r = await get(server, '/', { method: 'POST' });
  assert.is(r.status, 405);
  assert.is(r.headers.allow, 'GET, HEAD');
});

test('a foreign Host header is refused (DNS rebinding)', async () => {
  assert.is((await get(server, '/', { host: 'evil.example:80' })).status, 403);
  assert.is((await get(server, '/', { host: `localhost:${server.port}` })).status, 200);
  assert.is((await get(server, '/', { host: `127.0.0.1:${server.port + 1}` })).status, 403);
});

test('only loopback addresses can be bound', async () => {
  try {
    await startLabServer({ port: 0, host: '0.0.0.0', root });
    assert.unreachable('bound a non-loopback address');
  } catch (e) {
    assert.instance(e, MttyError);
    assert.is((e as MttyError).code, 'EACCES');
  }
});

test('resolveStatic maps directories to index.html and stays inside the root', () => {
  const r = resolveStatic('/srv/lab', '/');
  assert.ok(r.ok && r.file === path.resolve('/srv/lab/index.html'));
  const bad = resolveStatic('/srv/lab', '/a/../../x.js');
  assert.ok(!bad.ok && bad.status === 400);
  const enc = resolveStatic('/srv/lab', '/%E0%A4%A');
  assert.ok(!enc.ok && enc.status === 400);
});

test('mtty lab options: --port, --host, loopback only', () => {
  assert.equal(parseLabArgs([]), { port: 8250, host: '127.0.0.1' });
  assert.equal(parseLabArgs(['--port', '0', '--host=::1']), { port: 0, host: '::1' });
  assert.throws(() => parseLabArgs(['--port', 'x']), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseLabArgs(['--host', '192.168.1.2']), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseLabArgs(['--bogus']), (e: unknown) => e instanceof UsageError);
  assert.equal(parseLabArgs(['--export', '/tmp/x']), { port: 8250, host: '127.0.0.1', export: '/tmp/x' });
  assert.throws(() => parseLabArgs(['--export']), (e: unknown) => e instanceof UsageError);
});

test('mtty lab --export DIR writes the static site (no source maps) and refuses a non-empty DIR with EEXIST', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'mtty-lab-export-')), 'site');
  let out = '';
  const io = { stdout: { write: (t: string) => ((out += t), true) }, stderr: { write: () => true }, stdin: process.stdin } as never;
  assert.is(await commands.lab!.run(['--export', dir], io), 0);
  assert.match(out, /wrote a static site/);
  for (const f of ['index.html', 'app.js', 'app.css', 'wasm/uart.wasm', 'recordings/linux-6.1-8250-isa.trace']) assert.ok(existsSync(path.join(dir, f)), f);
  assert.not.ok(existsSync(path.join(dir, 'app.js.map')));
  try {
    await commands.lab!.run(['--export', dir], io);
    assert.unreachable('exported over a non-empty directory');
  } catch (e) {
    assert.instance(e, MttyError);
    assert.is((e as MttyError).code, 'EEXIST');
  }
});

test('the built lab bundle (npm run build:lab) is what the default server serves', async () => {
  assert.ok(existsSync(path.join(DEFAULT_LAB_ROOT, 'index.html')), `${DEFAULT_LAB_ROOT} is not built: run npm run build:lab`);
  const s = await startLabServer({ port: 0 });
  try {
    const index = await get(s, '/');
    assert.is(index.status, 200);
    const js = await get(s, '/app.js');
    assert.is(js.status, 200);
    assert.match(js.body.toString(), /uart\.wasm/);
    const css = await get(s, '/app.css');
    assert.is(css.status, 200);
    assert.match(css.body.toString(), /\.xterm/);
    const wasm = await get(s, '/wasm/uart.wasm');
    assert.is(wasm.status, 200);
    assert.ok(WebAssembly.validate(new Uint8Array(wasm.body)), 'served uart.wasm is a valid module');
    assert.is((await get(s, '/../package.json')).status, 400);
  } finally {
    await s.close();
  }
});

test.run();
