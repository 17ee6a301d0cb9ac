import type { Clock } from '../clock/clock.js';
import { fail, isMttyError } from '../errors/errno.js';
import type { MdevVendorDevice } from '../mdev/driver.js';
import { MttyConfigSpace } from '../pci/mtty-config-space.js';
import { PCI_CFG_SPACE_SIZE } from '../pci/mtty-config-image.js';
import type { DeviceInfo, IrqInfo, IrqSet, RegionInfo } from '../vfio/api.js';
import { checkAccess, checkLength, checkPos, checkValue } from '../vfio/access-checks.js';
import { alignedChunks } from '../vfio/aligned-chunks.js';
import {
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_NORESIZE,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_NUM_IRQS,
  VFIO_PCI_NUM_REGIONS,
  regionOffset,
  splitOffset,
} from '../vfio/uapi.js';
import { MttyInterrupts } from './interrupts.js';
import { MttyMigration } from './migration.js';
import { decodeMttyStream, encodeMttyStream } from './migration-stream.js';
import { MttyPort } from './port.js';
import type { PortUart, UartFactory, UartProfile } from './port-uart.js';
import { mttyRegionInfo, mttyRegionSize } from './regions.js';
import { decodeFullState, encodeFullState } from './full-state.js';

/** Bytes of the device fd per region (index << 40). */
const REGION_SPAN = regionOffset(1);

export interface MttyDeviceOptions {
  uuid: string;
  nrPorts: 1 | 2;
  profile: UartProfile;
  clock: Clock;
  createUart: UartFactory;
  /** Advertise VFIO_DEVICE_FLAGS_RESET in GET_INFO (the kernel sample does not). */
  advertiseReset?: boolean;
  /** Called once on release (returns the ports to the pool). */
  onRelease: () => void;
}

/**
 * One mtty device: its ports (BAR n -> port n), its PCI config space, its
 * interrupt routing and its migration state. Implements the VFIO device API
 * the way the kernel sample answers it, with these decisions:
 *
 * - GET_INFO flags are 0x2 (PCI) like the sample, unless `advertiseReset`.
 *   VFIO_DEVICE_RESET is accepted either way.
 * - VFIO_DEVICE_RESET resets every UART (master reset) and the migration
 *   state; the sample resets only the latter. Config space and the IRQ
 *   set-up are kept, as in the sample (the VMM owns those).
 * - Accesses past the end of a region, to an empty region, or misaligned,
 *   fail EINVAL instead of touching memory out of bounds. The one exception
 *   is config space: the region reports 255 bytes but reads up to 0xff
 *   succeed with zeros past the image, as the sample's unchecked copy gives.
 */
export class MttyDevice implements MdevVendorDevice {
  readonly uuid: string;
  readonly nrPorts: 1 | 2;
  readonly ports: MttyPort[];
  readonly config: MttyConfigSpace;
  readonly interrupts: MttyInterrupts;
  readonly migration: MttyMigration;
  private numIrqsCached = 0;
  private lineWasHigh = false;
  private released = false;
  private readonly advertiseReset: boolean;
  private readonly onRelease: () => void;

  constructor(opts: MttyDeviceOptions) {
    this.uuid = opts.uuid;
    this.nrPorts = opts.nrPorts;
    this.advertiseReset = opts.advertiseReset ?? false;
    this.onRelease = opts.onRelease;
    this.config = new MttyConfigSpace(opts.nrPorts);
    this.interrupts = new MttyInterrupts(() => this.lineHigh());
    const uarts: PortUart[] = [];
    try {
      for (let i = 0; i < opts.nrPorts; i++) uarts.push(opts.createUart({ profile: opts.profile, wiring: 'loopback' }));
    } catch (e) {
      for (const u of uarts) u.dispose();
      throw e;
    }
    this.ports = uarts.map(
      (uart, i) =>
        new MttyPort(
          i,
          uart,
          opts.clock,
          () => this.lineChanged(),
          () => this.interrupts.raise(),
        ),
    );
    this.migration = new MttyMigration({
      nrPorts: this.nrPorts,
      saveRecords: () => this.ports.map((p) => p.withUart((u) => u.toMttyRecord())),
      loadRecords: (records) => this.loadRecords(records),
    });
  }

  // ---- VFIO device API ----

  getInfo(): DeviceInfo {
    this.alive();
    // The sample caches num_irqs here; GET_IRQ_INFO and SET_IRQS check against the cache.
    this.numIrqsCached = VFIO_PCI_NUM_IRQS;
    return {
      flags: VFIO_DEVICE_FLAGS_PCI | (this.advertiseReset ? VFIO_DEVICE_FLAGS_RESET : 0),
      numRegions: VFIO_PCI_NUM_REGIONS,
      numIrqs: VFIO_PCI_NUM_IRQS,
    };
  }

