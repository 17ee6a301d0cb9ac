/**
 * Numbers from include/uapi/linux/vfio.h that the VFIO device API, the
 * vfio-user protocol and the tests share. Kept in one place so that a value a
 * student looks up in the kernel header matches what they see here.
 */

/** Region indexes of a vfio-pci device (fixed map). */
export const VFIO_PCI_BAR0_REGION_INDEX = 0;
export const VFIO_PCI_BAR1_REGION_INDEX = 1;
export const VFIO_PCI_BAR5_REGION_INDEX = 5;
export const VFIO_PCI_ROM_REGION_INDEX = 6;
export const VFIO_PCI_CONFIG_REGION_INDEX = 7;
export const VFIO_PCI_VGA_REGION_INDEX = 8;
export const VFIO_PCI_NUM_REGIONS = 9;

/** IRQ indexes of a vfio-pci device. */
export const VFIO_PCI_INTX_IRQ_INDEX = 0;
export const VFIO_PCI_MSI_IRQ_INDEX = 1;
export const VFIO_PCI_MSIX_IRQ_INDEX = 2;
export const VFIO_PCI_ERR_IRQ_INDEX = 3;
export const VFIO_PCI_REQ_IRQ_INDEX = 4;
export const VFIO_PCI_NUM_IRQS = 5;

/** vfio_device_info.flags */
export const VFIO_DEVICE_FLAGS_RESET = 1 << 0;
export const VFIO_DEVICE_FLAGS_PCI = 1 << 1;

/** vfio_region_info.flags */
export const VFIO_REGION_INFO_FLAG_READ = 1 << 0;
export const VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
export const VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;
export const VFIO_REGION_INFO_FLAG_CAPS = 1 << 3;

/** vfio_irq_info.flags */
export const VFIO_IRQ_INFO_EVENTFD = 1 << 0;
export const VFIO_IRQ_INFO_MASKABLE = 1 << 1;
export const VFIO_IRQ_INFO_AUTOMASKED = 1 << 2;
export const VFIO_IRQ_INFO_NORESIZE = 1 << 3;

/** vfio_irq_set.flags */
export const VFIO_IRQ_SET_DATA_NONE = 1 << 0;
export const VFIO_IRQ_SET_DATA_BOOL = 1 << 1;
export const VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
export const VFIO_IRQ_SET_ACTION_MASK = 1 << 3;
export const VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4;
export const VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;
export const VFIO_IRQ_SET_DATA_TYPE_MASK = 0x7;
export const VFIO_IRQ_SET_ACTION_TYPE_MASK = 0x38;

/** Region offsets: region index in bits 40 and up. */
export const VFIO_PCI_OFFSET_SHIFT = 40;
export const VFIO_PCI_OFFSET_MASK = 2 ** VFIO_PCI_OFFSET_SHIFT - 1;

/** 2^40 computed once (`2 ** 40` inside a hot function is a pow() call per use). */
const REGION_SPAN = 2 ** VFIO_PCI_OFFSET_SHIFT;

/** The region index's base offset, as a plain number (exact below 2^53). */
export function regionOffset(index: number): number {
  return index * REGION_SPAN;
}

/** Split a device-fd offset into region index and offset inside the region. */
export function splitOffset(pos: number): { index: number; offset: number } {
  const index = Math.floor(pos / REGION_SPAN);
  return { index, offset: pos - index * REGION_SPAN };
}

/** ioctl numbers: _IO(';', 100 + n). */
export const VFIO_DEVICE_GET_INFO = 0x3b6b;
export const VFIO_DEVICE_GET_REGION_INFO = 0x3b6c;
export const VFIO_DEVICE_GET_IRQ_INFO = 0x3b6d;
export const VFIO_DEVICE_SET_IRQS = 0x3b6e;
export const VFIO_DEVICE_RESET = 0x3b6f;
export const VFIO_DEVICE_FEATURE = 0x3b75;
export const VFIO_MIG_GET_PRECOPY_INFO = 0x3b79;

/** Migration device states (uAPI values). */
export const VFIO_DEVICE_STATE = {
  ERROR: 0,
  STOP: 1,
  RUNNING: 2,
  STOP_COPY: 3,
  RESUMING: 4,
  RUNNING_P2P: 5,
  PRE_COPY: 6,
  PRE_COPY_P2P: 7,
} as const;
export type VfioDeviceStateName = keyof typeof VFIO_DEVICE_STATE;

/** VFIO_DEVICE_FEATURE_MIGRATION flags. */
export const VFIO_MIGRATION_STOP_COPY = 1 << 0;
export const VFIO_MIGRATION_P2P = 1 << 1;
export const VFIO_MIGRATION_PRE_COPY = 1 << 2;
