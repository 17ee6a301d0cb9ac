/**
 * One PCI function as the guest sees it after firmware set it up: its address,
 * IDs, the BARs the BIOS sized and placed, and its interrupt routing. Config
 * reads go through VFIO region 7 every time (never a cached copy) so that what
 * lspci prints is what the device answers now.
 */
import type { VfioDevice } from '../vfio/api.js';
import { VFIO_PCI_CONFIG_REGION_INDEX, regionOffset } from '../vfio/uapi.js';

export interface PciBar {
  index: number;
  /** true: I/O space BAR (bit 0 set); mtty has only these. */
  io: boolean;
  address: number;
  size: number;
}

export interface PciFunction {
  device: VfioDevice;
  domain: number;
  bus: number;
  slot: number;
  func: number;
  vendorId: number;
  deviceId: number;
  bars: PciBar[];
  /** Interrupt line the BIOS wrote to 0x3c (the guest IRQ number). */
  irq: number;
  /** 1 = INTA# ... 0 = none (config 0x3d). */
  pin: number;
  /** Name of the bound driver ("serial"), as lspci prints "Kernel driver in use". */
  driver: string | null;
}

const CFG = regionOffset(VFIO_PCI_CONFIG_REGION_INDEX);

export function cfgRead(dev: VfioDevice, offset: number, size: 1 | 2 | 4): number {
  return dev.read(CFG + offset, size) >>> 0;
}

export function cfgWrite(dev: VfioDevice, offset: number, size: 1 | 2 | 4, value: number): void {
  dev.write(CFG + offset, size, value >>> 0);
}

/** The first `length` bytes of config space, read as 4-byte accesses like lspci does through sysfs. */
export function cfgBytes(dev: VfioDevice, length = 64): Uint8Array {
  const out = new Uint8Array(length);
  for (let off = 0; off < length; off += 4) {
    const v = cfgRead(dev, off, 4);
    for (let i = 0; i < 4 && off + i < length; i++) out[off + i] = (v >>> (8 * i)) & 0xff;
  }
  return out;
}

/** "0000:00:05.0" (the kernel's dev_name) or, short, "00:05.0" (lspci). */
export function pciName(fn: Pick<PciFunction, 'domain' | 'bus' | 'slot' | 'func'>, withDomain = true): string {
  const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
  const short = `${hex(fn.bus, 2)}:${hex(fn.slot, 2)}.${fn.func}`;
  return withDomain ? `${hex(fn.domain, 4)}:${short}` : short;
}
