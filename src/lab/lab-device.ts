/**
 * One mediated device as the lab drives it: the VMM side (open the VFIO
 * device, wire INTx to an eventfd-like sink, unmask on EOI) plus the guest
 * (BIOS enumeration, the 8250 driver's routines) running on a GuestCpu, one
 * access at a time. Every performed access becomes a StepRecord: the access
 * log line, why the driver made it, and what changed in the registers.
 */
import type { MdevDevice } from '../mdev/device.js';
import type { MttyDevice } from '../mtty/device.js';
import type { VfioDevice } from '../vfio/api.js';
import {
  VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_INTX_IRQ_INDEX, regionOffset,
} from '../vfio/uapi.js';
import type { PciFunction } from '../guest/pci-function.js';
import { formatLspci } from '../pci/lspci.js';
import { lspciFunction } from '../guest/lspci.js';
import { describeAccess } from './describe-access.js';
import { explainDiff } from './explain-diff.js';
import { biosEnumerate, type BiosResult } from './guest-bios.js';
import { GuestCpu } from './guest-cpu.js';
import { interruptHandler, startPort, transmit } from './guest-8250.js';
import type { GuestOp } from './guest-ops.js';
import { takeSnapshot, type PeekableUart, type RegisterSnapshot } from './register-snapshot.js';
import { hex2, registerName } from './decode-register.js';

/** What the lab needs of a port's UART: peeks for the inspector, time for 'wait'. */
export interface LabUart extends PeekableUart {
  nextDeadline(): number;
  /** Switchable at run time (keeps register state): the lab's profile switch. */
  profile: 'pc16550d' | 'mtty';
}

export interface StepRecord {
  seq: number;
  /** Task the access belongs to ("interrupt handler", "write 'A' to ttyS1"). */
  task: string;
  op: GuestOp;
  /** Value read (reads) or written (writes). */
  value: number;
  /** The access-log line ("R IIR 0xc4 = RX data available"). */
  line: string;
  /** What changed, in words (step mode's explanation). */
  changes: string[];
  /** The device signalled INTx during this access. */
  irq: boolean;
}

export interface LabDeviceHooks {
  /** A byte the guest driver read from RBR: the tty's input (the terminal prints it). */
  onByte(port: number, byte: number): void;
  /** Move virtual time (the 'wait' op); returns ns advanced. */
  advance(ns: number): number;
}

const CFG = regionOffset(VFIO_PCI_CONFIG_REGION_INDEX);
const CONFIG_SIZE = 255;
const LOG_LIMIT = 400;

