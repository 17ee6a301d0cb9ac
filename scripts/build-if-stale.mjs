#!/usr/bin/env node
// `npm run demo` / `prepare` / `prepack`: run the full build (`npm run build`) only
// when a build input is newer than the last finished build (dist/.build-stamp), so
// the demo right after `npm ci` starts at once instead of rebuilding everything.
// `node scripts/build-if-stale.mjs --stamp` is the build's last step and writes the stamp.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');
/** Everything `npm run build` reads (wasm core, TypeScript, lab page, configs). */
const INPUTS = ['assembly', 'src', 'test', 'examples', 'bench', 'asconfig.json', 'tsconfig.json', 'package.json'];

function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs; // a deleted file changes its folder's mtime
  for (const e of readdirSync(path)) m = Math.max(m, newest(join(path, e)));
  return m;
}

if (process.argv.includes('--stamp')) {
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  process.exit(0);
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const changed = Math.max(...INPUTS.map((p) => newest(join(root, p))));
if (built && changed <= built) {
  if (!process.argv.includes('--quiet')) console.error('mtty: build is up to date (dist/.build-stamp)');
  process.exit(0);
}
const npm = process.env.npm_execpath;
const r = npm ? spawnSync(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit', cwd: root }) : spawnSync('npm', ['run', 'build'], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
