/**
 * `npm run build:lab`: bundle the lab page with esbuild into dist/lab/.
 *
 * The page imports the project's TypeScript sources directly (src/lab/web ->
 * ../../mdev, ../../mtty, ../../uart ...): esbuild resolves the `.js`
 * specifiers of our NodeNext sources to the `.ts` files, so the bundle does
 * not depend on tsc having run, or succeeded, first, and source maps point at
 * the real sources. Node-only pieces are handled here, once:
 *   - `node:events` (the mdev bus is an EventEmitter) -> web/shims/events.ts;
 *   - the `Buffer` global (byte counts in sysfs) -> web/shims/buffer.ts (inject);
 *   - any other `node:` module stays an external *dynamic* import (code paths
 *     the browser never takes, such as reading the wasm file from disk); a
 *     *static* import of one would break the page, so the build fails on it.
 * The UART's wasm (dist/wasm/uart.wasm, built by asc) is copied next to the
 * bundle; see web/wasm-location.ts for how the page finds it. The recorded
 * lessons (examples/recordings/*.trace) go to recordings/. The result is a
 * static site: `mtty lab --export DIR` copies it anywhere.
 */
import * as esbuild from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/src/lab/build.js -> repository root. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WEB = path.join(ROOT, 'src/lab/web');
const OUT = path.join(ROOT, 'dist/lab');
const WASM = path.join(ROOT, 'dist/wasm/uart.wasm');
const RECORDINGS = path.join(ROOT, 'examples/recordings');

const nodeShims: esbuild.Plugin = {
  name: 'lab-node-shims',
  setup(build) {
    build.onResolve({ filter: /^(node:)?events$/ }, () => ({ path: path.join(WEB, 'shims/events.ts') }));
    // src/uart/core.ts imports asc's generated bindings by their place in dist/
    // (../../wasm/uart.js seen from dist/src/uart/); bundling from src/ must look there too.
    build.onResolve({ filter: /\/wasm\/uart\.js$/ }, () => ({ path: path.join(ROOT, 'dist/wasm/uart.js') }));
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, external: true }));
  },
};

/** Static imports of Node modules that would stop the page from loading. */
function staticNodeImports(meta: esbuild.Metafile): string[] {
  const bad: string[] = [];
  for (const [file, input] of Object.entries(meta.inputs)) {
    for (const imp of input.imports) {
      if (imp.external && imp.path.startsWith('node:') && imp.kind === 'import-statement') bad.push(`${file} imports ${imp.path}`);
    }
  }
  return bad;
}

export async function buildLab(opts: { minify?: boolean } = {}): Promise<void> {
  await rm(OUT, { recursive: true, force: true });
  await mkdir(path.join(OUT, 'wasm'), { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { app: path.join(WEB, 'main.ts') },
    outdir: OUT,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115'],
    sourcemap: 'linked',
    minify: opts.minify ?? false,
    metafile: true,
    inject: [path.join(WEB, 'shims/buffer.ts')],
    plugins: [nodeShims],
    loader: { '.css': 'css' },
    logLevel: 'warning',
  });
  const bad = staticNodeImports(result.metafile);
  if (bad.length) throw new Error(`the lab bundle would import Node modules in the browser:\n  ${bad.join('\n  ')}`);
  await copyFile(path.join(WEB, 'index.html'), path.join(OUT, 'index.html'));
  if (!existsSync(WASM)) throw new Error(`${WASM} is missing: run 'npm run build:wasm' first`);
  await copyFile(WASM, path.join(OUT, 'wasm/uart.wasm'));
  await mkdir(path.join(OUT, 'recordings'), { recursive: true });
  for (const f of await readdir(RECORDINGS)) {
    if (f.endsWith('.trace')) await copyFile(path.join(RECORDINGS, f), path.join(OUT, 'recordings', f));
  }
}

// Run as a script (`node dist/src/lab/build.js`), not when imported by a test.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildLab({ minify: process.argv.includes('--minify') }).then(
    () => process.stdout.write(`mtty lab: built ${path.relative(ROOT, OUT)}/\n`),
    (e: unknown) => {
      process.stderr.write(`mtty lab build failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
