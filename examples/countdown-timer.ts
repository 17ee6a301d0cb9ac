/**
 * A second vendor driver, written against the public mdev framework exactly as
 * an installed user would (`import ... from 'mtty'`): a PCI countdown timer
 * that raises INTx when it reaches zero. It is not a UART, on purpose: it
 * shows what the framework gives any driver (the parent, type groups,
 * available_instances, create/remove, sysfs, one global UUID namespace, the
 * VFIO open/release life cycle, serving over vfio-user) and what a driver
 * writes itself (config space, its registers, interrupt wiring).
 *
 * The kernel's shape, callback by callback (drivers/vfio/mdev, include/linux/mdev.h):
 *   mdev_register_parent(types)  -> bus.registerParent(placement, driver)
 *   mdev_type / available_instances -> driver.types, driver.availableInstances()
 *   probe (create)               -> driver.probe(): reserve an instance or throw ENOSPC
 *   open_device / close_device   -> MdevDevice.open() / VfioDevice.close() (last close)
 *   read / write (device fd)     -> read()/write()/readBytes()/writeBytes()
 *   ioctl                        -> getInfo/getRegionInfo/getIrqInfo/setIrqs/reset
 *   remove / release             -> MdevDevice.remove() waits for close, then release()
 *
 * The device: PCI 1234:7130, class 0x0880 (other system peripheral), BAR0 a
 * 32-byte memory BAR of 32-bit registers (only naturally aligned 4-byte
 * accesses; anything else is EINVAL), INTA#. One tick is 1 µs of the clock.
 *   0x00 ID      RO  0x524d4954 ("TIMR")
 *   0x04 COUNT   RW  ticks left; a write loads it (and restarts a running timer)
 *   0x08 CTRL    RW  bit0 RUN, bit1 IRQ enable, bit2 periodic (reload from RELOAD)
 *   0x0c STATUS  RW1C bit0 EXPIRED; writing 1 clears it and drops INTx
 *   0x10 RELOAD  RW  ticks loaded again when a periodic timer expires
 *   0x14 EXPIRES RO  how many times it expired since reset
 * INTx is level-triggered like any PCI INTx: high while EXPIRED && IRQ enable.
 * As vfio-pci does, a rising edge signals the eventfd and masks the line; the
 * user's UNMASK signals again if the line is still high.
 */
import {
  fail,
  alignedChunks,
  checkAccess,
  checkLength,
  checkValue,
  checkIrqSink,
  validateIrqSet,
  realClock,
  splitOffset,
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_NORESIZE,
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_PCI_BAR0_REGION_INDEX,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_NUM_IRQS,
  VFIO_PCI_NUM_REGIONS,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  regionOffset,
  type Clock,
  type DeviceInfo,
  type IrqInfo,
  type IrqSet,
  type IrqSink,
  type MdevBus,
  type MdevDevice,
  type MdevDriver,
  type MdevParent,
  type MdevTypeSpec,
  type MdevVendorDevice,
  type RegionInfo,
  type VendorAttribute,
} from 'mtty';

/** Register offsets in BAR0. */
export const TIMER_REG = { ID: 0x00, COUNT: 0x04, CTRL: 0x08, STATUS: 0x0c, RELOAD: 0x10, EXPIRES: 0x14 } as const;
/** CTRL bits. */
export const TIMER_CTRL = { RUN: 0x1, IRQ: 0x2, PERIODIC: 0x4 } as const;
/** STATUS bits. */
export const TIMER_STATUS = { EXPIRED: 0x1 } as const;
/** Register 0x00. */
export const TIMER_ID = 0x524d4954;
/** One tick, in ns of the clock. */
export const TICK_NS = 1000;
export const TIMER_VENDOR_ID = 0x1234;
export const TIMER_DEVICE_ID = 0x7130;
export const TIMER_BAR0_SIZE = 32;
const CONFIG_SIZE = 256;

/** The PCI config space: a fixed header image plus the few writable fields. */
class TimerConfigSpace {
  private readonly bytes = new Uint8Array(CONFIG_SIZE);
  private bar0 = 0;

