/**
 * The package as a user gets it: `npm pack` (which builds the prebuilt addon
 * with scripts/prebuild.mjs), then `npm install <tarball>` into an empty project.
 *  1. The tarball has no test or bench files, and has the declarations, the
 *     wasm core and prebuilds/linux-x64.
 *  2. `import { loadMtty } from 'mtty'` creates an mtty-2 and reads its
 *     vendor/device ID through the VFIO API; the addon loads from prebuilds/;
 *     the `mtty` command runs; a TypeScript file type-checks under `strict`
 *     against the installed declarations (and a wrong one does not).
 *  3. Without a prebuilt addon and without a C toolchain (PATH holding only
 *     node and sh: no cc, make or python), the install still succeeds and
 *     says what is missing; the demo and the lab work; `mtty attach` fails
 *     with one sentence naming what to install.
 * npm works from its cache first (--prefer-offline): every dependency is
 * already there after the project's own `npm ci`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from './support/api-doc.js';

const ROOT = packageRoot();
const NPM_CLI = join(process.execPath, '../../lib/node_modules/npm/bin/npm-cli.js');
const WORK = mkdtempSync(join(tmpdir(), 'mtty-pack-'));
const TYPES_NODE = JSON.parse(readFileSync(join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')).version as string;

/** Run a command; bounded so a hung npm fails the test instead of eating CI's budget. */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return r;
}

function npm(args: string[], cwd: string, env?: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return run(process.execPath, [existsSync(NPM_CLI) ? NPM_CLI : '/usr/lib/node_modules/npm/bin/npm-cli.js', ...args], { cwd, env });
}

function emptyProject(name: string): string {
  const dir = join(WORK, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }));
  return dir;
}

const QUIET = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
let tarball = '';

test.after(() => rmSync(WORK, { recursive: true, force: true }));

test('npm pack: declarations, wasm and the linux-x64 prebuilt addon; no tests or benchmarks', () => {
  const r = npm(['pack', '--json', '--pack-destination', WORK], ROOT);
  assert.is(r.status, 0, r.stderr);
  // The JSON starts at a line holding only '[' (lifecycle scripts may print before it).
  const [info] = JSON.parse(r.stdout.slice(r.stdout.search(/^\[$/m))) as { filename: string; files: { path: string }[] }[];
  tarball = join(WORK, info!.filename);
  const files = info!.files.map((f) => f.path);
  assert.equal(files.filter((f) => /(^|\/)(test|bench)\//.test(f) || /\.test\.js$/.test(f)), [], 'no test or bench files');
  for (const want of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/control/index.d.ts', 'dist/src/vfio-user/index.d.ts', 'dist/wasm/uart.wasm', 'bin/mtty.cjs', 'dist/src/cli/verbs.json', 'binding.gyp', 'native/vfio_user_native.c', 'docs/api.md']) {
    assert.ok(files.includes(want), `${want} is packed`);
  }
  assert.ok(files.includes('prebuilds/linux-x64/vfio_user_native.node'), 'prebuilt vfio-user addon for linux-x64');
  assert.not.ok(files.some((f) => f.endsWith('.map')), 'no source maps without their sources');
});

test('installed into an empty project: import from mtty, the VFIO API, the addon from prebuilds, the CLI, strict types', () => {
  const dir = emptyProject('user');
  const inst = npm(['install', ...QUIET, tarball, `@types/node@${TYPES_NODE}`], dir);
  assert.is(inst.status, 0, inst.stderr);

  const script = `
    import { loadMtty, regionOffset, VFIO_PCI_CONFIG_REGION_INDEX } from 'mtty';
    import { native } from 'mtty/vfio-user';
    const mtty = await loadMtty();
    const mdev = mtty.parent.type('mtty-2').create();
    const dev = mdev.open();
    const id = dev.read(regionOffset(VFIO_PCI_CONFIG_REGION_INDEX), 4);
    const fd = native().eventfd(0);
    native().close(fd);
    const { existsSync } = await import('node:fs');
    const addon = existsSync('node_modules/mtty/build') ? 'built at install' : 'node_modules/mtty/prebuilds/linux-x64/vfio_user_native.node';
    dev.close();
    await mdev.remove();
    console.log(JSON.stringify({ vendor: id & 0xffff, device: id >>> 16, available: mtty.parent.type('mtty-2').availableInstances, addon }));`;
  const r = run(process.execPath, ['--input-type=module', '-e', script], { cwd: dir });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { vendor: number; device: number; available: number; addon: string };
  assert.is(out.vendor.toString(16), '4348');
  assert.is(out.device.toString(16), '3253');
  assert.is(out.available, 12);
  assert.is(out.addon, 'node_modules/mtty/prebuilds/linux-x64/vfio_user_native.node', 'the addon came prebuilt, nothing was compiled');

  const v = run(join(dir, 'node_modules/.bin/mtty'), ['--version'], { cwd: dir });
  assert.is(v.stdout, 'mtty 0.1.0\n');
  const types = run(join(dir, 'node_modules/.bin/mtty'), ['types', '--embedded'], { cwd: dir, env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'cfg') } });
  assert.is(types.status, 0, types.stderr);
  assert.match(types.stdout, /mtty-2\n    Available instances: 12/);

  // Type-check a user's file against the installed declarations, strict.
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: ['node'], skipLibCheck: false }, files: ['use.ts'] }),
  );
  writeFileSync(
    join(dir, 'use.ts'),
    `import { loadMtty, ManualClock, MttyError, type VfioDevice, type MdevDriver, type Uart } from 'mtty';
     import { SocketClient, type ControlTransport } from 'mtty/control';
     import { VfioUserServer } from 'mtty/vfio-user';
     const mtty = await loadMtty({ ports: 4, profile: 'mtty', clock: new ManualClock() });
     const dev: VfioDevice = mtty.parent.type('mtty-2')!.create().open();
     const info: { flags: number; numRegions: number } = dev.getInfo();
     const uart: Uart = mtty.device(mtty.bus.devices[0]!.uuid)!.vendor.ports[0]!.uart;
     const code: string = new MttyError('EINVAL', 'x').code;
     let t: ControlTransport | undefined;
     let d: MdevDriver | undefined;
     console.log(info, uart.lineSettings.baud, code, t, d, SocketClient, VfioUserServer);
     export {};`,
  );
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const ok = run(process.execPath, [tsc, '-p', dir], { cwd: dir });
  assert.is(ok.status, 0, ok.stdout + ok.stderr);
  // The declarations are real types, not `any`: a wrong use is an error.
  writeFileSync(join(dir, 'use.ts'), `import { loadMtty } from 'mtty';\nconst n: number = await loadMtty({ ports: 'many' });\nexport { n };\n`);
  const bad = run(process.execPath, [tsc, '-p', dir], { cwd: dir });
  assert.is(bad.status, 2);
  assert.match(bad.stdout, /use\.ts.*error TS2322/s);
});

