/**
 * The 255 bytes of PCI configuration space that mtty builds for each device
 * (mtty_create_config_space in the kernel sample). A guest's lspci shows
 * these bytes, so they are reproduced exactly; see mtty-facts §2.
 */

/** MTTY_CONFIG_SPACE_SIZE: 0xff, not 0x100 (region 7 reports 255). */
export const MTTY_CONFIG_SPACE_SIZE = 0xff;

/**
 * PCI_CFG_SPACE_SIZE (include/uapi/linux/pci_regs.h): the 256 bytes a
 * guest's config accesses can reach. The sample reads past its 255-byte
 * array without a bounds check (a zeroed allocation in practice), so a
 * dword at 0xfc answers zeros rather than failing; we accept accesses up to
 * here and read 0 past the image.
 */
export const PCI_CFG_SPACE_SIZE = 0x100;

export const PCI_VENDOR_ID = 0x00;
export const PCI_COMMAND = 0x04;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_BASE_ADDRESS_1 = 0x14;
export const PCI_BASE_ADDRESS_2 = 0x18;
export const PCI_BASE_ADDRESS_3 = 0x1c;
export const PCI_BASE_ADDRESS_4 = 0x20;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

/** "HCS2" read as a little-endian dword: vendor 0x4348, device 0x3253. */
const VENDOR_DEVICE = [0x48, 0x43, 0x53, 0x32];
/** The text mtty stores in the vendor-specific area at 0x60. */
const VENDOR_TEXT = 'PCI Serial/UART';

/** Build the initial image for a device with 1 or 2 ports (BAR1 only for 2): a fresh copy the caller owns. */
export function buildMttyConfigImage(nrPorts: number): Uint8Array {
  const key = nrPorts > 1 ? 2 : 1;
  // Built once per port count and copied: every create and reset asks for one.
  const t = (templates[key] ??= composeImage(key));
  return t.slice();
}

const templates: (Uint8Array | undefined)[] = [];

function composeImage(nrPorts: number): Uint8Array {
  const c = new Uint8Array(MTTY_CONFIG_SPACE_SIZE);
  c.set(VENDOR_DEVICE, PCI_VENDOR_ID);
  c.set([0x01, 0x00], PCI_COMMAND); // I/O space enable only
  c.set([0x00, 0x02], 0x06); // status: DEVSEL medium, no capability list
  c.set([0x10, 0x02, 0x00, 0x07], 0x08); // rev 0x10, prog-if 16550, serial, simple comm.
  c.set([0x01, 0x00, 0x00, 0x00], PCI_BASE_ADDRESS_0); // I/O BAR, address not yet assigned
  if (nrPorts > 1) c.set([0x01, 0x00, 0x00, 0x00], PCI_BASE_ADDRESS_1);
  c.set(VENDOR_DEVICE, PCI_SUBSYSTEM_VENDOR_ID);
  c[PCI_INTERRUPT_PIN] = 0x01; // INTA#
  c.set([0x23, 0x00, 0x00, 0x80], 0x40); // vendor-specific dwords, as the sample stores them
  c.set([0x23, 0x00, 0x00, 0x00], 0x44);
  c.set([0x23, 0x00, 0x00, 0x00], 0x48);
  c.set([0x23, 0x00, 0x00, 0x00], 0x4c);
  for (let i = 0; i < VENDOR_TEXT.length; i++) c[0x60 + i] = VENDOR_TEXT.charCodeAt(i);
  return c;
}