  constructor() {
    const v = new DataView(this.bytes.buffer);
    v.setUint16(0x00, TIMER_VENDOR_ID, true);
    v.setUint16(0x02, TIMER_DEVICE_ID, true);
    v.setUint16(0x06, 0x0000, true); // status: no capabilities
    v.setUint8(0x08, 0x01); // revision
    v.setUint8(0x0a, 0x80); // subclass: other
    v.setUint8(0x0b, 0x08); // class: base system peripheral
    v.setUint16(0x2c, TIMER_VENDOR_ID, true);
    v.setUint16(0x2e, TIMER_DEVICE_ID, true);
    v.setUint8(0x3d, 0x01); // INTA#
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (offset + size > CONFIG_SIZE) fail('EINVAL', `config access at 0x${offset.toString(16)} is past the 256-byte header`);
    this.syncBar();
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.bytes[offset + i]!;
    return v;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset + size > CONFIG_SIZE) fail('EINVAL', `config access at 0x${offset.toString(16)} is past the 256-byte header`);
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      const byte = Math.floor(value / 256 ** i) & 0xff;
      if (at === 0x04) this.bytes[at] = byte & 0x06; // command: Mem and BusMaster are the only bits we implement
      else if (at === 0x05) this.bytes[at] = byte & 0x04; // INTx disable
      else if (at >= 0x10 && at < 0x14) {
        const shift = 8 * (at - 0x10);
        this.bar0 = ((this.bar0 & ~(0xff << shift)) | (byte << shift)) >>> 0;
      } else if (at === 0x3c) this.bytes[at] = byte; // interrupt line: scratch for the guest
      // everything else is read-only
    }
  }

  /** BAR0: a 32-bit non-prefetchable memory BAR of 32 bytes; sizing writes read back the size mask. */
  private syncBar(): void {
    const v = (this.bar0 & ~(TIMER_BAR0_SIZE - 1)) >>> 0;
    new DataView(this.bytes.buffer).setUint32(0x10, v, true);
  }

  /** PCI_COMMAND bit 10: the guest disabled INTx. */
  get intxDisabled(): boolean {
    return (this.bytes[0x05]! & 0x04) !== 0;
  }

  reset(): void {
    this.bytes[0x04] = 0;
    this.bytes[0x05] = 0;
    this.bytes[0x3c] = 0;
    this.bar0 = 0;
  }
}

/** One countdown timer device: the VFIO device a VMM opens. */
export class CountdownTimerDevice implements MdevVendorDevice {
  private count = 0;
  private ctrl = 0;
  private status = 0;
  private reload = 0;
  private expires = 0;
  /** Clock time (ns) at which COUNT reaches 0 while running. */
  private deadline = 0;
  private cancelTimer: (() => void) | null = null;
  private readonly config = new TimerConfigSpace();
  private sink: IrqSink | null = null;
  private masked = false;
  private line = false;
  private released = false;
  /** INTx events delivered to the eventfd (for tests and the sysfs attribute). */
  interrupts = 0;

  constructor(
    readonly uuid: string,
    private readonly clock: Clock,
    private readonly onRelease: () => void,
  ) {}

  // ---- ioctls -------------------------------------------------------------------------

  getInfo(): DeviceInfo {
    return { flags: VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET, numRegions: VFIO_PCI_NUM_REGIONS, numIrqs: VFIO_PCI_NUM_IRQS };
  }

  getRegionInfo(index: number): RegionInfo {
    if (!Number.isInteger(index) || index < 0 || index >= VFIO_PCI_NUM_REGIONS) fail('EINVAL', `region ${index} does not exist`);
    const size = index === VFIO_PCI_BAR0_REGION_INDEX ? TIMER_BAR0_SIZE : index === VFIO_PCI_CONFIG_REGION_INDEX ? CONFIG_SIZE : 0;
    const flags = size ? VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE : 0;
    return { index, flags, size, offset: regionOffset(index) };
  }

  getIrqInfo(index: number): IrqInfo {
    if (!Number.isInteger(index) || index < 0 || index >= VFIO_PCI_NUM_IRQS) fail('EINVAL', `IRQ index ${index} does not exist`);
    if (index === VFIO_PCI_INTX_IRQ_INDEX) {
      return { index, flags: VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED, count: 1 };
    }
    if (index === VFIO_PCI_MSI_IRQ_INDEX) return { index, flags: VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, count: 0 };
    return { index, flags: 0, count: 0 };
  }

