/**
 * Running the real mdevctl against an exported tree.
 *
 * Upstream mdevctl reads MDEVCTL_ENV_ROOT (a test hook) and then looks under
 * $ROOT/sys and $ROOT/etc/mdevctl.d. The Debian 12 build (1.2.0-3) does not:
 * its binary has no MDEVCTL_ENV_ROOT at all and always opens /sys/class/mdev_bus,
 * /sys/bus/mdev/devices and /etc/mdevctl.d (checked with strace). So we give it
 * a private view instead, still without root: an unprivileged user + mount
 * namespace (`unshare -Urm`) in which DIR/sys is bind-mounted over /sys and
 * DIR/etc/mdevctl.d over /etc/mdevctl.d. MDEVCTL_ENV_ROOT is set as well, so a
 * build that honours it sees the same tree.
 *
 * Needs: unshare(1) (util-linux), unprivileged user namespaces enabled
 * (kernel.unprivileged_userns_clone / user.max_user_namespaces > 0; some
 * distributions restrict them with AppArmor), and /etc/mdevctl.d present on
 * the host (the mdevctl package creates it).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const SCRIPT =
  'r=$1; shift; mount --rbind "$r/sys" /sys && mount --bind "$r/etc/mdevctl.d" /etc/mdevctl.d && exec mdevctl "$@"';

/** The command line that runs `mdevctl <args>` seeing DIR as / (for spawn, or to print). */
export function mdevctlInvocation(root: string, args: string[]): { file: string; args: string[]; env: Record<string, string> } {
  const dir = resolve(root);
  return {
    file: 'unshare',
    args: ['--user', '--map-root-user', '--mount', 'sh', '-c', SCRIPT, 'mdevctl-in-root', dir, ...args],
    env: { MDEVCTL_ENV_ROOT: dir },
  };
}

/** The same as one shell line (for `mtty serve`'s banner and the docs). */
export function mdevctlShellLine(root: string): string {
  const dir = resolve(root);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `MDEVCTL_ENV_ROOT=${q(dir)} unshare -Urm sh -c ${q(SCRIPT)} mdevctl-in-root ${q(dir)}`;
}

export interface MdevctlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run mdevctl in the namespace; rejects only if it cannot be started or exceeds `timeoutMs`. */
export function runMdevctl(root: string, args: string[], timeoutMs = 10_000): Promise<MdevctlResult> {
  const inv = mdevctlInvocation(root, args);
  return new Promise((res, rej) => {
    const child = spawn(inv.file, inv.args, { env: { ...process.env, ...inv.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`mdevctl ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}
