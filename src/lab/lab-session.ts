/**
 * Everything one lab page holds: a loaded mtty (bus, parent, sysfs), virtual
 * time, and a LabDevice per mediated device, opened by the lab's "VMM" as
 * soon as it is created. The page (web/) only renders this object and calls
 * its methods; Node tests drive the same object without a browser.
 *
 * Create and remove go through the sysfs files, exactly as a student would
 * type them (echo $UUID > .../create, echo 1 > .../remove), so errors come
 * back as the kernel's errno ("EEXIST (File exists): ...").
 */
import { ManualClock, type Clock } from '../clock/clock.js';
import type { UartProfile } from '../uart/profile.js';
import type { MdevDevice } from '../mdev/device.js';
import type { MttyDevice } from '../mtty/device.js';
import type { LoadedMtty } from '../mtty/load.js';
import { generateMdevUuid } from '../mdev/uuid.js';
import { LabDevice, type LabUart } from './lab-device.js';

/** The lab offers every UART profile (src/uart/profile.ts). */
export type LabProfile = UartProfile;

/** The part of loadMtty()'s result the lab uses (docs/ARCHITECTURE.md). */
export type MttyModule = Pick<LoadedMtty, 'bus' | 'parent' | 'sysfs'>;

export type LoadMtty = (opts: { ports?: number; profile?: LabProfile; clock?: Clock }) => Promise<MttyModule>;

export interface TypeRow {
  id: string;
  name: string;
  deviceApi: string;
  available: number;
  sysfsPath: string;
}

export interface LabSessionOptions {
  load: LoadMtty;
  profile?: LabProfile;
  /** 'run': the guest runs as soon as it has work; 'step': one access per step(). */
  mode?: 'run' | 'step';
  /** A byte the guest driver received on a port (the terminal prints it). */
  onByte?: (uuid: string, port: number, byte: number) => void;
}

/** mtty's MttyDevice keeps one MttyPort per BAR; the inspector peeks at its Uart. */
function uartsOf(mdev: MdevDevice<MttyDevice>): LabUart[] {
  return mdev.vendor.ports.map((p) => p.uart);
}

export class LabSession {
  readonly clock = new ManualClock();
  profile: LabProfile;
  mode: 'run' | 'step';
  mtty!: MttyModule;
  readonly devices = new Map<string, LabDevice>();
  private listeners = new Set<() => void>();

  private constructor(private readonly opts: LabSessionOptions) {
    this.profile = opts.profile ?? 'mtty';
    this.mode = opts.mode ?? 'run';
  }

  static async create(opts: LabSessionOptions): Promise<LabSession> {
    const s = new LabSession(opts);
    s.mtty = await opts.load({ profile: s.profile, clock: s.clock });
    return s;
  }

  /** Re-render hook for the page. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(): void {
    for (const fn of this.listeners) fn();
  }

  get parentPath(): string {
    return this.mtty.parent.sysfsPath;
  }

  types(): TypeRow[] {
    return this.mtty.parent.types.map((t) => ({
      id: t.id,
      name: t.name,
      deviceApi: t.deviceApi,
      // Read through sysfs, as `cat available_instances` would.
      available: Number(this.mtty.sysfs.read(`${t.sysfsPath}/available_instances`).trim()),
      sysfsPath: t.sysfsPath,
    }));
  }

  newUuid(): string {
    return generateMdevUuid();
  }

  /** echo $uuid > mdev_supported_types/<type>/create, then the VMM opens it and the guest boots. */
  async createDevice(typeId: string, uuid: string): Promise<LabDevice> {
    const type = this.mtty.parent.type(typeId);
    const path = `${type ? type.sysfsPath : `${this.parentPath}/mdev_supported_types/${typeId}`}/create`;
    await this.mtty.sysfs.write(path, uuid);
    const name = uuid.slice(0, 36).toLowerCase();
    const mdev = this.mtty.bus.device(name) as MdevDevice<MttyDevice> | undefined;
    if (!mdev) throw new Error(`created ${name} but the bus does not list it`);
    const dev = new LabDevice(mdev, uartsOf(mdev), {
      onByte: (port, byte) => this.opts.onByte?.(dev.uuid, port, byte),
      advance: (ns) => {
        this.clock.advance(ns);
        return ns;
      },
    });
    // New devices take the lab's current profile (the loader's default may differ after a switch).
    for (let p = 0; p < dev.portCount; p++) dev.uart(p).profile = this.profile;
    this.devices.set(dev.uuid, dev);
    dev.open();
    this.settle();
    return dev;
  }

  /**
   * echo 1 > /sys/bus/mdev/devices/<uuid>/remove. The write blocks while the
   * VMM holds the device open, so the lab starts it, then closes its handle
   * (the VM lets go), and the removal completes.
   */
  async removeDevice(uuid: string): Promise<void> {
    const removing = this.mtty.sysfs.write(`/sys/bus/mdev/devices/${uuid}/remove`, '1');
    const dev = this.devices.get(uuid);
    dev?.close();
    try {
      await removing;
    } finally {
      if (!this.mtty.bus.device(uuid)) this.devices.delete(uuid);
      this.changed();
    }
  }

  /** Keys typed on a port's terminal. */
  type(uuid: string, port: number, text: string): void {
    const dev = this.devices.get(uuid);
    if (!dev) return;
    dev.type(port, new TextEncoder().encode(text));
    this.settle();
  }

  /** In run mode, let every guest run until idle; then re-render. Returns accesses performed. */
  settle(): number {
    let steps = 0;
    if (this.mode === 'run') for (const d of this.devices.values()) steps += d.run();
    this.changed();
    return steps;
  }

  /** Step mode: one access of the first device with work queued. */
  step(uuid?: string): ReturnType<LabDevice['step']> {
    const order = uuid ? [this.devices.get(uuid)] : [...this.devices.values()];
    for (const d of order) {
      const rec = d?.step();
      if (rec) {
        this.changed();
        return rec;
      }
    }
    return null;
  }

  setMode(mode: 'run' | 'step'): void {
    this.mode = mode;
    this.settle();
  }

  /** True while some UART waits for a timed event (the page's ticker only runs then). */
  get timersPending(): boolean {
    return this.clock.pending > 0;
  }

  /**
   * Virtual time passes (run mode's ticker, or the step panel's button):
   * timers due (the character timeout) fire and may raise interrupts.
   */
  advanceTime(ns: number): void {
    this.clock.advance(ns);
    if (this.mode === 'run') {
      // The run-mode ticker calls this often: re-render only when the guest had work.
      let steps = 0;
      for (const d of this.devices.values()) steps += d.run();
      if (steps > 0) this.changed();
    } else {
      this.changed();
    }
  }

  /**
   * Switch every port's UART model between the datasheet 16550 and the
   * kernel sample's behaviour. The Uart keeps its register state, so the
   * student sees the same bytes answered by the other model.
   */
  setProfile(profile: LabProfile): void {
    this.profile = profile;
    for (const d of this.devices.values()) {
      for (let p = 0; p < d.portCount; p++) d.uart(p).profile = profile;
    }
    this.changed();
  }
}
