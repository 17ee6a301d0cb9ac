/**
 * What the guest firmware (SeaBIOS in the kernel doc's example) does with a
 * freshly plugged PCI function: read its IDs, size every BAR by writing all
 * ones and reading back, place the I/O BARs in the I/O window, route INTA# to
 * an IRQ and write that IRQ into the interrupt-line register. All of it goes
 * through the VFIO config region, so the device's own BAR-write rules (mtty
 * keeps the I/O indicator bit, answers sizing with 0xfffffff9) are exercised
 * exactly as under QEMU.
 */
import type { VfioDevice } from '../vfio/api.js';
import { fail } from '../errors/errno.js';
import type { PciBar, PciFunction } from './pci-function.js';
import { runConfigRoutine, type GuestRoutine } from './cpu.js';

export interface EnumerateOptions {
  domain?: number;
  bus?: number;
  /** QEMU put the doc's device in slot 5 (00:05.0). */
  slot?: number;
  /** First I/O address handed out: the doc's SeaBIOS run gave BAR0 0xc150, BAR1 0xc158. */
  ioBase?: number;
  /** The IRQ INTA# of this slot is routed to (LNKA -> 10 in the doc's dmesg). */
  irq?: number;
}

const PCI_VENDOR_ID = 0x00;
const PCI_COMMAND = 0x04;
const PCI_CLASS_REVISION = 0x08;
const PCI_BASE_ADDRESS_0 = 0x10;
const PCI_INTERRUPT_LINE = 0x3c;
const PCI_INTERRUPT_PIN = 0x3d;
const PCI_COMMAND_IO = 0x1;
const PCI_BASE_ADDRESS_SPACE_IO = 0x1;

/** Size a BAR from the value read back after writing all ones (PCI spec 6.2.5.1). */
export function barSize(readback: number, io: boolean): number {
  let mask = (readback & (io ? ~0x3 : ~0xf)) >>> 0;
  if (mask === 0) return 0;
  // I/O BARs may implement only the low 16 address bits.
  if (io && (mask & 0xffff0000) === 0) mask = (mask | 0xffff0000) >>> 0;
  return ((~mask >>> 0) + 1) >>> 0;
}

/** enumerate() run directly on the device's config region (no guest CPU needed). */
export function enumerate(device: VfioDevice, opts: EnumerateOptions = {}): PciFunction {
  return runConfigRoutine(enumerateRoutine(device, opts));
}

/** The firmware's enumeration as a routine: one config access per step, each labelled for the lab. */
export function* enumerateRoutine(device: VfioDevice, opts: EnumerateOptions = {}): GuestRoutine<PciFunction> {
  // QEMU's vfio-pci asks these before touching the device; GET_IRQ_INFO
  // answers EINVAL until GET_INFO has been called (mtty caches num_irqs).
  device.getInfo();
  const rd = (offset: number, size: 1 | 2 | 4, why: string): GuestRoutine<number> => (function* () {
    return (yield { kind: 'cfg-read', device, offset, size, why }) >>> 0;
  })();
  const wr = (offset: number, size: 1 | 2 | 4, value: number, why: string): GuestRoutine => (function* () {
    yield { kind: 'cfg-write', device, offset, size, value: value >>> 0, why };
  })();
  const id = yield* rd(PCI_VENDOR_ID, 4, 'BIOS: vendor and device ID: is anything in this slot?');
  const vendorId = id & 0xffff;
  const deviceId = id >>> 16;
  if (vendorId === 0xffff) fail('ENODEV', 'no PCI function answers config reads (vendor 0xffff)');
  yield* rd(PCI_CLASS_REVISION, 4, 'BIOS: class code and revision: 07 00 02 = serial controller, 16550-compatible');

  let next = opts.ioBase ?? 0xc150;
  const bars: PciBar[] = [];
  for (let index = 0; index < 6; index++) {
    const off = PCI_BASE_ADDRESS_0 + 4 * index;
    const saved = yield* rd(off, 4, `BIOS: BAR${index}: save its value before sizing`);
    yield* wr(off, 4, 0xffffffff, `BIOS: BAR${index} sizing: write all ones`);
    const readback = yield* rd(off, 4, `BIOS: BAR${index} sizing: the zero low bits give the size, bit 0 = I/O space`);
    yield* wr(off, 4, saved, `BIOS: BAR${index}: restore it`);
    if (readback === 0 || readback === 0xffffffff) continue; // not implemented
    const io = (readback & PCI_BASE_ADDRESS_SPACE_IO) !== 0;
    const size = barSize(readback, io);
    if (size === 0) continue;
    if (!io) continue; // mtty has no memory BARs; a memory window is out of scope here
    const address = Math.ceil(next / size) * size; // BARs are naturally aligned
    next = address + size;
    yield* wr(off, 4, address, `BIOS: BAR${index}: place the ${size}-byte I/O window at 0x${address.toString(16)}`);
    bars.push({ index, io, address, size });
  }

  const irq = opts.irq ?? 10;
  const pin = yield* rd(PCI_INTERRUPT_PIN, 1, 'BIOS: interrupt pin (1 = INTA#)');
  if (pin !== 0) yield* wr(PCI_INTERRUPT_LINE, 1, irq, `BIOS: interrupt line ${irq}: where INTA# is routed`);
  // Enable I/O decoding (mtty ignores command writes and already reads 0x0001).
  const cmd = yield* rd(PCI_COMMAND, 2, 'BIOS: command register');
  yield* wr(PCI_COMMAND, 2, cmd | PCI_COMMAND_IO, 'BIOS: enable I/O decoding');

  return {
    device,
    domain: opts.domain ?? 0,
    bus: opts.bus ?? 0,
    slot: opts.slot ?? 5,
    func: 0,
    vendorId,
    deviceId,
    bars,
    irq: pin !== 0 ? irq : 0,
    pin,
    driver: null,
  };
}
