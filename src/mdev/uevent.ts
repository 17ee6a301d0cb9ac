/**
 * A kobject uevent as udev would see it. mdevctl's udev rule starts "auto"
 * devices when a parent reports MDEV_STATE=registered, so the bus emits
 * these on its 'uevent' event for anyone playing udev.
 */
export interface MdevUevent {
  action: 'add' | 'remove' | 'change';
  /** sysfs path without the /sys prefix, as in DEVPATH. */
  devpath: string;
  env: Record<string, string>;
}
