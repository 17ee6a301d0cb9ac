import { fail } from '../errors/errno.js';

/**
 * mtty's global port budget (MAX_MTTYS = 24 by default): every device of
 * every type takes its ports from one pool, so an mtty-2 lowers mtty-1's
 * available_instances too. Ports come back when a device is released.
 */
export class PortPool {
  private free: number;

  constructor(readonly total: number) {
    if (!Number.isInteger(total) || total < 0) fail('EINVAL', `the port pool size must be a non-negative integer, not ${String(total)}`);
    this.free = total;
  }

  get available(): number {
    return this.free;
  }

  /** available_instances of a type with `perDevice` ports (integer division, as the kernel). */
  instancesOf(perDevice: number): number {
    return Math.floor(this.free / perDevice);
  }

  /** Take ports for a new device; ENOSPC when too few are left. */
  take(count: number): void {
    if (count > this.free) {
      fail('ENOSPC', `only ${this.free} of ${this.total} mtty ports are free; this type needs ${count}. Remove a device first`);
    }
    this.free -= count;
  }

  give(count: number): void {
    this.free = Math.min(this.total, this.free + count);
  }
}
