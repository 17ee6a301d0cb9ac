/**
 * The mtty library (`import ... from 'mtty'`): the mdev framework and the mtty
 * parent, the VFIO device API, the 16550A UART model, the guest model, host
 * back-ends, trace replay, errors and the clock. The daemon and its client are
 * `mtty/control`; the vfio-user server and client are `mtty/vfio-user`.
 * Everything here is listed, with its docstring, in docs/api.md (checked by
 * test/package-api.test.ts). What is not exported here is internal.
 */

// "modprobe mtty": the mtty parent and its devices.
export { loadMtty, type LoadMttyOptions, type LoadedMtty } from './mtty/load.js';
export type { MttyDevice } from './mtty/device.js';
export type { MttyPort } from './mtty/port.js';
export { MTTY_TYPES, type MttyTypeSpec } from './mtty/types.js';

// The mdev framework: write your own vendor driver (see examples/countdown-timer.ts).
export { MdevBus } from './mdev/bus.js';
export type { MdevParent, MdevParentPlacement } from './mdev/parent.js';
export type { MdevType } from './mdev/type.js';
export type { MdevDevice, MdevDeviceState } from './mdev/device.js';
export type { MdevDriver, MdevTypeSpec, MdevVendorDevice, VendorAttribute } from './mdev/driver.js';
export type { MdevUevent } from './mdev/uevent.js';
export { Sysfs } from './mdev/sysfs.js';
export { parseMdevUuid, mdevUuid, generateMdevUuid } from './mdev/uuid.js';

// The VFIO device API a VMM drives, and the uAPI numbers.
export type { DeviceInfo, RegionInfo, IrqInfo, IrqSink, IrqSet, VfioDevice, VfioMigration, MigrationDataFile } from './vfio/api.js';
export * from './vfio/uapi.js';

// What the vfio core does for every driver: argument checks with the kernel's errno, SET_IRQS
// validation, and the split of a read()/write() into aligned accesses.
export { checkPos, checkAccess, checkValue, checkLength } from './vfio/access-checks.js';
export { validateIrqSet, checkIrqSink, type IrqSetData } from './vfio/set-irqs-validate.js';
export { alignedChunks, type AlignedChunk } from './vfio/aligned-chunks.js';

// PCI: lspci rendering of a config image.
export { formatLspci, type LspciFunction, type LspciOptions } from './pci/lspci.js';
export { lspciHexDump } from './pci/lspci-dump.js';

// The UART model (16550A in WebAssembly) and its register names.
export { Uart, type UartProfile, type UartOptions, type Wiring, type LineSettings } from './uart/index.js';
export { UART_PROFILES, UART_PROFILE_NAMES, DEFAULT_UART_PROFILE, findUartProfile, parseUartProfile, type UartProfileDefinition, type IrqStyle, type KnownUartProfile } from './uart/index.js';
export { REG, IER, IIR, FCR, LCR, MCR, LSR, MSR, BASE_BAUD, registerName, describeRegister } from './uart/index.js';

// The guest model: BIOS enumeration and a Linux-8250-like driver on a VfioDevice.
export { GuestMachine, type GuestOptions, type AttachedFunction } from './guest/index.js';
export type { Tty } from './guest/tty.js';

// Host back-ends of a port (loopback, pty, serial device): createBackend(spec), then backend.attach(port).
export { parseSpec, formatSpec, type BackendSpec, type BackendKind } from './host/spec.js';
export { createBackend, type CreateBackendOptions } from './host/create.js';
export type { HostBackend, HostEvent, HostStatus, HostState } from './host/backend.js';

// Register-trace replay (mtty replay).
export { parseTrace, TraceError, type Trace, type TraceEvent } from './replay/index.js';
export { replayTrace, type ReplayResult, type ReplayRead, type ReplayMismatch, type ReplayOptions } from './replay/index.js';

// Errors (errno names as the kernel returns them) and time.
export { MttyError, fail, isMttyError, errnoName, ERRNO, STRERROR, type ErrnoName } from './errors/errno.js';
export { realClock, ManualClock, type Clock } from './clock/clock.js';
