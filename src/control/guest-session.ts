/**
 * The daemon's stand-in for "the VM this mdev is assigned to": it opens the
 * device once, lets a GuestMachine's BIOS program it (BARs at 0xc150/0xc158,
 * IRQ 10, slot 5, as in the kernel doc) and probes the 8250 driver, so that
 * `lspci` and `setserial` answer what a guest would print. Register peeks for
 * students go through the same open handle. A session lives for one request
 * (MttyService.withSession): removal waits for openers to close, and a
 * vfio-user client needs the device to itself.
 */
import type { VfioDevice } from '../vfio/api.js';
import { regionOffset } from '../vfio/uapi.js';
import { fail } from '../errors/errno.js';
import { GuestMachine, type AttachedFunction } from '../guest/index.js';

export class GuestSession {
  readonly machine: GuestMachine;
  readonly attached: AttachedFunction;

  constructor(readonly uuid: string, readonly device: VfioDevice) {
    this.machine = new GuestMachine({ style: 'current', configurePorts: false });
    this.attached = this.machine.attach(device);
  }

  lspci(): string {
    return this.machine.lspci(this.device);
  }

  /** setserial -g lines of this device's ports only (the guest's COM1 is not the device's). */
  setserial(): { lines: string[]; ports: { tty: string; port: number; irq: number; uart: string }[] } {
    const ports = this.attached.ports.map((p) => ({ tty: `/dev/${p.name}`, port: p.config.iobase, irq: p.config.irq, uart: p.type }));
    return { lines: this.attached.ports.map((p) => p.setserialLine()), ports };
  }

  private checkReg(port: number, reg: number): void {
    if (!Number.isInteger(port) || port < 0 || port >= this.attached.fn.bars.length) {
      fail('EINVAL', `port must be 0..${this.attached.fn.bars.length - 1} for this device; got ${port}`);
    }
    if (!Number.isInteger(reg) || reg < 0 || reg > 7) fail('EINVAL', `register offset must be 0..7; got ${reg}`);
  }

  /** One byte read of a UART register through BAR<port> (with the chip's read side effects). */
  readReg(port: number, reg: number): number {
    this.checkReg(port, reg);
    return this.device.read(regionOffset(this.attached.fn.bars[port].index) + reg, 1) & 0xff;
  }

  writeReg(port: number, reg: number, value: number): void {
    this.checkReg(port, reg);
    if (!Number.isInteger(value) || value < 0 || value > 0xff) fail('EINVAL', `register value must be 0..255; got ${value}`);
    this.device.write(regionOffset(this.attached.fn.bars[port].index) + reg, 1, value);
  }

  close(): void {
    this.machine.detach(this.device);
    this.device.close();
  }
}
