import { EventEmitter } from 'node:events';
import { fail } from '../errors/errno.js';
import type { MdevDevice } from './device.js';
import type { MdevDriver, MdevVendorDevice } from './driver.js';
import { MdevParent, type MdevParentPlacement } from './parent.js';
import type { MdevType } from './type.js';
import type { MdevUevent } from './uevent.js';

/**
 * The mdev bus: every parent and every mediated device. UUIDs are one global
 * namespace (the kernel checks duplicates against mdev_list, across parents),
 * so EEXIST comes from here. Emits 'uevent' (MdevUevent) the way udev sees
 * parent registration (MDEV_STATE=registered/unregistered) and device add/remove.
 */
export class MdevBus<V extends MdevVendorDevice = MdevVendorDevice> extends EventEmitter {
  private parentsByName = new Map<string, MdevParent<V>>();
  private devicesByUuid = new Map<string, MdevDevice<V>>();

  /** mdev_register_parent. EEXIST if a parent of that name is registered. */
  registerParent<W extends V>(placement: MdevParentPlacement, driver: MdevDriver<W>): MdevParent<W> {
    if (this.parentsByName.has(placement.name)) fail('EEXIST', `a parent named ${placement.name} is already registered`);
    const parent = new MdevParent<W>(this as unknown as MdevBus, placement, driver);
    this.parentsByName.set(parent.name, parent as unknown as MdevParent<V>);
    this.emitUevent({ action: 'change', devpath: stripSys(parent.sysfsPath), env: { MDEV_STATE: 'registered' } });
    return parent;
  }

  get parents(): MdevParent<V>[] {
    return [...this.parentsByName.values()];
  }

  parent(name: string): MdevParent<V> | undefined {
    return this.parentsByName.get(name);
  }

  /** All devices, in creation order. */
  get devices(): MdevDevice<V>[] {
    return [...this.devicesByUuid.values()];
  }

  device(uuid: string): MdevDevice<V> | undefined {
    return this.devicesByUuid.get(uuid.toLowerCase());
  }

  devicesOf<W extends MdevVendorDevice>(type: MdevType<W>): MdevDevice<W>[] {
    return this.devices.filter((d) => d.type === (type as unknown)) as unknown as MdevDevice<W>[];
  }

  /** Claim a UUID for a device under construction; EEXIST if any parent uses it. */
  reserve<W extends MdevVendorDevice>(uuid: string, make: () => MdevDevice<W>): MdevDevice<W> {
    if (this.devicesByUuid.has(uuid)) fail('EEXIST', `an mdev with UUID ${uuid} already exists`);
    const device = make();
    this.devicesByUuid.set(uuid, device as unknown as MdevDevice<V>);
    return device;
  }

  /** Drop a device from the namespace (failed create, or removal finished). */
  forget<W extends MdevVendorDevice>(device: MdevDevice<W>): void {
    if (this.devicesByUuid.get(device.uuid) !== (device as unknown)) return;
    this.devicesByUuid.delete(device.uuid);
    if (device.state === 'gone') this.announce(device, 'remove');
  }

  announce<W extends MdevVendorDevice>(device: MdevDevice<W>, action: 'add' | 'remove'): void {
    this.emitUevent({
      action,
      devpath: stripSys(device.sysfsPath),
      env: { MDEV_TYPE: device.type.id, MDEV_UUID: device.uuid },
    });
  }

  /** Called by MdevParent.unregister once its children are gone. */
  async dropParent<W extends MdevVendorDevice>(parent: MdevParent<W>): Promise<void> {
    if (this.parentsByName.get(parent.name) !== (parent as unknown)) return;
    this.parentsByName.delete(parent.name);
    this.emitUevent({ action: 'change', devpath: stripSys(parent.sysfsPath), env: { MDEV_STATE: 'unregistered' } });
  }

  private emitUevent(ev: MdevUevent): void {
    this.emit('uevent', ev);
  }
}

function stripSys(path: string): string {
  return path.startsWith('/sys/') ? path.slice(4) : path;
}
