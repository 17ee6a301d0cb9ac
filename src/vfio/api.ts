/**
 * The VFIO device API as a TypeScript interface: what a VMM (QEMU, our
 * vfio-user server, the lab, the tests) calls on an opened mediated device.
 * Each method mirrors one ioctl or one read()/write() on the device fd, and
 * fails with the MttyError (errno) the kernel would return.
 */

/**
 * VFIO_DEVICE_GET_INFO's answer (struct vfio_device_info): flags (PCI, RESET), region and IRQ-index counts.
 */
export interface DeviceInfo {
  flags: number;
  numRegions: number;
  numIrqs: number;
}

/**
 * VFIO_DEVICE_GET_REGION_INFO's answer (struct vfio_region_info): index, flags (READ/WRITE/MMAP/CAPS), size in bytes, offset in the device fd.
 */
export interface RegionInfo {
  index: number;
  flags: number;
  size: number;
  /** Offset of the region in the device fd: index << 40. */
  offset: number;
}

/**
 * VFIO_DEVICE_GET_IRQ_INFO's answer (struct vfio_irq_info): index, flags (EVENTFD/MASKABLE/AUTOMASKED/NORESIZE), vector count.
 */
export interface IrqInfo {
  index: number;
  flags: number;
  count: number;
}

/**
 * The eventfd equivalent: what the device signals when it raises an
 * interrupt. The vfio-user server wraps a real eventfd in one of these; tests
 * and the lab pass a counter or a callback.
 */
export interface IrqSink {
  signal(): void;
}

/** One VFIO_DEVICE_SET_IRQS call. */
export interface IrqSet {
  /** DATA_* | ACTION_* bits (uapi.ts). */
  flags: number;
  index: number;
  start: number;
  count: number;
  /**
   * DATA_BOOL: one boolean per vector (length >= count).
   * DATA_EVENTFD: one sink per vector; null stands for fd -1 (disable).
   * DATA_NONE: omitted.
   */
  data?: readonly boolean[] | readonly (IrqSink | null)[];
}

/**
 * An opened VFIO device, as a VMM drives it (include/uapi/linux/vfio.h): each method is one
 * ioctl or one read()/write() on the device fd and fails with the MttyError the kernel
 * would return (EINVAL bad index/flags, EFAULT bad access, EBADF after close, ENOTTY unknown
 * feature). Offsets are `regionOffset(index) + offset`; values are little-endian.
 */
export interface VfioDevice {
  /** VFIO_DEVICE_GET_INFO */
  getInfo(): DeviceInfo;
  /** VFIO_DEVICE_GET_REGION_INFO: EINVAL for index >= numRegions. */
  getRegionInfo(index: number): RegionInfo;
  /** VFIO_DEVICE_GET_IRQ_INFO: EINVAL as the kernel answers (also before getInfo()). */
  getIrqInfo(index: number): IrqInfo;
  /** VFIO_DEVICE_SET_IRQS */
  setIrqs(set: IrqSet): void;
  /** VFIO_DEVICE_RESET */
  reset(): void;
  /**
   * One naturally aligned access of 1, 2 or 4 bytes at a device-fd offset
   * (region index << 40 | offset), little-endian value.
   */
  read(pos: number, size: 1 | 2 | 4): number;
  write(pos: number, size: 1 | 2 | 4, value: number): void;
  /** read()/write() on the fd: split into aligned 4/2/1 chunks; EFAULT if any chunk fails. */
  readBytes(pos: number, length: number): Uint8Array;
  writeBytes(pos: number, data: Uint8Array): number;
  /** Close this open handle (drops eventfds/masks as the kernel does on last close). */
  close(): void;
  /** VFIO_DEVICE_FEATURE migration ops; absent on devices that cannot migrate. */
  readonly migration?: VfioMigration;
}

/**
 * A migration data fd (VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE hands one out).
 * It is a stream: passing an explicit offset (pread/pwrite) fails ESPIPE.
 */
export interface MigrationDataFile {
  /** Saving side: up to `length` bytes; an empty array at the end of the data. */
  read(length: number, offset?: number): Uint8Array;
  /** Resuming side: append bytes; returns the count accepted. */
  write(data: Uint8Array, offset?: number): number;
  /** VFIO_MIG_GET_PRECOPY_INFO (only in PRE_COPY / PRE_COPY_P2P). */
  precopyInfo(): { initialBytes: number; dirtyBytes: number };
  close(): void;
}

/** The migration side of VFIO_DEVICE_FEATURE (present only on migratable devices). */
export interface VfioMigration {
  /** VFIO_DEVICE_FEATURE_MIGRATION flags (STOP_COPY | P2P | PRE_COPY ...). */
  readonly flags: number;
  /** VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE (GET): a VFIO_DEVICE_STATE value. */
  readonly state: number;
  /**
   * VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE (SET) to any state: the core walks
   * the single arcs; returns the data fd the final arc opens, else null.
   */
  setState(state: number): MigrationDataFile | null;
  /** VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: stop_copy_length in bytes. */
  dataSize(): number;
}
