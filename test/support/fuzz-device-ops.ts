/**
 * Random VFIO-level operations on an open mtty-2 for the device fuzz test:
 * what a VMM and its guest can do through the VfioDevice API (BAR and config
 * accesses of every width, some deliberately invalid, fd-style reads/writes,
 * SET_IRQS for INTx/MSI, reset) plus virtual time. Ops are plain data
 * (printable on failure); applyDeviceOp returns what the op made visible, or
 * the errno it failed with.
 */
import { isMttyError } from '../../src/errors/errno.js';
import type { ManualClock } from '../../src/clock/clock.js';
import type { IrqSink, VfioDevice } from '../../src/vfio/api.js';
import {
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  regionOffset,
} from '../../src/vfio/uapi.js';
import type { Prng } from './fuzz-prng.js';

export type DeviceOp =
  | { op: 'read'; region: number; off: number; size: 1 | 2 | 4 }
  | { op: 'write'; region: number; off: number; size: 1 | 2 | 4; value: number }
  | { op: 'readBytes'; region: number; off: number; len: number }
  | { op: 'writeBytes'; region: number; off: number; bytes: number[] }
  | { op: 'irq'; index: 0 | 1; action: 'enable' | 'disable' | 'mask' | 'unmask' | 'trigger' }
  | { op: 'reset' }
  | { op: 'advance'; ns: number };

const REG_VALUES = [0x00, 0x01, 0x02, 0x03, 0x07, 0x08, 0x0b, 0x0f, 0x10, 0x80, 0x83, 0xc1, 0xc7, 0xff];
const SIZES = [1, 2, 4] as const;

export function randomDeviceOp(r: Prng): DeviceOp {
  switch (r.weighted([40, 35, 3, 3, 8, 1, 10])) {
    case 0: {
      // Mostly BAR0/BAR1 bytes; sometimes config space, an empty region or a bad width/offset.
      const region = r.weighted([10, 10, 3, 1]) === 3 ? 2 : [0, 1, 7][r.weighted([10, 10, 3])]!;
      const size = r.chance(0.85) ? 1 : r.pick(SIZES);
      return { op: 'read', region, off: r.below(region === 7 ? 260 : 9), size };
    }
    case 1: {
      const region = r.chance(0.95) ? r.pick([0, 1]) : r.pick([2, 7]);
      const size = r.chance(0.9) ? 1 : r.pick(SIZES);
      const value = size === 1 ? (r.chance(0.7) ? r.pick(REG_VALUES) : r.byte()) : r.u32() % 2 ** (8 * size);
      return { op: 'write', region, off: region === 7 ? r.pick([0x04, 0x10, 0x14, 0x3c, 0x3d, r.below(256)]) : r.below(9), size, value };
    }
    case 2:
      return { op: 'readBytes', region: r.pick([0, 1, 7]), off: r.below(8), len: r.below(8) };
    case 3:
      return { op: 'writeBytes', region: r.pick([0, 1]), off: r.below(8), bytes: Array.from({ length: r.below(6) }, () => r.byte()) };
    case 4:
      return { op: 'irq', index: r.pick([0, 1] as const), action: r.pick(['enable', 'disable', 'mask', 'unmask', 'unmask', 'trigger'] as const) };
    case 5:
      return { op: 'reset' };
    default:
      // Round steps hit deadlines exactly; fractional ones exercise float time arithmetic.
      return { op: 'advance', ns: r.chance(0.7) ? r.pick([0, 100_000, 347_222, 1_041_667, 4_166_667, 50_000_000]) : r.below(10_000_000) + r.below(1000) / 1000 };
  }
}

/** Apply one op; returns its visible result, or 'E<code>' when it failed with an MttyError. Other errors propagate. */
export function applyDeviceOp(dev: VfioDevice, clock: ManualClock, sinks: { intx: IrqSink; msi: IrqSink }, o: DeviceOp): unknown {
  try {
    switch (o.op) {
      case 'read':
        return dev.read(regionOffset(o.region) + o.off, o.size);
      case 'write':
        dev.write(regionOffset(o.region) + o.off, o.size, o.value);
        return null;
      case 'readBytes':
        return [...dev.readBytes(regionOffset(o.region) + o.off, o.len)];
      case 'writeBytes':
        return dev.writeBytes(regionOffset(o.region) + o.off, Uint8Array.from(o.bytes));
      case 'irq': {
        const base = { index: o.index, start: 0 };
        if (o.action === 'enable') dev.setIrqs({ ...base, count: 1, flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, data: [o.index === 0 ? sinks.intx : sinks.msi] });
        else if (o.action === 'disable') dev.setIrqs({ ...base, count: 0, flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER });
        else if (o.action === 'trigger') dev.setIrqs({ ...base, count: 1, flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER });
        else dev.setIrqs({ ...base, count: 1, flags: VFIO_IRQ_SET_DATA_NONE | (o.action === 'mask' ? VFIO_IRQ_SET_ACTION_MASK : VFIO_IRQ_SET_ACTION_UNMASK) });
        return null;
      }
      case 'reset':
        dev.reset();
        return null;
      case 'advance':
        clock.advance(o.ns);
        return null;
    }
  } catch (e) {
    if (isMttyError(e)) return `E${e.code}`;
    throw e;
  }
}
