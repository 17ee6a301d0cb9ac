/**
 * Where the daemon listens and where definitions live. Per-user locations,
 * because the daemon is per user (no root, no system-wide /run): the control
 * socket follows the XDG runtime dir convention (tmpfs, 0700, removed at
 * logout) with a private directory in /tmp as the fallback; definitions live in
 * mdevctl's layout (ROOT/etc/mdevctl.d) under XDG_CONFIG_HOME like any other
 * per-user configuration.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fail } from '../errors/errno.js';

type Env = Record<string, string | undefined>;

function uid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** $XDG_RUNTIME_DIR/mtty/control.sock, else /tmp/mtty-<uid>/control.sock. */
export function defaultSocketPath(env: Env = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && runtime.startsWith('/')) return join(runtime, 'mtty', 'control.sock');
  return join('/tmp', `mtty-${uid()}`, 'control.sock');
}

/** $XDG_CONFIG_HOME/mtty, else ~/.config/mtty: mtty's per-user root, and where definitions lived before the mdevctl store. */
export function defaultRoot(env: Env = process.env): string {
  const config = env.XDG_CONFIG_HOME;
  if (config && config.startsWith('/')) return join(config, 'mtty');
  return join(env.HOME || homedir(), '.config', 'mtty');
}

/** mdevctl's definition store seen from a root: ROOT/etc/mdevctl.d (ROOT=/ is the real mdevctl's own). */
export function storeDir(root: string): string {
  return join(root, 'etc', 'mdevctl.d');
}

/**
 * The definition store of a daemon or --embedded run that names none:
 * $XDG_CONFIG_HOME/mtty/etc/mdevctl.d (else ~/.config/mtty/etc/mdevctl.d).
 * Not /etc/mdevctl.d even for root: the host's mdevctl would try to start
 * mtty's devices on a real parent at boot. `mtty serve --sysfs-root DIR` uses
 * DIR/etc/mdevctl.d, which the real mdevctl sees as /etc/mdevctl.d.
 */
export function defaultConfigDir(env: Env = process.env): string {
  return storeDir(defaultRoot(env));
}

/**
 * The one rule for every directory the daemon puts sockets or files in (the
 * control socket's, `--vfio-user DIR`, `--sysfs-root DIR`): it must be a real
 * directory (the path itself not a symlink), owned by the daemon's effective
 * user and writable by nobody else (no group/other write bit). Anyone else who
 * can write there could replace a socket (a VMM would connect to an impostor)
 * or plant a symlink where the daemon creates a file. A missing directory is
 * created (with its parents) and set to 0700 regardless of the umask.
 *
 * Returns the absolute path. Throws MttyError: EPERM when another user owns
 * it, EACCES when it is a symlink or group/world-writable (e.g. /tmp itself,
 * 1777), EINVAL when it is not a directory; mkdir's own errors as they come.
 * Synchronous: it runs once at start-up, before anything is served.
 */
export function preparePrivateDir(dir: string, what: string): string {
  const abs = resolve(dir);
  let created: string | undefined;
  try {
    created = mkdirSync(abs, { recursive: true, mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // EEXIST here means something that is not a directory (mkdir -p accepts a directory).
    if (code !== 'EEXIST') fail(code === 'EACCES' || code === 'EPERM' ? code : 'EINVAL', `cannot create the ${what} ${abs}: ${(e as Error).message}`);
  }
  const st = lstatSync(abs);
  if (st.isSymbolicLink()) fail('EACCES', `the ${what} ${abs} is a symbolic link; give the real directory (a link can be re-pointed by whoever owns it)`);
  if (!st.isDirectory()) fail('EINVAL', `the ${what} ${abs} is not a directory`);
  const me = typeof process.geteuid === 'function' ? process.geteuid() : st.uid;
  if (st.uid !== me) fail('EPERM', `the ${what} ${abs} belongs to uid ${st.uid}, not to this daemon's user (uid ${me}); use a directory of your own`);
  if (created !== undefined) chmodSync(abs, 0o700); // mkdir's mode went through the umask
  else if ((st.mode & 0o022) !== 0) {
    fail('EACCES', `the ${what} ${abs} is writable by ${st.mode & 0o002 ? 'every user' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)}); others could replace what the daemon puts there: chmod go-w it or use a private directory`);
  }
  return abs;
}
