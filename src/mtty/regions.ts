import { fail } from '../errors/errno.js';
import type { RegionInfo } from '../vfio/api.js';
import {
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_NUM_REGIONS,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  regionOffset,
} from '../vfio/uapi.js';
import { MTTY_IO_BAR_SIZE } from '../pci/mtty-config-space.js';
import { MTTY_CONFIG_SPACE_SIZE } from '../pci/mtty-config-image.js';

/**
 * mtty's region table (mtty-facts §1): BAR n is port n's 8 registers, the
 * config region is 255 bytes, everything else is present but empty. Every
 * index reports READ|WRITE, even the empty ones, and none is mmap-able.
 */
export function mttyRegionInfo(index: number, nrPorts: number): RegionInfo {
  if (!Number.isInteger(index) || index < 0 || index >= VFIO_PCI_NUM_REGIONS) {
    fail('EINVAL', `region index ${String(index)} does not exist (vfio-pci has ${VFIO_PCI_NUM_REGIONS}: 0-5 BARs, 6 ROM, 7 config, 8 VGA)`);
  }
  return {
    index,
    flags: VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
    size: mttyRegionSize(index, nrPorts),
    offset: regionOffset(index),
  };
}

export function mttyRegionSize(index: number, nrPorts: number): number {
  if (index === VFIO_PCI_CONFIG_REGION_INDEX) return MTTY_CONFIG_SPACE_SIZE;
  if (index < nrPorts) return MTTY_IO_BAR_SIZE;
  return 0;
}
