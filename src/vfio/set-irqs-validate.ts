import { fail } from '../errors/errno.js';
import type { IrqSet, IrqSink } from './api.js';
import {
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
  VFIO_PCI_NUM_IRQS,
} from './uapi.js';

const U32_MAX = 0xffffffff;

/** The payload of a SET_IRQS call after validation, by data type. */
export type IrqSetData =
  | { type: 'none' }
  | { type: 'bool'; values: boolean[] }
  | { type: 'eventfd'; sinks: (IrqSink | null)[] };

/**
 * The eventfd lookup (eventfd_ctx_fdget): done by the driver only where it
 * binds an fd, not by the core's common checks, so a bad "fd" on a path that
 * never binds (MSI-X, MASK via eventfd, a refused TRIGGER) gets that path's errno.
 */
export function checkIrqSink(v: IrqSink | null, i = 0): IrqSink | null {
  if (v === null || v === undefined) return null; // fd -1
  if (typeof v !== 'object' || typeof (v as IrqSink).signal !== 'function') {
    fail('EBADF', `SET_IRQS eventfd ${i} is not an IrqSink (an object with signal())`);
  }
  return v;
}

/**
 * The vfio core's common SET_IRQS checks (vfio_set_irqs_validate_and_prepare),
 * done before any driver code runs: 32-bit fields, a known index, no unknown
 * flag bits, exactly one data type, start + count within `numIrqs`, data with
 * at least `count` entries; EINVAL otherwise (drivers/vfio/vfio_main.c). Returns
 * the payload by type. `numIrqs` is what the driver passes: mtty passes the
 * num_irqs it cached at GET_INFO, so before GET_INFO it is 0 and every
 * SET_IRQS fails EINVAL (the sample's quirk, reproduced).
 */
export function validateIrqSet(set: IrqSet, numIrqs: number): IrqSetData {
  const { flags, index, start, count } = set;
  for (const [name, v] of [['flags', flags], ['index', index], ['start', start], ['count', count]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > U32_MAX) fail('EINVAL', `SET_IRQS ${name} must be a 32-bit unsigned integer`);
  }
  if (index >= VFIO_PCI_NUM_IRQS) fail('EINVAL', `IRQ index ${index} does not exist (vfio-pci has ${VFIO_PCI_NUM_IRQS})`);
  if (count >= U32_MAX - start) fail('EINVAL', 'SET_IRQS start + count overflows');
  if (flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)) {
    fail('EINVAL', `SET_IRQS flags 0x${flags.toString(16)} contain unknown bits`);
  }
  if (start >= numIrqs || start + count > numIrqs) {
    fail(
      'EINVAL',
      numIrqs === 0
        ? 'SET_IRQS before VFIO_DEVICE_GET_INFO: mtty only accepts IRQ calls after GET_INFO told it how many IRQ indexes exist'
        : `SET_IRQS start ${start} + count ${count} is beyond the ${numIrqs} IRQ indexes`,
    );
  }
  switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE:
      return { type: 'none' };
    case VFIO_IRQ_SET_DATA_BOOL: {
      const data = payload(set, count);
      return { type: 'bool', values: data.map((v) => Boolean(v)) };
    }
    case VFIO_IRQ_SET_DATA_EVENTFD: {
      const data = payload(set, count);
      // Entries are checked with checkIrqSink where they are bound.
      return { type: 'eventfd', sinks: data as (IrqSink | null)[] };
    }
    default:
      fail('EINVAL', 'SET_IRQS needs exactly one of DATA_NONE, DATA_BOOL, DATA_EVENTFD');
  }
}

function payload(set: IrqSet, count: number): readonly unknown[] {
  const data = set.data as readonly unknown[] | undefined;
  if (!Array.isArray(data) || data.length < count) {
    fail('EINVAL', `SET_IRQS data must hold at least count (${count}) entries`);
  }
  return data.slice(0, count);
}