function hex8(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

function cfgMask(size: 1 | 2 | 4): number {
  return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
}

export class LabDevice {
  readonly uuid: string;
  readonly typeId: string;
  readonly portCount: number;
  readonly cpu: GuestCpu;
  readonly log: StepRecord[] = [];
  /** eventfd signals received on INTx (the interrupt counter). */
  irqSignals = 0;
  /** Last byte written to write-only registers, per port (the inspector shows FCR from here). */
  readonly lastFcr: (number | null)[];
  readonly bios: BiosResult = { vendor: 0, device: 0, ports: 0, ioBase: [], irqLine: 0 };
  private vfio: VfioDevice | null = null;
  private seq = 0;
  private snaps: RegisterSnapshot[] = [];
  private irqThisStep = false;

  constructor(
    readonly mdev: MdevDevice<MttyDevice>,
    private readonly uarts: LabUart[],
    private readonly hooks: LabDeviceHooks,
  ) {
    this.uuid = mdev.uuid;
    this.typeId = mdev.type.id;
    this.portCount = uarts.length;
    this.lastFcr = uarts.map(() => null);
    this.cpu = new GuestCpu(() => ({
      title: 'interrupt handler',
      isr: true,
      routine: interruptHandler(this.bios.ports || this.portCount, (p, b) => this.hooks.onByte(p, b)),
    }));
    this.snaps = uarts.map((u) => takeSnapshot(u));
  }

  get isOpen(): boolean {
    return this.vfio !== null;
  }

  /** The device's own INTx mask: set by each delivery (automask), cleared by UNMASK. */
  get intxMasked(): boolean {
    return this.isOpen && this.mdev.vendor.interrupts.masked;
  }

  /** Interrupt events the device dropped because INTx was masked (mtty does not queue them). */
  get droppedIrqs(): number {
    return this.isOpen ? this.mdev.vendor.interrupts.stats.dropped : 0;
  }

  /**
   * The VMM opens the device and wires INTx; the guest then boots: BIOS
   * enumeration, and the driver starts every port (queued on the CPU).
   */
  open(): void {
    const dev = this.mdev.open();
    this.vfio = dev;
    dev.getInfo();
    dev.setIrqs({
      flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
      index: VFIO_PCI_INTX_IRQ_INDEX,
      start: 0,
      count: 1,
      data: [{ signal: () => this.onIrq() }],
    });
    this.cpu.submit({ title: 'BIOS: enumerate and place BARs', routine: biosEnumerate(this.bios) });
    // The driver binds to what the BIOS found (BAR1 is absent on mtty-1), so it asks only once the BIOS is done.
    const bios = this.bios;
    this.cpu.submit({
      title: 'driver: start every port the BIOS found',
      routine: (function* () {
        for (let p = 0; p < bios.ports; p++) yield* startPort(p);
      })(),
    });
  }

  private onIrq(): void {
    this.irqSignals++;
    this.irqThisStep = true;
    this.cpu.interrupt();
  }

  /** Queue bytes typed on a port's terminal: the driver transmits them through THR. */
  type(port: number, bytes: Uint8Array): void {
    const shown = [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    this.cpu.submit({ title: `write "${shown}" to ttyS${port}`, routine: transmit(port, bytes) });
  }

  /** Side-effect-free register view of a port (refreshes the IER cache while DLAB=0). */
  snapshot(port: number): RegisterSnapshot {
    const s = takeSnapshot(this.uarts[port], this.snaps[port]);
    this.snaps[port] = s;
    return s;
  }

  /** VFIO_DEVICE_GET_REGION_INFO of a port's BAR: where the VMM reads and writes it in the device fd. */
  regionInfo(port: number): { size: number; offset: number; flags: number } | null {
    return this.vfio ? this.vfio.getRegionInfo(port) : null;
  }

  uart(port: number): LabUart {
    return this.uarts[port];
  }

  /** The 255-byte config space as the device answers it now (config reads have no side effects). */
  configBytes(): Uint8Array {
    if (!this.vfio) return new Uint8Array(CONFIG_SIZE);
    return this.vfio.readBytes(CFG, CONFIG_SIZE);
  }

  /** lspci -vv header lines + the full -xxx hex dump. */
  lspciText(): string {
    const bytes = this.configBytes();
    const fn: PciFunction = {
      device: this.vfio as VfioDevice,
      domain: 0, bus: 0, slot: 5, func: 0,
      vendorId: this.bios.vendor, deviceId: this.bios.device,
      bars: this.bios.ioBase.map((address, index) => ({ index, io: true, address, size: 8 })),
      irq: this.bios.irqLine, pin: bytes[0x3d], driver: this.bios.ports ? 'serial' : null,
    };
    return formatLspci(bytes, lspciFunction(fn), { physicalSlot: false, hexLines: 16 }).trimEnd();
  }

  /** The access Step would perform, as a log line ("ttyS1 R LSR"), for the step panel. */
  describeNext(): { task: string; line: string; why: string } | null {
    const next = this.cpu.peek();
    if (!next) return null;
    const { op } = next;
    let line: string;
    switch (op.kind) {
      case 'read':
      case 'write': {
        const dlab = this.snapshot(op.port).dlab;
        const name = registerName(op.offset, op.kind === 'read' ? 'R' : 'W', dlab);
        line = `ttyS${op.port} ${op.kind === 'read' ? 'R' : 'W'} ${name}${op.kind === 'write' ? ` ${hex2(op.value)}` : ''}`;
        break;
      }
      case 'cfg-read': line = `CFG R ${hex2(op.offset)}`; break;
      case 'cfg-write': line = `CFG W ${hex2(op.offset)} ${hex8(op.value)}`; break;
      case 'unmask': line = 'IOCTL SET_IRQS INTx UNMASK'; break;
      case 'wait': line = 'WAIT for the UART'; break;
    }
    return { task: next.task.title, line, why: op.why };
  }

  /** Perform exactly one guest access. Null when the guest has nothing queued. */
  step(): StepRecord | null {
    const dev = this.vfio;
    if (!dev) return null;
    let next;
    try {
      next = this.cpu.peek();
    } catch (e) {
      // A driver routine threw (a bug, not a device answer): drop the guest's
      // queue so the page stays usable, and say what happened in the log.
      this.cpu.clear();
      const rec: StepRecord = {
        seq: ++this.seq, task: 'guest', op: { kind: 'unmask', why: 'guest driver error' }, value: 0,
        line: `GUEST ERROR ${e instanceof Error ? e.message : String(e)}`, changes: [], irq: false,
      };
      this.log.push(rec);
      return rec;
    }
    if (!next) return null;
    const { task, op } = next;
    this.irqThisStep = false;
    let value = 0;
    let line = '';
    let changes: string[] = [];
    try {
      ({ value, line, changes } = this.perform(dev, op));
    } catch (e) {
      // A failed access is a lesson too (EFAULT from a bad offset...): log it, do not stop the page.
      value = 0xff;
      line = `${op.kind.toUpperCase()} failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    this.cpu.complete(value);
    if (this.irqThisStep) changes.push(`the device signalled INTx (interrupt #${this.irqSignals}); INTx is now masked and the CPU runs the interrupt handler next`);
    const rec: StepRecord = { seq: ++this.seq, task: task.title, op, value, line, changes, irq: this.irqThisStep };
    this.log.push(rec);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    return rec;
  }

  private perform(dev: VfioDevice, op: GuestOp): { value: number; line: string; changes: string[] } {
    let value = 0;
    let line: string;
    let changes: string[] = [];
    switch (op.kind) {
      case 'read':
      case 'write': {
        const before = this.snapshot(op.port);
        const pos = regionOffset(op.port) + op.offset;
        if (op.kind === 'read') value = dev.read(pos, 1) & 0xff;
        else {
          value = op.value & 0xff;
          dev.write(pos, 1, value);
          if (op.offset === 2) this.lastFcr[op.port] = value;
        }
        const after = this.snapshot(op.port);
        line = `ttyS${op.port} ${describeAccess({ dir: op.kind === 'read' ? 'R' : 'W', offset: op.offset, value, dlab: before.dlab, divisor: after.regs.DLL | (after.regs.DLM << 8) })}`;
        changes = explainDiff(before, after);
        break;
      }
      case 'cfg-read':
      case 'cfg-write': {
        const mask = cfgMask(op.size);
        const before = dev.read(CFG + op.offset, op.size) >>> 0;
        if (op.kind === 'cfg-read') {
          value = before;
          line = `CFG R ${hex2(op.offset)} = ${hex8(value & mask)}`;
        } else {
          value = op.value >>> 0;
          dev.write(CFG + op.offset, op.size, value & mask);
          const after = dev.read(CFG + op.offset, op.size) >>> 0;
          line = `CFG W ${hex2(op.offset)} ${hex8(value & mask)}`;
          changes = [after === before ? `config ${hex2(op.offset)} unchanged (${hex8(after)}): the device ignores or keeps this value` : `config ${hex2(op.offset)} ${hex8(before)} -> ${hex8(after)}`];
        }
        break;
      }
      case 'unmask':
        dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, index: VFIO_PCI_INTX_IRQ_INDEX, start: 0, count: 1 });
        line = 'IOCTL SET_IRQS INTx UNMASK';
        changes = ['INTx unmasked: the device may signal the next interrupt'];
        break;
      case 'wait': {
        const d = this.uarts[op.port].nextDeadline();
        const ns = this.hooks.advance(d > 0 ? d : 0);
        line = `WAIT ${ns ? `${(ns / 1000).toFixed(1)} µs` : '(nothing scheduled)'}`;
        changes = ns ? [`virtual time moved ${(ns / 1000).toFixed(1)} µs to the UART's next event`] : [];
        break;
      }
    }
    return { value, line, changes };
  }

  /** Run mode: perform accesses until the guest is idle (bounded, so a livelock cannot freeze the page). */
  run(limit = 20000): number {
    let n = 0;
    while (n < limit && this.step()) n++;
    return n;
  }

  /** The VMM closes the device (drops INTx; removal can then finish). */
  close(): void {
    this.cpu.clear();
    this.vfio?.close();
    this.vfio = null;
  }
}
