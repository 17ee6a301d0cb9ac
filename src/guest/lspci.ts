/**
 * `lspci -s <slot> -xxvv` as the guest would print it for a function: the
 * decoded header (the lines the kernel doc shows for mtty) followed by the
 * 64-byte hex dump. Everything is decoded from config bytes read from the
 * device just now, so a wrong byte in our config space shows up as a wrong
 * word here, exactly where a student compares with the doc.
 */
import { lspciHexDump } from '../pci/lspci-dump.js';
import { cfgBytes, pciName, type PciFunction } from './pci-function.js';

/** The handful of class / prog-if names pci.ids gives for what mtty can be. */
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

export interface LspciOptions {
  /** Print "Physical Slot: N" (QEMU exposes the slot number through ACPI). */
  physicalSlot?: boolean;
}

/** Decode an already-read config image; `fn` supplies what lspci learns from sysfs (IRQ, sizes, driver). */
export function formatLspci(fn: PciFunction, config: Uint8Array, opts: LspciOptions = {}): string {
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

  const out: string[] = [];
  const className = CLASS_NAMES[cls] ?? `Class ${hex(cls, 4)}`;
  const progName = PROG_IF_NAMES[cls]?.[progIf];
  let head = `${pciName(fn, false)} ${className}: Device ${hex(vendor, 4)}:${hex(device, 4)}`;
  if (rev) head += ` (rev ${hex(rev, 2)})`;
  if (progIf) head += ` (prog-if ${hex(progIf, 2)}${progName ? ` [${progName}]` : ''})`;
  out.push(head);
  if (subVendor || subDevice) out.push(`\tSubsystem: Device ${hex(subVendor, 4)}:${hex(subDevice, 4)}`);
  if (opts.physicalSlot ?? true) out.push(`\tPhysical Slot: ${fn.slot}`);
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
    const bar = fn.bars.find((x) => x.index === i);
    if (!raw && !bar) continue;
    if (raw & 1) {
      const addr = raw & ~0x3;
      let line = `\tRegion ${i}: I/O ports at ${addr || cmd & 1 ? hex(addr, 4) : '<unassigned>'}`;
      if (!(cmd & 1)) line += ' [disabled]';
      if (bar?.size) line += ` [size=${bar.size}]`;
      out.push(line);
    } else {
      out.push(`\tRegion ${i}: Memory at ${hex(raw & ~0xf, 8)} (32-bit, non-prefetchable)${bar?.size ? ` [size=${bar.size}]` : ''}`);
    }
  }
  if (fn.driver) out.push(`\tKernel driver in use: ${fn.driver}`);
  out.push(lspciHexDump(config, 4));
  return out.join('\n') + '\n';
}

/** Read the function's config space now and format it. */
export function lspci(fn: PciFunction, opts: LspciOptions = {}): string {
  return formatLspci(fn, cfgBytes(fn.device, 64), opts);
}
