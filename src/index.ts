/**
 * The mtty library: everything a VMM, a walk-through, the CLI or the lab
 * needs, from one import. See docs/ARCHITECTURE.md for the contracts.
 */
export { loadMtty, type LoadMttyOptions, type LoadedMtty } from './mtty/load.js';
export { MttyDevice, type MttyDeviceOptions } from './mtty/device.js';
export { MttyDriver } from './mtty/driver.js';
export { MttyPort, type HostLink } from './mtty/port.js';
export { MttyInterrupts, type IrqMode, type IrqStats } from './mtty/interrupts.js';
export { MttyMigration } from './mtty/migration.js';
export {
  MTTY_MAGIC,
  MTTY_HEADER_SIZE,
  MTTY_PORT_RECORD_SIZE,
  mttyStreamSize,
  encodeMttyStream,
  decodeMttyStream,
} from './mtty/migration-stream.js';
export { PortPool } from './mtty/port-pool.js';
export { MTTY_TYPES, type MttyTypeSpec } from './mtty/types.js';
export { MTTY_NAME, MTTY_DEFAULT_PORTS, VFIO_DEVICE_API_PCI_STRING } from './mtty/constants.js';
export type { PortUart, UartFactory } from './mtty/port-uart.js';

export { MdevBus } from './mdev/bus.js';
export { MdevParent, type MdevParentPlacement } from './mdev/parent.js';
export { MdevType } from './mdev/type.js';
export { MdevDevice, type MdevDeviceState } from './mdev/device.js';
export type { MdevDriver, MdevTypeSpec, MdevVendorDevice, VendorAttribute } from './mdev/driver.js';
export type { MdevUevent } from './mdev/uevent.js';
export { Sysfs } from './mdev/sysfs.js';
export { parseMdevUuid, generateMdevUuid } from './mdev/uuid.js';
export { parseRemoveValue } from './mdev/remove-value.js';

export { MttyConfigSpace, MTTY_IO_BAR_SIZE } from './pci/mtty-config-space.js';
export { MTTY_CONFIG_SPACE_SIZE, buildMttyConfigImage } from './pci/mtty-config-image.js';
export { lspciHexDump } from './pci/lspci-dump.js';

export * from './vfio/uapi.js';
export type {
  DeviceInfo,
  RegionInfo,
  IrqInfo,
  IrqSink,
  IrqSet,
  VfioDevice,
  VfioMigration,
  MigrationDataFile,
} from './vfio/api.js';
export { VfioOpenHandle } from './vfio/open-handle.js';
export { alignedChunks, type AlignedChunk } from './vfio/aligned-chunks.js';
export { nextMigrationState, migrationStateName } from './vfio/migration-arcs.js';

export { MttyError, fail, isMttyError, errorFromJSON, ERRNO, STRERROR, type ErrnoName } from './errors/errno.js';
export { realClock, ManualClock, type Clock } from './clock/clock.js';
