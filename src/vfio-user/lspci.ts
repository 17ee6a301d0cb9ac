/**
 * Render a start-up report (what QEMU learned over vfio-user) the way
 * `lspci -vnn -xx` shows a device, plus the VFIO view behind it, so a user
 * can compare the socket's answer with what the guest will print.
 */
import { lspciHexDump } from '../pci/lspci-dump.js';
import { formatLspci } from '../pci/lspci.js';
import { STRERROR, errnoName } from '../errors/errno.js';
import type { StartupReport } from './qemu-startup.js';

const REGION_NAMES = ['BAR0', 'BAR1', 'BAR2', 'BAR3', 'BAR4', 'BAR5', 'ROM', 'CONFIG', 'VGA'];
const IRQ_NAMES = ['INTx', 'MSI', 'MSI-X', 'ERR', 'REQ'];

function bits(flags: number, names: string[]): string {
  const on = names.filter((_, i) => flags & (1 << i));
  return on.length ? ` (${on.join(', ')})` : '';
}

function errnoText(errno: number): string {
  const name = errnoName(errno);
  return name ? `${name} (${STRERROR[name]})` : `errno ${errno}`;
}

/**
 * The report as text: the device as the guest's `lspci -vvnn` will show it
 * (src/pci's renderer; BAR sizes from the region info, no driver bound yet),
 * then what the socket answered: protocol version, device/region/IRQ info,
 * and the whole config image in hex.
 */
export function formatStartupReport(r: StartupReport, socketPath: string): string {
  const lines: string[] = [];
  const head = formatLspci(
    r.config,
    { name: '00:00.0', irq: r.config[0x3c] ?? 0, bars: r.regions.filter((g) => g.index < 6 && g.size > 0), driver: `vfio-user (${socketPath})` },
    { numeric: true, hexLines: 0 },
  );
  lines.push(head.trimEnd());
  if (r.config.length < 0x40) lines.push(`\t(config space is only ${r.config.length} bytes)`);
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
