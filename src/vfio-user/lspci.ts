/**
 * Render a start-up report (what QEMU learned over vfio-user) the way
 * `lspci -vnn -xx` shows a device, plus the VFIO view behind it, so a user
 * can compare the socket's answer with what the guest will print.
 */
import { lspciHexDump } from '../pci/lspci-dump.js';
import { STRERROR, ERRNO, type ErrnoName } from '../errors/errno.js';
import type { StartupReport } from './qemu-startup.js';

const REGION_NAMES = ['BAR0', 'BAR1', 'BAR2', 'BAR3', 'BAR4', 'BAR5', 'ROM', 'CONFIG', 'VGA'];
const IRQ_NAMES = ['INTx', 'MSI', 'MSI-X', 'ERR', 'REQ'];

/** PCI class names lspci prints for the classes a serial device can have. */
function className(base: number, sub: number): string {
  if (base === 0x07 && sub === 0x00) return 'Serial controller';
  if (base === 0x07) return 'Communication controller';
  return `Class ${base.toString(16).padStart(2, '0')}${sub.toString(16).padStart(2, '0')}`;
}

function bits(flags: number, names: string[]): string {
  const on = names.filter((_, i) => flags & (1 << i));
  return on.length ? ` (${on.join(', ')})` : '';
}

function errnoText(errno: number): string {
  const name = (Object.keys(ERRNO) as ErrnoName[]).find((k) => ERRNO[k] === errno);
  return name ? `${name} (${STRERROR[name]})` : `errno ${errno}`;
}

const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');

export function formatLspci(r: StartupReport, socketPath: string): string {
  const c = Buffer.from(r.config);
  const lines: string[] = [];
  if (c.length >= 0x40) {
    const vendor = c.readUInt16LE(0);
    const device = c.readUInt16LE(2);
    const rev = c[8]!;
    const progIf = c[9]!;
    const sub = c[0x0a]!;
    const base = c[0x0b]!;
    const progText = base === 0x07 && sub === 0x00 && progIf === 0x02 ? ' [16550]' : '';
    lines.push(
      `00:00.0 ${className(base, sub)} [${hex(base, 2)}${hex(sub, 2)}]: Device [${hex(vendor, 4)}:${hex(device, 4)}] ` +
        `(rev ${hex(rev, 2)}) (prog-if ${hex(progIf, 2)}${progText})`,
    );
    lines.push(`\tSubsystem: Device [${hex(c.readUInt16LE(0x2c), 4)}:${hex(c.readUInt16LE(0x2e), 4)}]`);
    const pin = c[0x3d]!;
    if (pin >= 1 && pin <= 4) lines.push(`\tInterrupt: pin ${'ABCD'[pin - 1]} routed to IRQ ${c[0x3c]}`);
    for (let i = 0; i < 6; i++) {
      const size = r.regions[i]?.size ?? 0;
      if (!size) continue;
      const bar = c.readUInt32LE(0x10 + 4 * i);
      const io = (bar & 1) === 1;
      const addr = io ? bar & ~0x3 : bar & ~0xf;
      const where = addr ? hex(addr >>> 0, io ? 1 : 8) : '<unassigned>';
      lines.push(`\tRegion ${i}: ${io ? 'I/O ports' : 'Memory'} at ${where} [size=${size}]`);
    }
  } else {
    lines.push(`00:00.0 (config space is only ${c.length} bytes)`);
  }
  lines.push(`\tKernel driver in use: vfio-user (${socketPath})`);
  const caps = r.version.capabilities;
  lines.push(
    `\tvfio-user: protocol ${r.version.major}.${r.version.minor}, max_msg_fds ${caps.max_msg_fds ?? 1}, ` +
      `max_data_xfer_size ${caps.max_data_xfer_size ?? 1048576}${caps.write_multiple ? ', write_multiple' : ''}`,
  );
  lines.push(
    `\tVFIO device: flags 0x${r.info.flags.toString(16)}${bits(r.info.flags, ['RESET', 'PCI'])}, ` +
      `${r.info.numRegions} regions, ${r.info.numIrqs} IRQ indexes`,
  );
  for (const reg of r.regions) {
    lines.push(
      `\tVFIO region ${reg.index} ${REGION_NAMES[reg.index] ?? 'device-specific'}: size 0x${reg.size.toString(16)}, ` +
        `flags 0x${reg.flags.toString(16)}${bits(reg.flags, ['read', 'write', 'mmap', 'caps'])}`,
    );
  }
  for (const irq of r.irqs) {
    const name = IRQ_NAMES[irq.index] ?? `index ${irq.index}`;
    lines.push(
      irq.info
        ? `\tVFIO IRQ ${irq.index} ${name}: count ${irq.info.count}, flags 0x${irq.info.flags.toString(16)}` +
            bits(irq.info.flags, ['eventfd', 'maskable', 'automasked', 'noresize'])
        : `\tVFIO IRQ ${irq.index} ${name}: ${errnoText(irq.errno ?? 0)}`,
    );
  }
  lines.push(lspciHexDump(r.config, Math.ceil(r.config.length / 16)));
  return lines.join('\n') + '\n';
}
