/**
 * Which QEMU the real-VM tests and `npm run bench -- vm` use: $MTTY_QEMU, else a
 * `qemu-system-x86_64` >= 10.1 on PATH (the first release with the
 * `vfio-user-pci` client, hw/vfio-user/), else none, with the reason in one
 * line for the skip message.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export type QemuFound = { ok: true; path: string; version: string } | { ok: false; reason: string };

const MIN = [10, 1];

function versionOf(path: string): string | null {
  try {
    const out = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return /version (\d+\.\d+(?:\.\d+)?)/.exec(out)?.[1] ?? null;
  } catch {
    return null;
  }
}

function atLeast(v: string, min: number[]): boolean {
  const [a = 0, b = 0] = v.split('.').map(Number);
  return a > min[0]! || (a === min[0] && b >= min[1]!);
}

function hasVfioUserPci(path: string): boolean {
  try {
    const out = execFileSync(path, ['-device', 'help'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return out.includes('"vfio-user-pci"');
  } catch {
    return false;
  }
}

let cached: QemuFound | null = null;

export function findQemu(env: NodeJS.ProcessEnv = process.env): QemuFound {
  if (cached) return cached;
  cached = locateQemu(env);
  return cached;
}

/** findQemu without the cache, for a given environment (its PATH is the one searched). */
export function locateQemu(env: NodeJS.ProcessEnv): QemuFound {
  const explicit = env.MTTY_QEMU;
  let path: string;
  if (explicit) {
    path = resolve(explicit);
    if (!existsSync(path)) return { ok: false, reason: `MTTY_QEMU=${explicit} does not exist` };
  } else {
    try {
      path = execFileSync('/bin/sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8', env: { PATH: env.PATH ?? '' } }).trim();
    } catch {
      // Name the fix, not only the cause: a user following the README has the QEMU build beside the checkout.
      const beside = resolve('../shared/qemu/bin/qemu-system-x86_64');
      const hint = existsSync(beside) ? ` (there is one beside this checkout: MTTY_QEMU=${beside})` : ' (set MTTY_QEMU to a QEMU >= 10.1 built with vfio-user-pci)';
      return { ok: false, reason: `MTTY_QEMU is not set and no qemu-system-x86_64 is on PATH${hint}` };
    }
  }
  const version = versionOf(path);
  if (!version) return { ok: false, reason: `${path} --version failed (missing run-time libraries? see /work/shared/qemu/README.md)` };
  if (!atLeast(version, MIN)) return { ok: false, reason: `${path} is QEMU ${version}; the vfio-user-pci client needs >= ${MIN.join('.')}` };
  if (!hasVfioUserPci(path)) return { ok: false, reason: `${path} (QEMU ${version}) has no vfio-user-pci device` };
  return { ok: true, path, version };
}
