/**
 * Host file-system rules shared by the layers that create sockets and files
 * (control, vfio-user, sysfs-export), kept below all of them so none imports
 * another for it.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fail } from '../errors/errno.js';

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
