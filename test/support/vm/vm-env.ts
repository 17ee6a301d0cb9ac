/**
 * Whether the real-VM tests can run here: a QEMU with vfio-user-pci and a
 * guest image. If not, ONE line says why (printed once per process) and the
 * caller registers no tests. With MTTY_VM_REQUIRED=1 (set by .ci/run when
 * it provides QEMU) a missing piece is an error instead of a skip.
 */
import { findQemu } from './find-qemu.js';
import { ensureGuestImage, type GuestImage } from './guest-image.js';

export interface VmEnvironment {
  qemu: string;
  qemuVersion: string;
  image: GuestImage;
}

let result: VmEnvironment | string | null = null;

export function vmEnvironment(log: (line: string) => void = (l) => console.log(l)): VmEnvironment | null {
  if (result === null) {
    const q = findQemu();
    if (!q.ok) result = q.reason;
    else {
      try {
        result = { qemu: q.path, qemuVersion: q.version, image: ensureGuestImage(log) };
      } catch (e) {
        result = `cannot build the guest image: ${(e as Error).message.split('\n')[0]}`;
      }
    }
    if (typeof result === 'string') {
      if (process.env.MTTY_VM_REQUIRED === '1') throw new Error(`real-VM tests required (MTTY_VM_REQUIRED=1) but: ${result}`);
      log(`vm tests skipped: ${result}`);
    }
  }
  return typeof result === 'string' ? null : result;
}
