/**
 * The VMM's half of INTx for an assigned device, as QEMU's vfio-pci does it:
 * hand the device an eventfd (here an IrqSink) with SET_IRQS TRIGGER, assert
 * the guest's IRQ line when it fires, and after the guest handled the
 * interrupt (EOI) UNMASK the device. The unmask matters: mtty masks INTx
 * itself on every signal (AUTOMASKED) and drops events until unmasked.
 */
import type { IrqSink, VfioDevice } from '../vfio/api.js';
import {
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_INTX_IRQ_INDEX,
} from '../vfio/uapi.js';
import type { InterruptController } from './interrupts.js';

export interface IntxWire {
  /** Signals received from the device (eventfd writes). */
  readonly signals: number;
  /** UNMASKs sent back after EOI. */
  readonly unmasks: number;
  disconnect(): void;
}

export function wireIntx(device: VfioDevice, irqs: InterruptController, irq: number): IntxWire {
  let signals = 0;
  let unmasks = 0;
  const sink: IrqSink = {
    signal() {
      signals++;
      irqs.raise(irq);
    },
  };
  device.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_INTX_IRQ_INDEX, start: 0, count: 1, data: [sink] });
  const eoi = () => {
    unmasks++;
    device.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, index: VFIO_PCI_INTX_IRQ_INDEX, start: 0, count: 1 });
  };
  irqs.addEoi(irq, eoi);
  return {
    get signals() {
      return signals;
    },
    get unmasks() {
      return unmasks;
    },
    disconnect() {
      irqs.removeEoi(irq, eoi);
      // TRIGGER with DATA_NONE and count 0 disables INTx (drops the eventfd).
      try {
        device.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_INTX_IRQ_INDEX, start: 0, count: 0 });
      } catch {
        // The device may already be closed; nothing left to disable then.
      }
    },
  };
}
