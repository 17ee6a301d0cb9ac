import { fail, MttyError } from '../errors/errno.js';
import type { VfioDevice } from '../vfio/api.js';
import { VfioOpenHandle } from '../vfio/open-handle.js';
import type { MdevParent } from './parent.js';
import type { MdevType } from './type.js';
import type { MdevVendorDevice } from './driver.js';

/** Where an mdev is in its life: removal may have to wait for the user to close it. */
export type MdevDeviceState = 'creating' | 'active' | 'removing' | 'gone';

/**
 * One mediated device: a UUID under a type of a parent. Opening it gives the
 * VFIO device (one opener at a time, like a vfio group file); removing it
 * waits for that opener to close, as vfio_unregister_group_dev does.
 */
export class MdevDevice<V extends MdevVendorDevice = MdevVendorDevice> {
  state: MdevDeviceState = 'creating';
  private vendorDevice: V | null = null;
  private handle: VfioOpenHandle | null = null;
  private opener: string | undefined;
  private closeWaiters: (() => void)[] = [];
  private removal: Promise<void> | null = null;
  /** The close waiter that finishes a removal (dropped when a remove times out). */
  private pendingRemove: (() => void) | null = null;

  constructor(
    readonly uuid: string,
    readonly type: MdevType<V>,
    readonly parent: MdevParent<V>,
    /** Called once the device is gone so the bus can forget the UUID. */
    private readonly onGone: (d: MdevDevice<V>) => void,
  ) {}

  /** The vendor's device model (for mtty: MttyDevice). ENODEV once removed. */
  get vendor(): V {
    if (!this.vendorDevice || this.state === 'gone') fail('ENODEV', `mdev ${this.uuid} has been removed`);
    return this.vendorDevice;
  }

  /** Called by the type once the vendor probe succeeded. */
  attach(vendor: V): void {
    this.vendorDevice = vendor;
    this.state = 'active';
  }

  get isOpen(): boolean {
    return this.handle !== null;
  }

  /** Who has the device open, as given to open() (a VMM, the daemon's guest console); undefined when closed. */
  get openedBy(): string | undefined {
    return this.handle ? this.opener : undefined;
  }

  /** The sysfs path of the device directory (under its parent). */
  get sysfsPath(): string {
    return `${this.parent.sysfsPath}/${this.uuid}`;
  }

  /**
   * Open the VFIO device. EBUSY while another handle is open (a vfio group
   * has one user); ENODEV while the device is being removed or is gone.
   * `opener` names the user for messages (EBUSY here, a waiting remove).
   */
  open(opener = 'a VFIO user'): VfioDevice {
    if (this.state !== 'active') {
      fail('ENODEV', `mdev ${this.uuid} is ${this.state === 'gone' ? 'removed' : 'being removed'}; it cannot be opened`);
    }
    if (this.handle) fail('EBUSY', `mdev ${this.uuid} is already open by ${this.opener}; close the other handle first`);
    const vendor = this.vendor;
    const handle = new VfioOpenHandle(vendor, () => {
      this.handle = null;
      const waiters = this.closeWaiters;
      this.closeWaiters = [];
      for (const w of waiters) w();
    });
    this.handle = handle;
    this.opener = opener;
    return handle;
  }

  /**
   * Remove the device. Resolves once it is gone: immediately when closed,
   * otherwise when the opener (openedBy) closes it - the kernel's remove
   * write blocks the same way (vfio_unregister_group_dev). EAGAIN while a
   * removal is already running, ENODEV when gone.
   * `timeoutMs`: give up waiting after that long with EBUSY; the device is
   * then left active and open, exactly as before the call.
   */
  remove(opts: { timeoutMs?: number } = {}): Promise<void> {
    const ms = opts.timeoutMs;
    if (ms !== undefined && (!(ms >= 0) || !Number.isFinite(ms))) return Promise.reject(new MttyError('EINVAL', `remove timeout must be a finite number of ms >= 0, got ${ms}`));
    let removal: Promise<void>;
    try {
      removal = this.beginRemove();
    } catch (e) {
      return Promise.reject(e);
    }
    if (ms === undefined || !this.handle) return removal;
    const who = this.opener;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.state !== 'removing' || !this.handle) return;
        // Give up: the opener keeps its device, and nothing else changed.
        this.closeWaiters = this.closeWaiters.filter((w) => w !== waiter && w !== this.pendingRemove);
        this.pendingRemove = null;
        this.state = 'active';
        this.removal = null;
        reject(new MttyError('EBUSY', `mdev ${this.uuid} is still open by ${who} after ${ms} ms; not removed`));
      }, ms);
      const waiter = () => clearTimeout(timer);
      this.closeWaiters.unshift(waiter);
      removal.then(resolve, reject);
    });
  }

  /** Resolves when a removal already under way has finished (at once if none is running). */
  whenRemoved(): Promise<void> {
    return this.removal ?? Promise.resolve();
  }

  /** Synchronous part of remove(): the checks and the state change (errors throw). */
  beginRemove(): Promise<void> {
    if (this.state === 'gone') fail('ENODEV', `mdev ${this.uuid} has already been removed`);
    if (this.state !== 'active') {
      fail('EAGAIN', `mdev ${this.uuid} is ${this.state === 'creating' ? 'still being created' : 'already being removed'}; try again`);
    }
    this.state = 'removing';
    const closed = this.handle
      ? new Promise<void>((resolve) => {
          this.pendingRemove = resolve;
          this.closeWaiters.push(resolve);
        })
      : Promise.resolve();
    this.removal = closed.then(() => this.finishRemove());
    return this.removal;
  }

  private finishRemove(): void {
    const vendor = this.vendorDevice;
    this.state = 'gone';
    this.onGone(this);
    vendor?.release();
  }
}
