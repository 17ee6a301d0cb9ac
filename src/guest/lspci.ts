/**
 * `lspci -s <slot> -xxvv` as the guest would print it for a function it
 * enumerated: the renderer is src/pci/lspci.ts; this file only supplies what
 * the guest's "sysfs" knows (address, routed IRQ, BAR sizes, bound driver).
 */
import { formatLspci, type LspciFunction, type LspciOptions } from '../pci/lspci.js';
import { cfgBytes, pciName, type PciFunction } from './pci-function.js';

export type { LspciOptions };

/** The guest's view of `fn` as src/pci's renderer takes it. */
export function lspciFunction(fn: PciFunction): LspciFunction {
  return { name: pciName(fn, false), slot: fn.slot, irq: fn.irq, bars: fn.bars, driver: fn.driver };
}

/** Read the function's config space now and format it. */
export function lspci(fn: PciFunction, opts: LspciOptions = {}): string {
  return formatLspci(cfgBytes(fn.device, 64), lspciFunction(fn), opts);
}
