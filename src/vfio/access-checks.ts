import { fail } from '../errors/errno.js';

/**
 * Input checks shared by every VfioDevice implementation. A library caller
 * (or a vfio-user peer) can hand us anything; these turn nonsense into the
 * errno the kernel would answer before any state is touched.
 */

/** A device-fd position: a safe non-negative integer. */
export function checkPos(pos: number): void {
  if (!Number.isSafeInteger(pos) || pos < 0) {
    fail('EINVAL', `the device offset ${String(pos)} is not a non-negative integer`);
  }
}

/** One register-sized access: 1, 2 or 4 bytes at a naturally aligned offset. */
export function checkAccess(pos: number, size: number): asserts size is 1 | 2 | 4 {
  checkPos(pos);
  if (size !== 1 && size !== 2 && size !== 4) {
    fail('EINVAL', `an access must be 1, 2 or 4 bytes wide, not ${String(size)}`);
  }
  if (pos % size !== 0) {
    fail('EINVAL', `a ${size}-byte access must start at a multiple of ${size} (offset 0x${pos.toString(16)} is not)`);
  }
}

/**
 * A value written with an access of `size` bytes must fit in it. Negative
 * values that fit as two's complement are accepted (JavaScript's `|` yields
 * -1 for 0xffffffff), and come back unsigned.
 */
export function checkValue(value: number, size: 1 | 2 | 4): number {
  const bits = 8 * size;
  if (!Number.isInteger(value) || value < -(2 ** (bits - 1)) || value >= 2 ** bits) {
    fail('EINVAL', `the value ${String(value)} does not fit in ${size} byte(s)`);
  }
  return value < 0 ? value + 2 ** bits : value;
}

/** A byte count for read(): a non-negative integer (0 reads nothing). */
export function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    fail('EINVAL', `the length ${String(length)} is not a non-negative integer`);
  }
}
