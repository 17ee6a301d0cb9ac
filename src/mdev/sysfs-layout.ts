import { fail } from '../errors/errno.js';
import type { MdevBus } from './bus.js';
import type { MdevDevice } from './device.js';
import type { MdevVendorDevice } from './driver.js';
import type { MdevParent } from './parent.js';
import { parseRemoveValue } from './remove-value.js';
import type { MdevType } from './type.js';
import { dir, link, pathParts, readOnly, relativeTarget, writeOnly, type SysfsDir, type SysfsNode } from './sysfs-node.js';

/**
 * The /sys tree the mdev framework and a parent driver create (kernel
 * mdev_sysfs.c + the driver core), built from the bus on every lookup:
 *
 *   /sys/devices/virtual/<class>/<parent>/  mdev_supported_types/<type>/{available_instances,
 *                                            create,device_api,devices/,name[,description]},
 *                                            power/, subsystem, uevent, <uuid>/
 *   <parent>/<uuid>/                        mdev_type, remove, subsystem, <vendor group>/<attr>
 *   /sys/class/<class>/<parent>, /sys/class/mdev_bus/<parent>    links to the parent
 *   /sys/bus/mdev/devices/<uuid>                                 links to the device
 */

type AnyDevice = MdevDevice<MdevVendorDevice>;
type AnyParent = MdevParent<MdevVendorDevice>;
type AnyType = MdevType<MdevVendorDevice>;

/** Every value sysfs prints ends with a newline (sysfs_emit("%s\n")). */
const line = (v: string | number) => `${v}\n`;

export function sysfsRoot(bus: MdevBus): SysfsDir {
  return dir(() => [
    ['devices', devicesDir(bus)],
    ['class', classDir(bus)],
    ['bus', busDir(bus)],
  ]);
}

/** /sys/devices: the parents placed at their own paths, with plain directories in between. */
function devicesDir(bus: MdevBus): SysfsDir {
  const placed = bus.parents.map((p) => ({ parts: pathParts(p.sysfsPath).slice(2), parent: p })); // drop "sys","devices"
  return nested(placed, 0);
}

function nested(placed: { parts: string[]; parent: AnyParent }[], depth: number): SysfsDir {
  return dir(() => {
    const out = new Map<string, SysfsNode>();
    for (const { parts, parent } of placed) {
      const name = parts[depth];
      if (name === undefined || out.has(name)) continue;
      if (parts.length === depth + 1) out.set(name, parentDir(parent));
      else out.set(name, nested(placed.filter((x) => x.parts[depth] === name), depth + 1));
    }
    return out;
  });
}

function parentDir(parent: AnyParent): SysfsDir {
  return dir(() => {
    const entries: [string, SysfsNode][] = [
      ['mdev_supported_types', dir(() => parent.types.map((t) => [t.id, typeDir(t)]))],
      ['power', powerDir()],
      ['subsystem', link(relativeTarget(parent.sysfsPath, `/sys/class/${parent.className}`))],
      ['uevent', ueventAttr()],
    ];
    for (const t of parent.types) for (const d of t.devices) entries.push([d.uuid, deviceDir(d)]);
    return entries;
  });
}

function typeDir(type: AnyType): SysfsDir {
  return dir(() => {
    const entries: [string, SysfsNode][] = [
      ['available_instances', readOnly(() => line(type.availableInstances))],
      ['create', writeOnly((text) => (type.create(text), Buffer.byteLength(text)))],
      ['device_api', readOnly(() => line(type.deviceApi))],
      [
        'devices',
        // A removal deletes the type's link first (mdev_remove_sysfs_files), before waiting for the opener.
        dir(() =>
          type.devices
            .filter((d) => d.state === 'active')
            .map((d) => [d.uuid, link(relativeTarget(`${type.sysfsPath}/devices`, d.sysfsPath))]),
        ),
      ],
      ['name', readOnly(() => line(type.name))],
    ];
    const description = type.description;
    if (description !== undefined) entries.push(['description', readOnly(() => line(description))]);
    return entries;
  });
}

function deviceDir(device: AnyDevice): SysfsDir {
  return dir(() => {
    const entries: [string, SysfsNode][] = [
      ['subsystem', link(relativeTarget(device.sysfsPath, '/sys/bus/mdev'))],
      ['uevent', ueventAttr()],
    ];
    // The kernel deletes `mdev_type` and `remove` as soon as a removal starts.
    if (device.state === 'active') {
      entries.push(['mdev_type', link(relativeTarget(device.sysfsPath, device.type.sysfsPath))]);
      entries.push([
        'remove',
        writeOnly(async (text) => {
          if (parseRemoveValue(text)) await device.remove();
          return Buffer.byteLength(text);
        }),
      ]);
    }
    const groups = new Map<string, [string, SysfsNode][]>();
    for (const attr of device.parent.driver.deviceAttributes ?? []) {
      const list = groups.get(attr.group) ?? [];
      list.push([attr.name, readOnly(() => line(attr.show(device)))]);
      groups.set(attr.group, list);
    }
    for (const [group, attrs] of groups) entries.push([group, dir(() => attrs)]);
    return entries;
  });
}

/** What a virtual device without runtime PM shows in power/. */
function powerDir(): SysfsDir {
  return dir(() => [
    // The kernel answers EIO here: this device does not use autosuspend.
    ['autosuspend_delay_ms', { kind: 'attr', show: () => fail('EIO', 'autosuspend is not used by this device'), store: () => fail('EIO', 'autosuspend is not used by this device') }],
    ['control', { kind: 'attr', show: () => line('auto'), store: (t: string) => Buffer.byteLength(t) }],
    ['runtime_active_time', readOnly(() => line(0))],
    ['runtime_status', readOnly(() => line('unsupported'))],
    ['runtime_suspended_time', readOnly(() => line(0))],
  ]);
}

/** uevent: empty for these devices; writing an action name is accepted (re-trigger). */
function ueventAttr(): SysfsNode {
  return { kind: 'attr', show: () => '', store: (t: string) => Buffer.byteLength(t) };
}

function classDir(bus: MdevBus): SysfsDir {
  return dir(() => {
    const out = new Map<string, SysfsNode>();
    out.set('mdev_bus', dir(() => bus.parents.map((p) => [p.name, link(relativeTarget('/sys/class/mdev_bus', p.sysfsPath))])));
    for (const p of bus.parents) {
      const siblings = bus.parents.filter((q) => q.className === p.className);
      out.set(p.className, dir(() => siblings.map((q) => [q.name, link(relativeTarget(`/sys/class/${q.className}`, q.sysfsPath))])));
    }
    return out;
  });
}

function busDir(bus: MdevBus): SysfsDir {
  return dir(() => [
    [
      'mdev',
      dir(() => [
        ['devices', dir(() => bus.devices.map((d) => [d.uuid, link(relativeTarget('/sys/bus/mdev/devices', d.sysfsPath))]))],
      ]),
    ],
  ]);
}
