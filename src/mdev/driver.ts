import type { VfioDevice } from '../vfio/api.js';
import type { MdevDevice } from './device.js';
import type { MdevType } from './type.js';

/**
 * What a vendor driver (mtty, or any other parent) hands the mdev framework.
 * The framework owns names, UUIDs, sysfs and the create/remove life cycle;
 * the vendor owns the device model. This mirrors the kernel split between
 * mdev_core/mdev_sysfs and a driver's mdev_driver + vfio_device_ops.
 */

/** One entry of mdev_supported_types (struct mdev_type in the kernel). */
export interface MdevTypeSpec {
  /** The group name; the directory becomes `<parent>-<sysfsName>`, e.g. "2" -> mtty-2. */
  sysfsName: string;
  /** The `name` attribute ("Dual port serial"). */
  prettyName: string;
  /** Optional `description` attribute; the file exists only when set (mtty has none). */
  description?: string;
}

/** A read-only sysfs attribute provided by the vendor (e.g. vendor/sample_mdev_dev). */
export interface VendorAttribute<T> {
  /** Attribute group (sub-directory) name. */
  group: string;
  name: string;
  /** Text without the trailing newline; the framework adds it like sysfs_emit("%s\n"). */
  show(owner: T): string;
}

/**
 * The vendor side of an mdev. It is a VfioDevice (what an opener drives);
 * `close()` is the kernel's last-close callback (drop eventfds, masks, data
 * fds) and `release()` frees it after removal.
 */
export interface MdevVendorDevice extends VfioDevice {
  release(): void;
}

/**
 * A vendor driver as the mdev core sees it (struct mdev_driver + mdev_parent in
 * drivers/vfio/mdev): its types (mdev_supported_types), available_instances per type,
 * `probe` building the device for a new mdev (the create callback: reserve resources or
 * throw, e.g. ENOSPC), and extra sysfs attributes per device. The device it returns is an
 * MdevVendorDevice: open/read/write/ioctl are its VfioDevice methods, release its `release()`.
 * Register it with `bus.registerParent(placement, driver)`; see examples/countdown-timer.ts.
 */
export interface MdevDriver<V extends MdevVendorDevice = MdevVendorDevice> {
  /** `device_api` of every type ("vfio-pci"). */
  readonly deviceApi: string;
  readonly types: readonly MdevTypeSpec[];
  /** available_instances of a type right now. */
  availableInstances(type: MdevTypeSpec): number;
  /**
   * Build the vendor device for a new mdev (the kernel's probe + init):
   * reserve resources or fail (ENOSPC when the pool is empty).
   */
  probe(device: MdevDevice<V>, type: MdevType<V>): V;
  /** Attributes added to each mdev's directory. */
  readonly deviceAttributes?: readonly VendorAttribute<MdevDevice<V>>[];
}
