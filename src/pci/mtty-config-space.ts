import { fail } from '../errors/errno.js';
import {
  MTTY_CONFIG_SPACE_SIZE,
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_1,
  PCI_BASE_ADDRESS_2,
  PCI_BASE_ADDRESS_3,
  PCI_BASE_ADDRESS_4,
  PCI_CFG_SPACE_SIZE,
  PCI_INTERRUPT_LINE,
  buildMttyConfigImage,
} from './mtty-config-image.js';

/** Every mtty BAR is an 8-byte I/O window (one 16550 register file). */
export const MTTY_IO_BAR_SIZE = 8;
/**
 * The value a sizing write (all ones) leaves before the type bits are put
 * back: ~(size - 1). Reads back as 0xfffffff9 once the I/O bit is ORed in.
 */
const BAR_SIZE_MASK = (~(MTTY_IO_BAR_SIZE - 1)) >>> 0;

/**
 * mtty's config space with its write rules (mtty-facts §2): the sample only
 * reacts to writes that *start* at the interrupt line or a BAR; everything
 * else (command, status, pin, ROM, vendor area) is silently ignored, which
 * is why a guest can never turn I/O decoding off.
 *
 * Past the image: the kernel copies reads straight out of its 255-byte
 * array without a bounds check, so a dword at 0xfc (the last one a full
 * config dump reads: lspci -xxx, hexdump of sysfs config) or a byte at 0xff
 * reads past the allocation; the guest sees zeros and nothing is logged.
 * Here any access inside the 256 bytes of PCI config space succeeds: bytes
 * past 0xfe read 0 and writes there are dropped, as the sample drops every
 * write it does not handle. An access that does not fit in 0x00-0xff is
 * EINVAL (the sample would read the heap; we refuse).
 */
export class MttyConfigSpace {
  private bytesNow: Uint8Array;

  constructor(readonly nrPorts: number) {
    this.bytesNow = buildMttyConfigImage(nrPorts);
  }

  get size(): number {
    return MTTY_CONFIG_SPACE_SIZE;
  }

  /** Little-endian read of 1, 2 or 4 bytes. */
  read(offset: number, size: 1 | 2 | 4): number {
    this.checkRange(offset, size);
    let v = 0;
    // Index 0xff is past the image: undefined in a Uint8Array, read as 0.
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (this.bytesNow[offset + i] ?? 0);
    return v;
  }

  /** A guest/VMM config write; `value` is the little-endian value of the access. */
  write(offset: number, size: 1 | 2 | 4, value: number): void {
    this.checkRange(offset, size);
    switch (offset) {
      case PCI_INTERRUPT_LINE:
        // Only the first byte is taken, whatever the width: 0x3d (pin) stays hard-wired.
        this.bytesNow[PCI_INTERRUPT_LINE] = value & 0xff;
        return;
      case PCI_BASE_ADDRESS_0:
        this.writeBar(PCI_BASE_ADDRESS_0, value);
        return;
      case PCI_BASE_ADDRESS_1:
        // A single-port device has no BAR1: it must keep reading 0 so the guest sees one port.
        if (this.nrPorts > 1) this.writeBar(PCI_BASE_ADDRESS_1, value);
        else this.setDword(PCI_BASE_ADDRESS_1, 0);
        return;
      case PCI_BASE_ADDRESS_2:
      case PCI_BASE_ADDRESS_3:
      case PCI_BASE_ADDRESS_4:
        // Unimplemented BARs answer sizing with 0, which is how a BIOS learns they are absent.
        this.setDword(offset, 0);
        return;
      default:
        // The sample logs "not handled" and drops the write; the guest cannot tell.
        return;
    }
  }

  /** A copy of all 255 bytes (lspci -xxx, snapshots). */
  bytes(): Uint8Array {
    return this.bytesNow.slice();
  }

  /** Replace the image (snapshot restore); EINVAL unless exactly 255 bytes. */
  load(image: Uint8Array): void {
    if (image.length !== MTTY_CONFIG_SPACE_SIZE) {
      fail('EINVAL', `a config space image is ${MTTY_CONFIG_SPACE_SIZE} bytes, not ${image.length}`);
    }
    this.bytesNow = image.slice();
  }

  /** Back to the bytes mtty builds at device creation. */
  reset(): void {
    this.bytesNow = buildMttyConfigImage(this.nrPorts);
  }

  /** The address a BIOS assigned to port `i`'s BAR (type bits stripped). */
  barAddress(port: number): number {
    return (this.read(PCI_BASE_ADDRESS_0 + 4 * port, 4) & BAR_SIZE_MASK) >>> 0;
  }

  get interruptLine(): number {
    return this.bytesNow[PCI_INTERRUPT_LINE];
  }

  private writeBar(offset: number, value: number): void {
    let v = value >>> 0;
    // All ones is a sizing probe: answer with the size mask, as a real BAR decoder would.
    if (v === 0xffffffff) v = BAR_SIZE_MASK;
    // The low two bits (I/O space indicator) are read-only; other values are stored as written.
    v = (v | (this.bytesNow[offset] & 0x3)) >>> 0;
    this.setDword(offset, v);
  }

  private setDword(offset: number, v: number): void {
    for (let i = 0; i < 4; i++) this.bytesNow[offset + i] = (v >>> (8 * i)) & 0xff;
  }

  private checkRange(offset: number, size: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > PCI_CFG_SPACE_SIZE) {
      fail(
        'EINVAL',
        `PCI config space is 0x${PCI_CFG_SPACE_SIZE.toString(16)} bytes (0x00-0xff); a ${size}-byte access at 0x${offset.toString(16)} does not fit`,
      );
    }
  }
}