  getRegionInfo(index: number): RegionInfo {
    this.alive();
    return mttyRegionInfo(index, this.nrPorts);
  }

  getIrqInfo(index: number): IrqInfo {
    this.alive();
    if (!Number.isInteger(index) || index < 0 || index >= this.numIrqsCached) {
      fail(
        'EINVAL',
        this.numIrqsCached === 0
          ? 'GET_IRQ_INFO before VFIO_DEVICE_GET_INFO: mtty answers IRQ questions only after GET_INFO'
          : `IRQ index ${String(index)} does not exist`,
      );
    }
    if (index === VFIO_PCI_INTX_IRQ_INDEX) {
      return { index, flags: VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED, count: 1 };
    }
    if (index === VFIO_PCI_MSI_IRQ_INDEX) {
      return { index, flags: VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, count: 1 };
    }
    fail('EINVAL', `mtty has no IRQ index ${index} (only INTx 0 and MSI 1)`);
  }

  setIrqs(set: IrqSet): void {
    this.alive();
    if (!set || typeof set !== 'object') fail('EINVAL', 'SET_IRQS needs an IrqSet object');
    this.interrupts.setIrqs(set, this.numIrqsCached);
  }

  reset(): void {
    this.alive();
    for (const p of this.ports) p.withUart((u) => u.reset());
    this.migration.reset();
    this.refreshLine();
  }

  read(pos: number, size: 1 | 2 | 4): number {
    // Fast path for what a guest's inb() becomes: one byte of a port's BAR on a
    // live device. Anything else, including every bad argument, takes the checked path.
    if (size === 1 && pos >= 0 && !this.released) {
      const index = Math.floor(pos / REGION_SPAN);
      const offset = pos - index * REGION_SPAN;
      if (index < this.nrPorts && offset < 8 && (offset | 0) === offset) return this.ports[index].read(offset);
    }
    this.alive();
    checkAccess(pos, size);
    const { index, offset } = this.locate(pos, size);
    if (index === VFIO_PCI_CONFIG_REGION_INDEX) return this.config.read(offset, size);
    // Only the register at the first byte is accessed; the other bytes read 0 (the sample leaves them undefined).
    return this.ports[index].read(offset);
  }

  write(pos: number, size: 1 | 2 | 4, value: number): void {
    // Fast path for outb() to a port's BAR (see read()).
    if (size === 1 && pos >= 0 && !this.released && (value & 0xff) === value) {
      const index = Math.floor(pos / REGION_SPAN);
      const offset = pos - index * REGION_SPAN;
      if (index < this.nrPorts && offset < 8 && (offset | 0) === offset) {
        this.ports[index].write(offset, value);
        return;
      }
    }
    this.alive();
    checkAccess(pos, size);
    const v = checkValue(value, size);
    const { index, offset } = this.locate(pos, size);
    if (index === VFIO_PCI_CONFIG_REGION_INDEX) this.config.write(offset, size, v);
    else this.ports[index].write(offset, v & 0xff);
  }

