/**
 * The firmware's part, as the lab's first lesson: find the device in config
 * space, size its BARs, give them I/O addresses and an interrupt line. It is
 * what produced the README's lspci view (BARs at 0xc150/0xc158, IRQ 10) and it
 * is how the guest driver learns how many ports the mdev type has (BAR1 is
 * absent on mtty-1).
 */
import type { GuestRoutine } from './guest-ops.js';

export interface BiosResult {
  vendor: number;
  device: number;
  /** Ports found = I/O BARs that answered the sizing write. */
  ports: number;
  ioBase: number[];
  irqLine: number;
}

/** The addresses SeaBIOS gave the README's guest (0xc151 = 0xc150 | I/O bit). */
const IO_BASE = 0xc150;
const IRQ_LINE = 10;

export function* biosEnumerate(out: BiosResult): GuestRoutine {
  const id = yield { kind: 'cfg-read', offset: 0x00, size: 4, why: 'vendor and device ID: is anything in this slot?' };
  out.vendor = id & 0xffff;
  out.device = id >>> 16;
  yield { kind: 'cfg-read', offset: 0x08, size: 4, why: 'class code: 07 00 02 = serial controller, 16550-compatible' };
  out.ports = 0;
  out.ioBase = [];
  for (let bar = 0; bar < 2; bar++) {
    const reg = 0x10 + bar * 4;
    yield { kind: 'cfg-write', offset: reg, size: 4, value: 0xffffffff, why: `BAR${bar} sizing: write all ones` };
    const mask = yield { kind: 'cfg-read', offset: reg, size: 4, why: `BAR${bar} sizing: the zero low bits give the size, bit 0 = I/O space` };
    if (mask === 0) continue;
    const size = (~(mask & ~0x3) + 1) >>> 0;
    const base = IO_BASE + out.ports * size;
    yield { kind: 'cfg-write', offset: reg, size: 4, value: base | 1, why: `BAR${bar}: place the ${size}-byte I/O window at ${base.toString(16)}` };
    out.ioBase.push(base);
    out.ports++;
  }
  yield { kind: 'cfg-write', offset: 0x3c, size: 1, value: IRQ_LINE, why: `interrupt line ${IRQ_LINE}: where INTA# is routed` };
  out.irqLine = IRQ_LINE;
}
