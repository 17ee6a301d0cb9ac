import type { MdevBus } from './bus.js';
import type { MdevDriver, MdevVendorDevice } from './driver.js';
import { MdevType } from './type.js';

/** Where a parent appears in sysfs. */
export interface MdevParentPlacement {
  /** Parent device name, e.g. "mtty". */
  name: string;
  /** Its class, e.g. "mtty": /sys/class/<className>/<name>; also the type prefix (mtty-1). */
  className: string;
  /** Its device directory, e.g. /sys/devices/virtual/mtty/mtty. */
  sysfsPath: string;
}

/**
 * A registered parent device (mdev_register_parent): it owns the types and
 * lives on the bus until unregistered, which first removes every child.
 */
export class MdevParent<V extends MdevVendorDevice = MdevVendorDevice> {
  readonly name: string;
  readonly className: string;
  readonly sysfsPath: string;
  readonly types: MdevType<V>[];
  registered = true;

  constructor(
    readonly bus: MdevBus,
    placement: MdevParentPlacement,
    readonly driver: MdevDriver<V>,
  ) {
    this.name = placement.name;
    this.className = placement.className;
    this.sysfsPath = placement.sysfsPath;
    this.types = driver.types.map((spec) => new MdevType<V>(this, spec, driver));
  }

  type(id: string): MdevType<V> | undefined {
    return this.types.find((t) => t.id === id);
  }

  /**
   * mdev_unregister_parent: refuse new creates, remove all children (each
   * waits for its opener to close), then leave the bus.
   */
  async unregister(): Promise<void> {
    if (!this.registered) return;
    this.registered = false;
    const removals = this.types.flatMap((t) => t.devices).map((d) => (d.state === 'active' ? d.remove() : d.whenRemoved()));
    await Promise.allSettled(removals);
    await this.bus.dropParent(this);
  }
}