  setIrqs(set: IrqSet): void {
    const data = validateIrqSet(set, VFIO_PCI_NUM_IRQS); // the vfio core's common checks
    if (set.index !== VFIO_PCI_INTX_IRQ_INDEX) {
      if (set.count === 0) return; // disabling what is not enabled
      fail('EINVAL', `only INTx (index 0) is implemented; index ${set.index} has no vectors`);
    }
    if (set.start !== 0 || set.count > 1) fail('EINVAL', 'INTx has one vector (start 0, count 0 or 1)');
    const on = (i = 0) => data.type === 'none' || (data.type === 'bool' && data.values[i] === true);
    switch (set.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) {
      case VFIO_IRQ_SET_ACTION_MASK:
        if (data.type === 'eventfd') fail('EINVAL', 'masking INTx with an eventfd (irqfd) is not supported');
        if (on()) this.masked = true;
        return;
      case VFIO_IRQ_SET_ACTION_UNMASK:
        if (data.type === 'eventfd') fail('EINVAL', 'unmasking INTx with an eventfd (resample irqfd) is not supported');
        if (on()) {
          this.masked = false;
          this.deliver(); // still asserted: signal again (vfio_pci_intx_unmask)
        }
        return;
      case VFIO_IRQ_SET_ACTION_TRIGGER:
        if (data.type === 'eventfd') {
          this.sink = set.count === 0 ? null : checkIrqSink(data.sinks[0] ?? null);
          this.masked = false;
          this.deliver();
        } else if (set.count === 0) {
          this.sink = null; // DATA_NONE with count 0: disable
        } else if (on() && this.sink) {
          this.interrupts++;
          this.sink.signal(); // loopback test trigger
        }
        return;
      default:
        fail('EINVAL', 'SET_IRQS needs exactly one action');
    }
  }

  reset(): void {
    this.stop();
    this.count = this.ctrl = this.status = this.reload = this.expires = 0;
    this.config.reset();
    this.masked = false;
    this.update();
  }

  // ---- read()/write() on the device fd ----------------------------------------------

  read(pos: number, size: 1 | 2 | 4): number {
    checkAccess(pos, size);
    const { index, offset } = splitOffset(pos);
    if (index === VFIO_PCI_CONFIG_REGION_INDEX) return this.config.read(offset, size);
    if (index === VFIO_PCI_BAR0_REGION_INDEX) return this.readReg(this.regAt(offset, size));
    fail('EINVAL', `region ${index} has nothing to read`);
  }

  write(pos: number, size: 1 | 2 | 4, value: number): void {
    checkAccess(pos, size);
    const v = checkValue(value, size);
    const { index, offset } = splitOffset(pos);
    if (index === VFIO_PCI_CONFIG_REGION_INDEX) {
      this.config.write(offset, size, v);
      this.update();
      return;
    }
    if (index === VFIO_PCI_BAR0_REGION_INDEX) return this.writeReg(this.regAt(offset, size), v);
    fail('EINVAL', `region ${index} cannot be written`);
  }

  readBytes(pos: number, length: number): Uint8Array {
    checkLength(length);
    const out = new Uint8Array(length);
    for (const c of alignedChunks(pos, length)) {
      let v = this.read(c.pos, c.size);
      for (let i = 0; i < c.size; i++, v = Math.floor(v / 256)) out[c.index + i] = v & 0xff;
    }
    return out;
  }

  writeBytes(pos: number, data: Uint8Array): number {
    for (const c of alignedChunks(pos, data.length)) {
      let v = 0;
      for (let i = c.size - 1; i >= 0; i--) v = v * 256 + data[c.index + i]!;
      this.write(c.pos, c.size, v);
    }
    return data.length;
  }

  /** Last close of the device fd: drop the eventfd and the mask, as vfio-pci does. */
  close(): void {
    this.sink = null;
    this.masked = false;
  }

