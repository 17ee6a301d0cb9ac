#!/usr/bin/env node
// `npm pack` (prepack): put the vfio-user addon, prebuilt for this platform, into
// prebuilds/<platform>-<arch>/vfio_user_native.node, where src/vfio-user/native.ts looks
// after build/. What prebuildify does for a one-addon package; ours has two targets in
// binding.gyp (vfio_user_native, and mtty_fuse, which links libfuse3 and so stays a
// build-where-you-install addon), and prebuildify takes the first .node file it finds.
// N-API (NAPI_VERSION=8): one binary serves every Node version >= 20. Never committed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'build/Release/vfio_user_native.node');
const source = join(root, 'native/vfio_user_native.c');
if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
  // node-gyp is on PATH inside npm scripts (npm's own copy).
  const r = spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('prebuild: node-gyp rebuild failed; a package needs the prebuilt vfio-user addon (apt-get install build-essential python3)');
    process.exit(1);
  }
}
const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(dir, { recursive: true });
const dest = join(dir, 'vfio_user_native.node');
copyFileSync(built, dest);
spawnSync('strip', ['--strip-all', dest], { stdio: 'ignore' }); // smaller; optional (binutils)
console.error(`prebuild: ${dest}`);
