/**
 * Where the daemon listens and where definitions live. Per-user locations,
 * because the daemon is per user (no root, no system-wide /run): the control
 * socket follows the XDG runtime dir convention (tmpfs, 0700, removed at
 * logout) with a private directory in /tmp as the fallback; definitions live in
 * mdevctl's layout (ROOT/etc/mdevctl.d) under XDG_CONFIG_HOME like any other
 * per-user configuration.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

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

// preparePrivateDir lives in src/fs (vfio-user and sysfs-export use it too; control sits above them).
export { preparePrivateDir } from '../fs/private-dir.js';

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
