import { fail } from '../errors/errno.js';
import type { DeviceInfo, IrqInfo, IrqSet, RegionInfo, VfioDevice, VfioMigration } from './api.js';

/**
 * One open file on a VFIO device. The device model lives as long as the
 * mdev; a handle lives from open() to close(). After close() every call
 * fails with EBADF, as a closed fd would, so a stale reference cannot reach
 * a device that someone else has opened since.
 */
export class VfioOpenHandle implements VfioDevice {
  private open = true;

  constructor(
    private readonly device: VfioDevice,
    private readonly onClose: () => void,
  ) {}

  get closed(): boolean {
    return !this.open;
  }

  private target(): VfioDevice {
    if (!this.open) fail('EBADF', 'this VFIO device handle has been closed; open the device again');
    return this.device;
  }

  getInfo(): DeviceInfo {
    return this.target().getInfo();
  }
  getRegionInfo(index: number): RegionInfo {
    return this.target().getRegionInfo(index);
  }
  getIrqInfo(index: number): IrqInfo {
    return this.target().getIrqInfo(index);
  }
  setIrqs(set: IrqSet): void {
    this.target().setIrqs(set);
  }
  reset(): void {
    this.target().reset();
  }
  read(pos: number, size: 1 | 2 | 4): number {
    return this.target().read(pos, size);
  }
  write(pos: number, size: 1 | 2 | 4, value: number): void {
    this.target().write(pos, size, value);
  }
  readBytes(pos: number, length: number): Uint8Array {
    return this.target().readBytes(pos, length);
  }
  writeBytes(pos: number, data: Uint8Array): number {
    return this.target().writeBytes(pos, data);
  }

  /**
   * The migration ops through this handle: like every other call they fail
   * EBADF once the handle is closed, even through a reference taken before.
   */
  get migration(): VfioMigration | undefined {
    if (!this.target().migration) return undefined;
    if (!this.migrationView) {
      const mig = () => this.target().migration as VfioMigration;
      this.migrationView = {
        get flags() {
          return mig().flags;
        },
        get state() {
          return mig().state;
        },
        setState: (state) => mig().setState(state),
        dataSize: () => mig().dataSize(),
      };
    }
    return this.migrationView;
  }

  private migrationView: VfioMigration | null = null;

  /** Last close: the device drops eventfds and masks, then the mdev may be removed. */
  close(): void {
    const device = this.target();
    this.open = false;
    try {
      device.close();
    } finally {
      this.onClose();
    }
  }
}
