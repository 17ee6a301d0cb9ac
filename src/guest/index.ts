/** The guest-side model, for the walk-through, the lab, the daemon and tests. */
export { GuestMachine, type GuestOptions, type AttachedFunction } from './machine.js';
export { Tty, type LegacyPort } from './tty.js';
export { Serial8250Port, DEFAULT_TERMIOS, type Termios } from './serial8250.js';
export { GuestCpu, runConfigRoutine, isAccess, type GuestOp, type GuestAccess, type GuestRoutine, type NextAccess, type AccessObserver } from './cpu.js';
export { probePciSerial, probePciSerialRoutine, matchPciSerial, BOARDS, PCI_SERIAL_IDS } from './serial8250-pci.js';
export { enumerate, enumerateRoutine, barSize, type EnumerateOptions } from './pci-enumerate.js';
export { cfgBytes, cfgRead, cfgWrite, pciName, type PciFunction, type PciBar } from './pci-function.js';
export { lspci, lspciFunction, type LspciOptions } from './lspci.js';
export { InterruptController } from './interrupts.js';
export { IoSpace } from './io-space.js';
export { wireIntx, type IntxWire } from './vfio-intx.js';