  readBytes(pos: number, length: number): Uint8Array {
    this.alive();
    checkPos(pos);
    checkLength(length);
    const chunks = this.plan(pos, length);
    const out = new Uint8Array(length);
    for (const c of chunks) {
      const v = this.read(c.pos, c.size);
      for (let i = 0; i < c.size; i++) out[c.index + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
    }
    return out;
  }

  writeBytes(pos: number, data: Uint8Array): number {
    this.alive();
    checkPos(pos);
    if (!(data instanceof Uint8Array)) fail('EFAULT', 'write() data must be a Uint8Array');
    const chunks = this.plan(pos, data.length);
    for (const c of chunks) {
      let v = 0;
      for (let i = c.size - 1; i >= 0; i--) v = v * 256 + data[c.index + i];
      this.write(c.pos, c.size, v);
    }
    return data.length;
  }

  /** Last close: eventfds, the INTx mask and migration fds go; UART state stays (as in the sample). */
  close(): void {
    this.interrupts.disableAll();
    this.migration.disableFiles();
  }

  /** The mdev is gone: stop every timer, free the UARTs, return the ports. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.close();
    for (const p of this.ports) p.dispose();
    this.onRelease();
  }

  get isReleased(): boolean {
    return this.released;
  }

  // ---- state save/restore ----

  /** The kernel sample's migration stream for this device (60 or 96 bytes). */
  saveState(): Uint8Array {
    this.alive();
    return encodeMttyStream(this.ports.map((p) => p.withUart((u) => u.toMttyRecord())));
  }

  /** Load a stream saved by saveState() (or by a real mtty); EINVAL if it is not for this device. */
  restoreState(stream: Uint8Array): void {
    this.alive();
    this.loadRecords(decodeMttyStream(stream, this.nrPorts));
  }

  /**
   * The full saved state: every UART's complete state (Uart.saveState,
   * more than the 36-byte kernel record holds) plus config space.
   */
  saveFullState(): Uint8Array {
    this.alive();
    return encodeFullState(this.config.bytes(), this.ports.map((p) => p.withUart((u) => u.saveState())));
  }

  restoreFullState(bytes: Uint8Array): void {
    this.alive();
    const snap = decodeFullState(bytes, this.nrPorts);
    // Validate every part before changing anything, so a bad full state leaves the device as it was.
    const before = this.ports.map((p) => p.uart.saveState());
    try {
      this.ports.forEach((p, i) => p.restoreUart(snap.uarts[i]));
      this.config.load(snap.config);
    } catch (e) {
      this.ports.forEach((p, i) => p.withUart((u) => u.restoreState(before[i])));
      throw e;
    }
    this.refreshLine();
  }

  // ---- internals ----

  private loadRecords(records: Uint8Array[]): void {
    // Full Uart saved states, not 36-byte records: a rollback must give back everything the ports held.
    const before = this.ports.map((p) => p.uart.saveState());
    try {
      this.ports.forEach((p, i) => p.withUart((u) => u.fromMttyRecord(records[i])));
    } catch (e) {
      this.ports.forEach((p, i) => p.withUart((u) => u.restoreState(before[i])));
      throw e;
    }
    this.refreshLine();
  }

  /** Region index and offset of an access, or EINVAL if it is outside every region. */
  private locate(pos: number, size: number): { index: number; offset: number } {
    const { index, offset } = splitOffset(pos);
    if (index >= VFIO_PCI_NUM_REGIONS) fail('EINVAL', `offset 0x${pos.toString(16)} is in region ${index}, which does not exist`);
    const regionSize = mttyRegionSize(index, this.nrPorts);
    if (regionSize === 0) fail('EINVAL', `region ${index} is empty on this device; nothing can be read or written there`);
    // The config region reports 255 bytes (as the sample) but answers the whole
    // 256-byte PCI config space, zeros past the image (MttyConfigSpace).
    if (index === VFIO_PCI_CONFIG_REGION_INDEX) {
      if (offset + size > PCI_CFG_SPACE_SIZE) {
        fail('EINVAL', `PCI config space is 0x${PCI_CFG_SPACE_SIZE.toString(16)} bytes; a ${size}-byte access at 0x${offset.toString(16)} does not fit`);
      }
      return { index, offset };
    }
    if (offset + size > regionSize) {
      fail('EINVAL', `region ${index} is ${regionSize} bytes; a ${size}-byte access at 0x${offset.toString(16)} does not fit`);
    }
    return { index, offset };
  }

  /** Chunks of an fd read/write, every one checked before any is performed; EFAULT if one is bad. */
  private plan(pos: number, length: number) {
    // Both ends first, in O(1): regions are contiguous ranges, so an access
    // whose first and last bytes lie in one region has every chunk inside it.
    // A count far past the region (a 1 MiB REGION_READ) fails here, before
    // any per-chunk work: bounded work per request (issue 10, part 3).
    if (length > 0) {
      try {
        const first = this.locate(pos, 1);
        if (this.locate(pos + length - 1, 1).index !== first.index) fail('EINVAL', 'the access spans two regions');
      } catch (e) {
        if (!isMttyError(e)) throw e;
        fail('EFAULT', `the ${length}-byte access at 0x${pos.toString(16)} reaches outside the device's regions (${e.message})`);
      }
    }
    const chunks = alignedChunks(pos, length);
    for (const c of chunks) {
      try {
        this.locate(c.pos, c.size);
      } catch (e) {
        if (!isMttyError(e)) throw e;
        fail('EFAULT', `the ${length}-byte access at 0x${pos.toString(16)} reaches outside the device's regions (${e.message})`);
      }
    }
    return chunks;
  }

  /** The shared INTA line: any level-triggered port asserting INTR. */
  private lineHigh(): boolean {
    return this.ports.some((p) => p.levelTriggered && p.level);
  }

  /** A port's INTR changed: a rising edge of the shared line is one interrupt. */
  private lineChanged(): void {
    const high = this.lineHigh();
    const rising = high && !this.lineWasHigh;
    this.lineWasHigh = high;
    if (rising) this.interrupts.raise();
  }

  /** After reset/restore the levels may have changed without callbacks. */
  private refreshLine(): void {
    for (const p of this.ports) p.level = p.uart.irq;
    this.lineChanged();
  }

  private alive(): void {
    if (this.released) fail('ENODEV', `mtty device ${this.uuid} has been removed`);
  }
}