test('without a prebuilt addon and without a C toolchain: install succeeds, demo and lab work, attach says what is missing', async () => {
  // The same tarball minus prebuilds/ (a platform we have no binary for).
  const unpack = join(WORK, 'unpack');
  mkdirSync(unpack);
  assert.is(run('tar', ['xzf', tarball, '-C', unpack], { cwd: WORK }).status, 0);
  rmSync(join(unpack, 'package/prebuilds'), { recursive: true, force: true });
  const bare = join(WORK, 'mtty-noprebuild.tgz');
  assert.is(run('tar', ['czf', bare, '-C', unpack, 'package'], { cwd: WORK }).status, 0);

  // PATH with node and sh only: no cc, gcc, make or python for node-gyp.
  const bin = join(WORK, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, PATH: bin, npm_config_cache: process.env.npm_config_cache, XDG_CONFIG_HOME: join(WORK, 'cfg') };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  for (const tool of ['cc', 'gcc', 'make', 'python3', 'python']) {
    assert.is.not(run('/bin/sh', ['-c', `command -v ${tool}`], { cwd: WORK, env }).status, 0, `${tool} is not on PATH`);
  }

  const dir = emptyProject('no-toolchain');
  // --foreground-scripts: npm shows install-script output only on failure otherwise; the runtime error below is what a user always sees.
  const inst = npm(['install', ...QUIET.filter((a) => a !== '--loglevel=error'), '--foreground-scripts', bare], dir, env);
  assert.is(inst.status, 0, inst.stderr);
  assert.match(inst.stdout + inst.stderr, /mtty: the vfio-user addon is not installed/);
  assert.match(inst.stdout + inst.stderr, /apt-get install build-essential python3/);
  assert.not.ok(existsSync(join(dir, 'node_modules/mtty/build/Release')), 'nothing was built');

  const demo = run(process.execPath, [join(dir, 'node_modules/mtty/dist/examples/walkthrough.js')], { cwd: dir, env });
  assert.is(demo.status, 0, demo.stderr);
  assert.match(demo.stdout, /ttyS1 at I\/O 0xc150 \(irq = 10\) is a 16550A/);
  assert.match(demo.stdout, /00: 48 43 53 32 01 00 00 02 10 02 00 07 00 00 00 00/);

  const mttyBin = join(dir, 'node_modules/.bin/mtty');
  const attach = run(mttyBin, ['attach', '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001', '--socket', join(WORK, 'x.sock')], { cwd: dir, env });
  assert.is(attach.status, 1);
  assert.match(attach.stderr, /^mtty attach: ENOENT \(No such file or directory\): the vfio-user native addon \(fd passing over SCM_RIGHTS\) is not available/);
  assert.match(attach.stderr, /apt-get install build-essential python3/);

  const serve = run(mttyBin, ['serve', '--vfio-user', join(WORK, 'vu'), '--socket', join(WORK, 'c.sock')], { cwd: dir, env });
  assert.is(serve.status, 1, 'serve --vfio-user refuses to start');
  assert.match(serve.stderr, /^mtty serve: ENOENT \(No such file or directory\): the vfio-user native addon/);
  assert.not.ok(existsSync(join(WORK, 'c.sock')), 'no daemon was left listening');

  // The lab: its server starts and serves the page.
  const lab = spawn(mttyBin, ['lab', '--port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      lab.stdout.on('data', (d) => {
        out += String(d);
        const m = /http:\/\/127\.0\.0\.1:\d+\/\S*/.exec(out);
        if (m) resolve(m[0]);
      });
      lab.once('exit', (code) => reject(new Error(`mtty lab exited ${code}: ${out}`)));
    });
    const page = await fetch(url);
    assert.is(page.status, 200);
    assert.match(await page.text(), /<html/i);
  } finally {
    lab.kill('SIGINT');
  }
});

test.run();
