import { fail } from '../errors/errno.js';
import type { IrqSet, IrqSink } from '../vfio/api.js';
import { checkIrqSink, validateIrqSet, type IrqSetData } from '../vfio/set-irqs-validate.js';
import {
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
} from '../vfio/uapi.js';

/** Which IRQ index is live: mtty routes every interrupt to at most one. */
export type IrqMode = 'none' | 'intx' | 'msi';

/** Counters for inspectors and tests: what was signalled and what the mask swallowed. */
export interface IrqStats {
  intxSignals: number;
  msiSignals: number;
  dropped: number;
}

/**
 * mtty's interrupt routing and its SET_IRQS rules (the v6.7 overhaul,
 * mtty-facts §4): INTx is automasked after each delivery and needs an
 * UNMASK; MSI is never masked; switching INTx -> MSI needs a disable first.
 *
 * Level semantics on UNMASK: the kernel sample only drops events that come
 * while masked. Here, when a port's profile declares a level INTR
 * (UartProfileDefinition.irq 'level', the 16550 model), the line is a level:
 * if it is still high at UNMASK we signal again at once, as vfio-pci does for
 * a physical INTx line. 'pulse' ports behave exactly like the sample.
 */
export class MttyInterrupts {
  mode: IrqMode = 'none';
  masked = false;
  readonly stats: IrqStats = { intxSignals: 0, msiSignals: 0, dropped: 0 };
  private intx: IrqSink | null = null;
  private msi: IrqSink | null = null;

  constructor(private readonly lineHigh: () => boolean) {}

  /** One interrupt event from the device (or a software trigger). */
  raise(): void {
    if (this.mode === 'msi' && this.msi) {
      this.stats.msiSignals++;
      this.msi.signal();
    } else if (this.mode === 'intx' && this.intx && !this.masked) {
      this.masked = true; // automask: the user acknowledges with UNMASK
      this.stats.intxSignals++;
      this.intx.signal();
    } else {
      this.stats.dropped++;
    }
  }

  /** VFIO_DEVICE_SET_IRQS after the core's checks; `numIrqs` is the value cached at GET_INFO. */
  setIrqs(set: IrqSet, numIrqs: number): void {
    const data = validateIrqSet(set, numIrqs);
    const action = set.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
    switch (set.index) {
      case VFIO_PCI_INTX_IRQ_INDEX:
        if (action === VFIO_IRQ_SET_ACTION_MASK || action === VFIO_IRQ_SET_ACTION_UNMASK) {
          this.intxMask(action === VFIO_IRQ_SET_ACTION_MASK, set, data);
        } else if (action === VFIO_IRQ_SET_ACTION_TRIGGER) {
          this.trigger('intx', set, data);
        }
        // No action bit, or several: the sample does nothing and reports success.
        return;
      case VFIO_PCI_MSI_IRQ_INDEX:
        if (action === VFIO_IRQ_SET_ACTION_MASK || action === VFIO_IRQ_SET_ACTION_UNMASK) {
          fail('ENOTTY', 'MSI cannot be masked on mtty (the MSI IRQ info has no MASKABLE flag)');
        } else if (action === VFIO_IRQ_SET_ACTION_TRIGGER) {
          this.trigger('msi', set, data);
        }
        return;
      default:
        fail('ENOTTY', `mtty implements only INTx and MSI; IRQ index ${set.index} cannot be configured`);
    }
  }

  /** Last close: both eventfds dropped, mask cleared, no index live. */
  disableAll(): void {
    this.intx = null;
    this.msi = null;
    this.masked = false;
    this.mode = 'none';
  }

  private intxMask(mask: boolean, set: IrqSet, data: IrqSetData): void {
    const what = mask ? 'MASK' : 'UNMASK';
    if (this.mode !== 'intx') fail('EINVAL', `INTx ${what} needs INTx enabled first (TRIGGER with an eventfd)`);
    if (set.start !== 0 || set.count !== 1) fail('EINVAL', `INTx ${what} takes start 0 and count 1`);
    if (data.type === 'eventfd') {
      fail('ENOTTY', `INTx ${what} through an eventfd (irqfd) is not supported by mtty; use DATA_NONE or DATA_BOOL`);
    }
    if (data.type === 'bool' && !data.values[0]) return;
    if (mask) {
      this.masked = true;
      return;
    }
    this.masked = false;
    // A level that is still asserted interrupts again, as a real INTx line would.
    if (this.lineHigh()) this.raise();
  }

  private trigger(index: 'intx' | 'msi', set: IrqSet, data: IrqSetData): void {
    const name = index === 'intx' ? 'INTx' : 'MSI';
    if (this.mode === index && set.count === 0 && data.type === 'none') {
      this.disable(index);
      return;
    }
    if (this.mode !== index && this.mode !== 'none') {
      fail('EINVAL', `${this.mode === 'intx' ? 'INTx' : 'MSI'} is enabled; disable it (TRIGGER, DATA_NONE, count 0) before enabling ${name}`);
    }
    if (set.start !== 0 || set.count !== 1) fail('EINVAL', `${name} TRIGGER takes start 0 and count 1 (count 0 with DATA_NONE disables)`);
    if (data.type === 'eventfd') {
      // Checked before the old one is dropped, so a bad fd leaves the set-up as it was.
      const sink = checkIrqSink(data.sinks[0]);
      this.disable(index);
      if (sink === null) return; // fd -1: stay disabled
      if (index === 'intx') this.intx = sink;
      else this.msi = sink;
      this.mode = index;
      // A level INTx already asserted when the handler is attached fires at once (as a host IRQ line would).
      if (index === 'intx' && this.lineHigh()) this.raise();
      return;
    }
    if (this.mode !== index) fail('EINVAL', `${name} is not enabled, so it cannot be triggered`);
    if (data.type === 'bool' && !data.values[0]) return;
    this.raise(); // software (loopback) interrupt; INTx still obeys the mask
  }

  private disable(index: 'intx' | 'msi'): void {
    if (index === 'intx') {
      this.intx = null;
      this.masked = false;
    } else {
      this.msi = null;
    }
    if (this.mode === index) this.mode = 'none';
  }
}
