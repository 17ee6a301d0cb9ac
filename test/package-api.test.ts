/**
 * The package's public face: every export of every entry point in
 * package.json "exports" has a docstring, docs/api.md is what the declarations
 * generate, internals stay out of the barrel, the source folders import each
 * other without loops (nobody inside imports the public barrel), and the CLI
 * loads only what a verb needs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { main } from '../src/cli/main.js';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { collectApi, entryPoints, generatedPart, packageRoot, renderApiDoc } from './support/api-doc.js';

const ROOT = packageRoot();
const api = collectApi(ROOT);

test('every export of every entry point has a docstring', () => {
  const missing = api.flatMap((e) => e.exports.filter((x) => !x.doc).map((x) => `${e.specifier}: ${x.name}`));
  assert.equal(missing, [], `exports without a docstring:\n${missing.join('\n')}`);
  assert.ok(api.length >= 3, 'mtty, mtty/control, mtty/vfio-user');
});

test('docs/api.md is what the declarations generate (npm run docs:api)', () => {
  const committed = generatedPart(readFileSync(join(ROOT, 'docs/api.md'), 'utf8'));
  assert.ok(committed, 'docs/api.md has its generated part');
  assert.fixture(committed!, renderApiDoc(api));
});

test('the barrel exports the user-facing API and not the internals', () => {
  const names = new Set(api.find((e) => e.specifier === 'mtty')!.exports.map((x) => x.name));
  for (const want of ['loadMtty', 'MdevBus', 'Sysfs', 'Uart', 'GuestMachine', 'createBackend', 'parseTrace', 'replayTrace', 'MttyError', 'ERRNO', 'ManualClock', 'realClock', 'regionOffset']) {
    assert.ok(names.has(want), `mtty exports ${want}`);
  }
  for (const internal of ['MttyDriver', 'PortPool', 'VfioOpenHandle', 'MttyInterrupts', 'registerOp', 'OpRegistry', 'ControlServer']) {
    assert.not.ok(names.has(internal), `${internal} is internal`);
  }
  const control = new Set(api.find((e) => e.specifier === 'mtty/control')!.exports.map((x) => x.name));
  for (const want of ['SocketClient', 'InProcessClient', 'MttyService', 'startDaemon', 'defaultSocketPath']) assert.ok(control.has(want), `mtty/control exports ${want}`);
  assert.not.ok(control.has('registerOp'), 'the process-wide registerOp() is gone');
  const vu = new Set(api.find((e) => e.specifier === 'mtty/vfio-user')!.exports.map((x) => x.name));
  for (const want of ['VfioUserServer', 'VfioUserClient', 'attachVfioUser', 'serveVfioUser']) assert.ok(vu.has(want), `mtty/vfio-user exports ${want}`);
});

test('package.json: types for every entry, declarations built, tests and benchmarks not packed', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  for (const [sub, target] of Object.entries(pkg.exports as Record<string, unknown>)) {
    if (sub === './package.json') continue;
    const t = target as { types: string; default: string };
    assert.ok(t.types && t.default, `${sub} has types and default`);
    assert.ok(statSync(join(ROOT, t.types)).isFile(), `${t.types} is built`);
  }
  assert.equal(entryPoints(ROOT).map((e) => e.specifier).sort(), ['mtty', 'mtty/control', 'mtty/vfio-user']);
  for (const f of pkg.files as string[]) assert.not.match(f, /test|bench/, `files: ${f}`);
});

/** src folder -> folders it imports (static and dynamic imports, relative specifiers). */
function folderGraph(): { edges: Map<string, Set<string>>; barrelImporters: string[] } {
  const edges = new Map<string, Set<string>>();
  const barrelImporters: string[] = [];
  const src = join(ROOT, 'src');
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) return n === 'web' ? [] : walk(p); // the browser page is a separate bundle
      return p.endsWith('.ts') ? [p] : [];
    });
  for (const file of walk(src)) {
    const from = relative(src, file).split('/');
    const fromFolder = from.length > 1 ? from[0]! : '.';
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
      const target = relative(src, normalize(join(dirname(file), m[1]!)));
      if (target.startsWith('..')) continue; // ../../wasm/uart.js: generated bindings, not a folder of src
      if (target === 'index.js' && fromFolder !== '.') barrelImporters.push(relative(ROOT, file));
      const parts = target.split('/');
      const toFolder = parts.length > 1 ? parts[0]! : '.';
      if (toFolder === fromFolder) continue;
      if (!edges.has(fromFolder)) edges.set(fromFolder, new Set());
      edges.get(fromFolder)!.add(toFolder);
    }
  }
  return { edges, barrelImporters };
}

