/**
 * The one lspci renderer: the lines `lspci -vv` (or `-vvnn`) prints for one
 * PCI function, decoded from its config bytes, followed by the `-xx` hex dump.
 * Everything comes from bytes read from the device just now, so a wrong byte
 * in a config space shows up as a wrong word exactly where a student compares
 * with the kernel doc. What lspci learns from sysfs rather than config space
 * (the IRQ the kernel routed, BAR sizes, the bound driver) comes in `fn`.
 *
 * Source: pciutils lspci.c (show_htype0, show_bases) and pci.ids names.
 */
import { lspciHexDump } from './lspci-dump.js';

/** What lspci knows about a function besides its config bytes (sysfs: irq, resource, driver). */
export interface LspciFunction {
  /** The address lspci prints first, e.g. "00:05.0". */
  name: string;
  /** Slot number for "Physical Slot: N" (QEMU exposes it through ACPI); omit for none. */
  slot?: number;
  /** The IRQ the kernel routed (sysfs `irq`), 0 for none. */
  irq: number;
  /** BAR sizes in bytes by BAR index (sysfs `resource`); BARs absent here print no size. */
  bars: ReadonlyArray<{ index: number; size: number }>;
  /** "Kernel driver in use: ..." text, or null for no line. */
  driver: string | null;
}

/** Options of formatLspci: Physical Slot line, `-nn` numeric IDs, hex dump length in 16-byte lines. */
export interface LspciOptions {
  /** Print "Physical Slot: N" when `fn.slot` is known (default true). */
  physicalSlot?: boolean;
  /** `-nn`: class and IDs as "Serial controller [0700]: Device [4348:3253]". */
  numeric?: boolean;
  /** Lines of hex dump (16 bytes each): 4 for -xx (default), 16 for -xxx, 0 for none. */
  hexLines?: number;
}

/** The class / prog-if names pci.ids gives for what a serial card can be. */
const CLASS_NAMES: Record<number, string> = {
  0x0700: 'Serial controller',
  0x0701: 'Parallel controller',
  0x0780: 'Communication controller',
};
const PROG_IF_NAMES: Record<number, Record<number, string>> = {
  0x0700: { 0x00: '8250', 0x01: '16450', 0x02: '16550', 0x03: '16650', 0x04: '16750', 0x05: '16850', 0x06: '16950' },
};

const flag = (v: number, bit: number) => ((v & bit) !== 0 ? '+' : '-');
const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');

/**
 * Render `config` (at least the 64-byte header; shorter images read as 0)
 * as lspci would. Returns the text with a trailing newline.
 */
export function formatLspci(config: Uint8Array, fn: LspciFunction, opts: LspciOptions = {}): string {
  const b = (o: number) => config[o] ?? 0;
  const w = (o: number) => b(o) | (b(o + 1) << 8);
  const vendor = w(0x00);
  const device = w(0x02);
  const cmd = w(0x04);
  const status = w(0x06);
  const rev = b(0x08);
  const progIf = b(0x09);
  const cls = w(0x0a);
  const subVendor = w(0x2c);
  const subDevice = w(0x2e);
  const pin = b(0x3d);
  const ids = (v: number, d: number) => (opts.numeric ? `Device [${hex(v, 4)}:${hex(d, 4)}]` : `Device ${hex(v, 4)}:${hex(d, 4)}`);

  const out: string[] = [];
  const known = CLASS_NAMES[cls];
  let className = known ?? `Class ${hex(cls, 4)}`;
  if (known && opts.numeric) className += ` [${hex(cls, 4)}]`;
  const progName = PROG_IF_NAMES[cls]?.[progIf];
  let head = `${fn.name} ${className}: ${ids(vendor, device)}`;
  if (rev) head += ` (rev ${hex(rev, 2)})`;
  if (progIf) head += ` (prog-if ${hex(progIf, 2)}${progName ? ` [${progName}]` : ''})`;
  out.push(head);
  if (subVendor || subDevice) out.push(`\tSubsystem: ${ids(subVendor, subDevice)}`);
  if ((opts.physicalSlot ?? true) && fn.slot !== undefined) out.push(`\tPhysical Slot: ${fn.slot}`);
  out.push(
    `\tControl: I/O${flag(cmd, 0x1)} Mem${flag(cmd, 0x2)} BusMaster${flag(cmd, 0x4)} SpecCycle${flag(cmd, 0x8)} ` +
      `MemWINV${flag(cmd, 0x10)} VGASnoop${flag(cmd, 0x20)} ParErr${flag(cmd, 0x40)} Stepping${flag(cmd, 0x80)} ` +
      `SERR${flag(cmd, 0x100)} FastB2B${flag(cmd, 0x200)} DisINTx${flag(cmd, 0x400)}`,
  );
  const devsel = ['fast', 'medium', 'slow', '??'][(status >> 9) & 3];
  out.push(
    `\tStatus: Cap${flag(status, 0x10)} 66MHz${flag(status, 0x20)} UDF${flag(status, 0x40)} FastB2B${flag(status, 0x80)} ` +
      `ParErr${flag(status, 0x100)} DEVSEL=${devsel} >TAbort${flag(status, 0x800)} <TAbort${flag(status, 0x1000)} ` +
      `<MAbort${flag(status, 0x2000)} >SERR${flag(status, 0x4000)} <PERR${flag(status, 0x8000)} INTx${flag(status, 0x8)}`,
  );
  if (pin || fn.irq) out.push(`\tInterrupt: pin ${pin ? String.fromCharCode(0x40 + pin) : '?'} routed to IRQ ${fn.irq}`);
  for (let i = 0; i < 6; i++) {
    const raw = (b(0x10 + 4 * i) | (b(0x11 + 4 * i) << 8) | (b(0x12 + 4 * i) << 16) | (b(0x13 + 4 * i) << 24)) >>> 0;
    const size = fn.bars.find((x) => x.index === i)?.size ?? 0;
    if (!raw && !size) continue;
    if (raw & 1) {
      // show_bases: the address, or <unassigned> when it is 0 and I/O decoding is off.
      const addr = raw & ~0x3;
      let line = `\tRegion ${i}: I/O ports at ${addr || cmd & 1 ? hex(addr, 4) : '<unassigned>'}`;
      if (!(cmd & 1)) line += ' [disabled]';
      if (size) line += ` [size=${size}]`;
      out.push(line);
    } else {
      out.push(`\tRegion ${i}: Memory at ${hex(raw & ~0xf, 8)} (32-bit, non-prefetchable)${size ? ` [size=${size}]` : ''}`);
    }
  }
  if (fn.driver) out.push(`\tKernel driver in use: ${fn.driver}`);
  const hexLines = opts.hexLines ?? 4;
  if (hexLines > 0) out.push(lspciHexDump(config, hexLines));
  return out.join('\n') + '\n';
}