  /** After removal: stop the timer and give the instance back to the parent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.stop();
    this.onRelease();
  }

  // ---- the timer ------------------------------------------------------------------------

  private regAt(offset: number, size: number): number {
    if (size !== 4 || offset >= TIMER_BAR0_SIZE) fail('EINVAL', `BAR0 takes aligned 4-byte accesses below 0x${TIMER_BAR0_SIZE.toString(16)}`);
    return offset;
  }

  private readReg(reg: number): number {
    switch (reg) {
      case TIMER_REG.ID:
        return TIMER_ID;
      case TIMER_REG.COUNT:
        return this.running ? Math.max(0, Math.ceil((this.deadline - this.clock.now()) / TICK_NS)) : this.count;
      case TIMER_REG.CTRL:
        return this.ctrl;
      case TIMER_REG.STATUS:
        return this.status;
      case TIMER_REG.RELOAD:
        return this.reload;
      case TIMER_REG.EXPIRES:
        return this.expires >>> 0;
      default:
        return 0; // reserved registers read as zero
    }
  }

  private writeReg(reg: number, v: number): void {
    switch (reg) {
      case TIMER_REG.COUNT:
        this.count = v;
        if (this.running) this.start();
        break;
      case TIMER_REG.CTRL: {
        const wasRunning = this.running;
        if (wasRunning && !(v & TIMER_CTRL.RUN)) this.count = this.readReg(TIMER_REG.COUNT); // freeze what is left
        this.ctrl = v & (TIMER_CTRL.RUN | TIMER_CTRL.IRQ | TIMER_CTRL.PERIODIC);
        if (this.running && !wasRunning) this.start();
        if (!this.running) this.stop();
        break;
      }
      case TIMER_REG.STATUS:
        this.status &= ~(v & TIMER_STATUS.EXPIRED); // write 1 to clear
        break;
      case TIMER_REG.RELOAD:
        this.reload = v;
        break;
      default:
        break; // ID, EXPIRES and reserved: writes are ignored
    }
    this.update();
  }

  private get running(): boolean {
    return (this.ctrl & TIMER_CTRL.RUN) !== 0;
  }

  private start(): void {
    this.stop();
    this.deadline = this.clock.now() + this.count * TICK_NS;
    this.cancelTimer = this.clock.setTimer(this.count * TICK_NS, () => this.expire());
  }

  private stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  private expire(): void {
    this.cancelTimer = null;
    this.expires++;
    this.status |= TIMER_STATUS.EXPIRED;
    if (this.ctrl & TIMER_CTRL.PERIODIC && this.reload > 0) {
      this.count = this.reload;
      this.start();
    } else {
      this.count = 0;
      this.ctrl &= ~TIMER_CTRL.RUN;
    }
    this.update();
  }

  /** Recompute the INTx level; a rising edge is delivered. */
  private update(): void {
    const level = (this.status & TIMER_STATUS.EXPIRED) !== 0 && (this.ctrl & TIMER_CTRL.IRQ) !== 0 && !this.config.intxDisabled;
    const rising = level && !this.line;
    this.line = level;
    if (rising) this.deliver();
  }

  /** Signal the eventfd if the line is high and not masked, then automask (level-triggered INTx). */
  private deliver(): void {
    if (!this.line || this.masked || !this.sink) return;
    this.masked = true;
    this.interrupts++;
    this.sink.signal();
  }
}

/** Options of registerCountdownTimer. */
export interface CountdownTimerOptions {
  /** How many timers may exist at once (available_instances of the one type), default 4. */
  instances?: number;
  /** Time source (ManualClock in tests), default realClock. */
  clock?: Clock;
  /** Parent device name, default "ctimer". */
  name?: string;
}

/** The driver: one type ("ctimer-1"), a fixed number of instances, one vendor attribute. */
class CountdownTimerDriver implements MdevDriver<CountdownTimerDevice> {
  readonly deviceApi = 'vfio-pci';
  readonly types: readonly MdevTypeSpec[] = [{ sysfsName: '1', prettyName: 'Countdown timer', description: 'a 32-bit countdown timer raising INTx' }];
  readonly deviceAttributes: readonly VendorAttribute<MdevDevice<CountdownTimerDevice>>[] = [
    { group: 'vendor', name: 'interrupts', show: (d) => String(d.vendor.interrupts) },
  ];
  private live = 0;

  constructor(
    private readonly max: number,
    private readonly clock: Clock,
  ) {}

  availableInstances(): number {
    return this.max - this.live;
  }

  probe(device: MdevDevice<CountdownTimerDevice>): CountdownTimerDevice {
    if (this.live >= this.max) fail('ENOSPC', `all ${this.max} countdown timers are in use`);
    this.live++;
    return new CountdownTimerDevice(device.uuid, this.clock, () => this.live--);
  }
}

/**
 * Register the countdown-timer parent on a bus (mdev_register_parent): it
 * appears at /sys/devices/virtual/ctimer/ctimer with type ctimer-1, beside
 * mtty and sharing its UUID namespace. EEXIST if the name is taken.
 */
export function registerCountdownTimer(bus: MdevBus, opts: CountdownTimerOptions = {}): MdevParent<CountdownTimerDevice> {
  const instances = opts.instances ?? 4;
  if (!Number.isInteger(instances) || instances < 0) fail('EINVAL', `instances must be a non-negative integer, not ${String(instances)}`);
  const name = opts.name ?? 'ctimer';
  return bus.registerParent(
    { name, className: 'ctimer', sysfsPath: `/sys/devices/virtual/ctimer/${name}` },
    new CountdownTimerDriver(instances, opts.clock ?? realClock),
  );
}

/** `mtty serve --driver dist/examples/countdown-timer.js`: the daemon calls this with its bus and clock. */
export function register(bus: MdevBus, ctx: { clock?: Clock } = {}): void {
  registerCountdownTimer(bus, { clock: ctx.clock });
}
