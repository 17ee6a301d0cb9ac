/**
 * The guest's x86 I/O port space. A driver does inb/outb on the addresses the
 * BIOS programmed into the BARs; the VMM (QEMU's vfio-pci, here this class)
 * turns each access into a read/write of the matching VFIO region. Keeping the
 * translation explicit is the point of the teaching model: the driver never
 * sees region offsets, the device never sees guest addresses.
 */
import type { VfioDevice } from '../vfio/api.js';
import { regionOffset } from '../vfio/uapi.js';
import { fail } from '../errors/errno.js';

interface Window {
  base: number;
  size: number;
  device: VfioDevice;
  region: number;
}

export class IoSpace {
  private windows: Window[] = [];
  /** Every access, for tests and step-by-step displays; off unless a callback is set. */
  onAccess: ((dir: 'in' | 'out', port: number, value: number) => void) | null = null;

  map(base: number, size: number, device: VfioDevice, region: number): void {
    for (const w of this.windows) {
      if (base < w.base + w.size && w.base < base + size) {
        fail('EBUSY', `I/O range 0x${base.toString(16)}-0x${(base + size - 1).toString(16)} overlaps an existing BAR`);
      }
    }
    this.windows.push({ base, size, device, region });
  }

  unmapDevice(device: VfioDevice): void {
    this.windows = this.windows.filter((w) => w.device !== device);
  }

  /** Which BAR an I/O address falls in: the device, its region index and the offset inside. */
  resolve(port: number): { device: VfioDevice; region: number; offset: number } | undefined {
    const w = this.find(port);
    return w ? { device: w.device, region: w.region, offset: port - w.base } : undefined;
  }

  private find(port: number): Window | undefined {
    return this.windows.find((w) => port >= w.base && port < w.base + w.size);
  }

  inb(port: number): number {
    const w = this.find(port);
    // Nothing decodes the address: the ISA bus floats high, which is what makes
    // the 8250 "LSR safety check" (LSR == 0xff) detect a missing UART.
    const v = w ? w.device.read(regionOffset(w.region) + (port - w.base), 1) & 0xff : 0xff;
    this.onAccess?.('in', port, v);
    return v;
  }

  outb(port: number, value: number): void {
    const w = this.find(port);
    this.onAccess?.('out', port, value & 0xff);
    if (w) w.device.write(regionOffset(w.region) + (port - w.base), 1, value & 0xff);
  }
}
