import { fail } from '../errors/errno.js';
import type { MdevDriver, MdevTypeSpec, MdevVendorDevice } from './driver.js';
import { MdevDevice } from './device.js';
import type { MdevParent } from './parent.js';
import { generateMdevUuid, parseMdevUuid } from './uuid.js';

/**
 * One directory of mdev_supported_types (e.g. mtty-2): its attributes and
 * the `create` operation. Names follow the kernel: `<parent>-<group>`.
 */
export class MdevType<V extends MdevVendorDevice = MdevVendorDevice> {
  /**
   * Directory name, e.g. "mtty-2": dev_driver_string(parent) + "-" + group.
   * The mtty parent has no driver and no bus, so that string is its class name.
   */
  readonly id: string;

  constructor(
    readonly parent: MdevParent<V>,
    readonly spec: MdevTypeSpec,
    private readonly driver: MdevDriver<V>,
  ) {
    this.id = `${parent.className}-${spec.sysfsName}`;
  }

  /** The `name` attribute. */
  get name(): string {
    return this.spec.prettyName;
  }

  get description(): string | undefined {
    return this.spec.description;
  }

  /** The `device_api` attribute ("vfio-pci"). */
  get deviceApi(): string {
    return this.driver.deviceApi;
  }

  get availableInstances(): number {
    return this.driver.availableInstances(this.spec);
  }

  /** Devices of this type that exist (including ones being removed, as sysfs shows them). */
  get devices(): MdevDevice<V>[] {
    return this.parent.bus.devicesOf(this);
  }

  get sysfsPath(): string {
    return `${this.parent.sysfsPath}/mdev_supported_types/${this.id}`;
  }

  /**
   * The `create` attribute. `uuid` is the text written (36 bytes, or 37 with
   * a newline); without it a random v4 UUID is chosen as mdevctl does.
   * EINVAL bad format, EEXIST UUID in use on any parent, ENODEV parent going
   * away, ENOSPC (or other vendor errors) from the vendor's probe.
   */
  create(uuid?: string): MdevDevice<V> {
    const name = uuid === undefined ? generateMdevUuid() : parseMdevUuid(uuid);
    if (!this.parent.registered) fail('ENODEV', `parent ${this.parent.name} is being unregistered`);
    const bus = this.parent.bus;
    // Reserve the name first (the kernel's mdev_list check) so a failing probe cannot leave a half device.
    const device = bus.reserve(name, () => new MdevDevice<V>(name, this, this.parent, (d) => bus.forget(d)));
    try {
      device.attach(this.driver.probe(device, this));
    } catch (e) {
      bus.forget(device);
      throw e;
    }
    bus.announce(device, 'add');
    return device;
  }
}
