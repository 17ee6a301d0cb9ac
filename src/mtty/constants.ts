/** Names mtty shows to users (mtty-facts §1). */
export const MTTY_NAME = 'mtty';
/** MAX_MTTYS: the global port pool. */
export const MTTY_DEFAULT_PORTS = 24;
/** The `device_api` attribute of every type. */
export const VFIO_DEVICE_API_PCI_STRING = 'vfio-pci';
/** Where the parent device lives: a class device with no bus. */
export function mttyParentPath(name: string): string {
  return `/sys/devices/virtual/${MTTY_NAME}/${name}`;
}
