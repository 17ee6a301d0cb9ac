/**
 * Numbers from include/uapi/linux/vfio.h that the VFIO device API, the
 * vfio-user protocol and the tests share. Kept in one place so that a value a
 * student looks up in the kernel header matches what they see here.
 */

/** Region index of BAR0 in a vfio-pci device's fixed region map (vfio.h). */
export const VFIO_PCI_BAR0_REGION_INDEX = 0;
/** Region index of BAR1 (vfio.h); BARn is index n up to BAR5. */
export const VFIO_PCI_BAR1_REGION_INDEX = 1;
/** Region index of BAR5, the last BAR (vfio.h). */
export const VFIO_PCI_BAR5_REGION_INDEX = 5;
/** Region index of the expansion ROM (vfio.h). */
export const VFIO_PCI_ROM_REGION_INDEX = 6;
/** Region index of PCI config space: reads/writes at `regionOffset(7) + offset` (vfio.h). */
export const VFIO_PCI_CONFIG_REGION_INDEX = 7;
/** Region index of the legacy VGA range (vfio.h). */
export const VFIO_PCI_VGA_REGION_INDEX = 8;
/** Number of fixed vfio-pci regions (GET_INFO num_regions of a plain vfio-pci device). */
export const VFIO_PCI_NUM_REGIONS = 9;

/** IRQ index of legacy INTx (one vector; maskable, automasked) (vfio.h). */
export const VFIO_PCI_INTX_IRQ_INDEX = 0;
/** IRQ index of MSI (vfio.h). */
export const VFIO_PCI_MSI_IRQ_INDEX = 1;
/** IRQ index of MSI-X (vfio.h). */
export const VFIO_PCI_MSIX_IRQ_INDEX = 2;
/** IRQ index of the AER error signal (vfio.h). */
export const VFIO_PCI_ERR_IRQ_INDEX = 3;
/** IRQ index of the device request signal (vfio.h). */
export const VFIO_PCI_REQ_IRQ_INDEX = 4;
/** Number of vfio-pci IRQ indexes (GET_INFO num_irqs). */
export const VFIO_PCI_NUM_IRQS = 5;

/** vfio_device_info.flags: the device supports VFIO_DEVICE_RESET. */
export const VFIO_DEVICE_FLAGS_RESET = 1 << 0;
/** vfio_device_info.flags: a vfio-pci device (fixed region/IRQ map above). */
export const VFIO_DEVICE_FLAGS_PCI = 1 << 1;

/** vfio_region_info.flags: the region can be read. */
export const VFIO_REGION_INFO_FLAG_READ = 1 << 0;
/** vfio_region_info.flags: the region can be written. */
export const VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
/** vfio_region_info.flags: the region can be mmap()ed (never for mtty's I/O BARs). */
export const VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;
/** vfio_region_info.flags: a capability chain follows the info. */
export const VFIO_REGION_INFO_FLAG_CAPS = 1 << 3;

/** vfio_irq_info.flags: vectors can signal an eventfd. */
export const VFIO_IRQ_INFO_EVENTFD = 1 << 0;
/** vfio_irq_info.flags: vectors can be masked and unmasked. */
export const VFIO_IRQ_INFO_MASKABLE = 1 << 1;
/** vfio_irq_info.flags: the vector masks itself when it fires (INTx); the user unmasks. */
export const VFIO_IRQ_INFO_AUTOMASKED = 1 << 2;
/** vfio_irq_info.flags: the vector count cannot change while enabled (MSI). */
export const VFIO_IRQ_INFO_NORESIZE = 1 << 3;

/** vfio_irq_set.flags data type: no data (count vectors, all at once). */
export const VFIO_IRQ_SET_DATA_NONE = 1 << 0;
/** vfio_irq_set.flags data type: one boolean per vector. */
export const VFIO_IRQ_SET_DATA_BOOL = 1 << 1;
/** vfio_irq_set.flags data type: one eventfd per vector (-1 / null disables). */
export const VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
/** vfio_irq_set.flags action: mask the vectors. */
export const VFIO_IRQ_SET_ACTION_MASK = 1 << 3;
/** vfio_irq_set.flags action: unmask the vectors. */
export const VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4;
/** vfio_irq_set.flags action: trigger (bind eventfds, or fire the vectors for a loopback test). */
export const VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;
/** The DATA_* bits of vfio_irq_set.flags (exactly one must be set). */
export const VFIO_IRQ_SET_DATA_TYPE_MASK = 0x7;
/** The ACTION_* bits of vfio_irq_set.flags (exactly one must be set). */
export const VFIO_IRQ_SET_ACTION_TYPE_MASK = 0x38;

/** Region offsets in the device fd: region index in bits 40 and up (vfio_pci_priv.h). */
export const VFIO_PCI_OFFSET_SHIFT = 40;
/** The offset-inside-region bits of a device-fd offset (bits 0..39). */
export const VFIO_PCI_OFFSET_MASK = 2 ** VFIO_PCI_OFFSET_SHIFT - 1;

/** 2^40 computed once (`2 ** 40` inside a hot function is a pow() call per use). */
const REGION_SPAN = 2 ** VFIO_PCI_OFFSET_SHIFT;

/** The region index's base offset in the device fd (index << 40), as a plain number (exact below 2^53). */
export function regionOffset(index: number): number {
  return index * REGION_SPAN;
}

/** Split a device-fd offset into region index and offset inside the region. */
export function splitOffset(pos: number): { index: number; offset: number } {
  const index = Math.floor(pos / REGION_SPAN);
  return { index, offset: pos - index * REGION_SPAN };
}

/** ioctl VFIO_DEVICE_GET_INFO: _IO(';', 107) (vfio.h). */
export const VFIO_DEVICE_GET_INFO = 0x3b6b;
/** ioctl VFIO_DEVICE_GET_REGION_INFO: _IO(';', 108). */
export const VFIO_DEVICE_GET_REGION_INFO = 0x3b6c;
/** ioctl VFIO_DEVICE_GET_IRQ_INFO: _IO(';', 109). */
export const VFIO_DEVICE_GET_IRQ_INFO = 0x3b6d;
/** ioctl VFIO_DEVICE_SET_IRQS: _IO(';', 110). */
export const VFIO_DEVICE_SET_IRQS = 0x3b6e;
/** ioctl VFIO_DEVICE_RESET: _IO(';', 111). */
export const VFIO_DEVICE_RESET = 0x3b6f;
/** ioctl VFIO_DEVICE_FEATURE: _IO(';', 117). */
export const VFIO_DEVICE_FEATURE = 0x3b75;
/** ioctl VFIO_MIG_GET_PRECOPY_INFO on a migration data fd: _IO(';', 121). */
export const VFIO_MIG_GET_PRECOPY_INFO = 0x3b79;

/** Migration device states (enum vfio_device_mig_state values). */
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
/** The name of a migration state ("STOP_COPY"). */
export type VfioDeviceStateName = keyof typeof VFIO_DEVICE_STATE;

/** VFIO_DEVICE_FEATURE_MIGRATION flags: STOP_COPY (saving/resuming) is supported. */
export const VFIO_MIGRATION_STOP_COPY = 1 << 0;
/** VFIO_DEVICE_FEATURE_MIGRATION flags: the RUNNING_P2P state is supported. */
export const VFIO_MIGRATION_P2P = 1 << 1;
/** VFIO_DEVICE_FEATURE_MIGRATION flags: PRE_COPY is supported. */
export const VFIO_MIGRATION_PRE_COPY = 1 << 2;