test('no import loops between src folders; nothing inside imports the public barrel', () => {
  const { edges, barrelImporters } = folderGraph();
  assert.equal(barrelImporters, [], 'src/index.ts is for users only');
  const loops: string[] = [];
  for (const [a, outs] of edges) {
    for (const b of outs) {
      // Is there a path back from b to a?
      const seen = new Set<string>([b]);
      const stack = [b];
      while (stack.length) {
        const x = stack.pop()!;
        for (const y of edges.get(x) ?? []) {
          if (y === a) loops.push(`${a} -> ${b} -> ... -> ${a}`);
          if (!seen.has(y)) seen.add(y), stack.push(y);
        }
      }
    }
  }
  assert.equal([...new Set(loops)], []);
  assert.not.ok(edges.get('lab')?.has('cli'), 'lab does not import cli');
  assert.not.ok(edges.get('control')?.has('.'), 'control does not import the barrel');
});

/** The dist/ modules a CLI run loads (an ESM load hook in the child reports them). */
function modulesLoadedBy(args: string[]): string[] {
  const hook = `
    import { register } from 'node:module';
    import { MessageChannel } from 'node:worker_threads';
    const { port1, port2 } = new MessageChannel();
    const urls = [];
    port1.on('message', (u) => urls.push(u)); port1.unref();
    register('data:text/javascript,' + encodeURIComponent(\`
      let port; export function initialize(d) { port = d.port; }
      export async function load(url, ctx, next) { if (url.includes('/dist/')) port.postMessage(url); return next(url, ctx); }\`),
      { data: { port: port2 }, transferList: [port2] });
    process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(urls) + '\\n'));`;
  const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, join(ROOT, 'bin/mtty.cjs'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr = r.stderr;
  const line = stderr.split('\n').find((l) => l.startsWith('LOADED '));
  assert.ok(line, `the child reported its modules: ${stderr}`);
  return (JSON.parse(line!.slice(7)) as string[]).map((u) => u.slice(u.indexOf('/dist/') + 1));
}

test('mtty help and --version load no module at all, and print what main() prints', async () => {
  for (const args of [['help'], ['--version']]) {
    assert.equal(modulesLoadedBy(args), [], `${args.join(' ')} is answered by bin/mtty.cjs from verbs.json`);
    const bin = spawnSync(process.execPath, [join(ROOT, 'bin/mtty.cjs'), ...args], { encoding: 'utf8' });
    let text = '';
    const code = await main(args, { stdout: new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }), stderr: process.stderr, stdin: process.stdin });
    assert.is(bin.status, code);
    assert.fixture(bin.stdout, text);
  }
  assert.match(spawnSync(process.execPath, [join(ROOT, 'bin/mtty.cjs'), 'help'], { encoding: 'utf8' }).stdout, /^  types +list mdev types/m);
});

test('a verb loads only its own area, and the wasm only when it touches a UART', () => {
  const types = modulesLoadedBy(['types', '--help']);
  assert.ok(types.includes('dist/src/cli/devices.js'));
  for (const other of ['serve', 'console', 'lab', 'replay', 'vfio-user', 'guest', 'registers']) {
    assert.not.ok(types.includes(`dist/src/cli/${other}.js`), `types does not load cli/${other}.js`);
  }
  assert.not.ok(types.some((m) => m.startsWith('dist/wasm/') || m.startsWith('dist/src/uart/')), 'a daemon client does not load the UART');
  const replay = modulesLoadedBy(['replay', '--help']);
  assert.ok(replay.includes('dist/src/cli/replay.js'));
  assert.not.ok(replay.includes('dist/src/cli/devices.js'));
});

test('MTTY_NO_ADDON=1 (the addon treated as absent): the demo runs; attach and serve --vfio-user say what is missing', () => {
  const env = { ...process.env, MTTY_NO_ADDON: '1' };
  const demo = spawnSync(process.execPath, [join(ROOT, 'dist/examples/walkthrough.js')], { encoding: 'utf8', env });
  assert.is(demo.status, 0, demo.stderr);
  assert.match(demo.stdout, /ttyS1 at I\/O 0xc150 \(irq = 10\) is a 16550A/);
  const sock = join(tmpdir(), `mtty-noaddon-${process.pid}.sock`);
  const attach = spawnSync(process.execPath, [join(ROOT, 'bin/mtty.cjs'), 'attach', '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001', '--socket', sock], { encoding: 'utf8', env });
  assert.is(attach.status, 1);
  assert.match(attach.stderr, /^mtty attach: ENOENT \(No such file or directory\): the vfio-user native addon .* is not available.*MTTY_NO_ADDON=1 is set.*apt-get install build-essential python3/s);
  const serve = spawnSync(process.execPath, [join(ROOT, 'bin/mtty.cjs'), 'serve', '--vfio-user', join(tmpdir(), 'mtty-noaddon-vu'), '--socket', sock], { encoding: 'utf8', env });
  assert.is(serve.status, 1);
  assert.match(serve.stderr, /^mtty serve: ENOENT .*native addon/);
});

test.run();
