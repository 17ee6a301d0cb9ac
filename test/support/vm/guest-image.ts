/**
 * The guest the real-VM tests boot: Debian's stock Linux 6.1 kernel
 * (`apt-get download`, only vmlinuz extracted) and an initramfs built here
 * from Debian's busybox-static, Debian's setserial (with the shared libraries
 * ldd names) and our static C helper (guest-tool.c, `gcc -static`). The
 * archive is written by busybox's own `cpio -o -H newc` (a Debian tool, so
 * no cpio writer of our own).
 *
 * Everything lands in a cache outside git: $MTTY_VM_CACHE, else
 * $XDG_CACHE_HOME/mtty-vm, else ~/.cache/mtty-vm. The kernel is keyed by its
 * package name and version; the initramfs by a hash of its inputs.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GuestImage {
  kernel: string;
  initrd: string;
  /** e.g. linux-image-6.1.0-57-amd64 6.1.192-3 */
  kernelPackage: string;
}

export function vmCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MTTY_VM_CACHE) return env.MTTY_VM_CACHE;
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'mtty-vm');
}

/** The helper's C source, next to this file's source (dist/test/support/vm -> test/support/vm). */
const TOOL_SRC = fileURLToPath(new URL('../../../../test/support/vm/guest-tool.c', import.meta.url));

const BUSYBOX = '/bin/busybox';
const SETSERIAL = '/bin/setserial';

/** /init: mount the pseudo file systems, then a quiet shell on the console for the host's driver. */
const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
stty -echo -onlcr 2>/dev/null
echo MTTY-GUEST-READY
export PS1=''
exec sh
`;

function sh(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, input: opts.input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

function hash(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 12);
}

/** Debian's 6.1 kernel: download once per version, keep vmlinuz only. */
function ensureKernel(cache: string, log: (l: string) => void): { path: string; pkg: string } {
  const dir = join(cache, 'kernel');
  mkdirSync(dir, { recursive: true });
  let pkg: string | undefined;
  let version: string | undefined;
  try {
    const deps = sh('apt-cache', ['depends', 'linux-image-amd64']);
    pkg = /Depends: (linux-image-6\.1[^\s]*)/.exec(deps)?.[1];
    if (pkg) version = /^Version: (\S+)/m.exec(sh('apt-cache', ['show', '--no-all-versions', pkg]))?.[1];
  } catch {
    // apt unavailable: fall back to a cached kernel below.
  }
  if (pkg && version) {
    const key = `${pkg}_${version}`.replace(/[^A-Za-z0-9._+-]/g, '_');
    const out = join(dir, `${key}.vmlinuz`);
    if (existsSync(out)) return { path: out, pkg: `${pkg} ${version}` };
    log(`vm: downloading ${pkg} ${version} (apt-get download) into ${dir}`);
    const tmp = mkdtempSync(join(dir, 'dl-'));
    try {
      sh('apt-get', ['download', `${pkg}=${version}`], { cwd: tmp });
      const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
      if (!deb) throw new Error(`apt-get download ${pkg} left no .deb`);
      execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards './boot/vmlinuz-*'`, 'sh', join(tmp, deb), tmp]);
      const vmlinuz = readdirSync(join(tmp, 'boot')).find((f) => f.startsWith('vmlinuz-'));
      if (!vmlinuz) throw new Error(`${deb} has no boot/vmlinuz-*`);
      renameSync(join(tmp, 'boot', vmlinuz), out);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return { path: out, pkg: `${pkg} ${version}` };
  }
  const cached = readdirSync(dir).filter((f) => f.endsWith('.vmlinuz')).sort().pop();
  if (!cached) throw new Error('no Debian linux-image-6.1 package found by apt-cache, and none cached in ' + dir);
  return { path: join(dir, cached), pkg: cached.replace(/\.vmlinuz$/, '').replace('_', ' ') };
}

/** Shared libraries a dynamic binary needs (ldd), as absolute paths; none for a static one. */
function libsOf(bin: string): string[] {
  let out: string;
  try {
    out = sh('ldd', [bin]);
  } catch {
    return []; // "not a dynamic executable" exits 1
  }
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

function ensureTool(cache: string): string {
  const src = readFileSync(TOOL_SRC);
  const out = join(cache, 'tools', `mtty-guest-tool-${hash(src)}`);
  if (existsSync(out)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp${process.pid}`;
  sh('gcc', ['-static', '-O2', '-Wall', '-o', tmp, TOOL_SRC]);
  renameSync(tmp, out);
  return out;
}

/** Kernel + initramfs, building whatever the cache lacks. Throws with the reason if a piece is missing. */
export function ensureGuestImage(log: (l: string) => void = () => {}): GuestImage {
  const cache = vmCacheDir();
  mkdirSync(cache, { recursive: true });
  for (const [p, pkg] of [[BUSYBOX, 'busybox-static'], [SETSERIAL, 'setserial']] as const) {
    if (!existsSync(p)) throw new Error(`${p} is missing (apt-get install ${pkg})`);
  }
  const kernel = ensureKernel(cache, log);
  const tool = ensureTool(cache);
  const files: [string, string][] = [
    [BUSYBOX, 'bin/busybox'],
    [SETSERIAL, 'bin/setserial'],
    [tool, 'bin/mtty-guest-tool'],
  ];
  for (const bin of [BUSYBOX, SETSERIAL]) for (const lib of libsOf(bin)) files.push([lib, lib.slice(1)]);
  const key = hash(INIT, ...files.map(([src, dst]) => dst + ':' + hash(readFileSync(src))));
  const initrd = join(cache, `initramfs-${key}.cpio`);
  if (!existsSync(initrd)) {
    const stage = mkdtempSync(join(cache, 'stage-'));
    try {
      for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(stage, d), { recursive: true });
      for (const [src, dst] of files) {
        mkdirSync(join(stage, dirname(dst)), { recursive: true });
        copyFileSync(src, join(stage, dst));
        chmodSync(join(stage, dst), 0o755);
      }
      writeFileSync(join(stage, 'init'), INIT, { mode: 0o755 });
      const list = sh('find', ['.', '-mindepth', '1'], { cwd: stage });
      const cpio = execFileSync(BUSYBOX, ['cpio', '-o', '-H', 'newc', '-R', '0:0'], { cwd: stage, input: list, maxBuffer: 256 << 20 });
      writeFileSync(`${initrd}.tmp`, cpio);
      renameSync(`${initrd}.tmp`, initrd);
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }
  return { kernel: kernel.path, initrd, kernelPackage: kernel.pkg };
}
