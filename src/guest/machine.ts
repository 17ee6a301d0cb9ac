/**
 * A minimal guest: I/O port space, interrupt controller, dmesg, the serial
 * core's ttyS table, and a "VMM" step that plugs an opened VfioDevice in at a
 * PCI slot. attach() runs what happens between "boot the VM" and a login
 * prompt in the kernel doc's step 4: the BIOS enumerates and programs the
 * function, the VMM maps its I/O BARs and wires INTx, and 8250_pci probes it.
 */
import type { VfioDevice } from '../vfio/api.js';
import { MttyError } from '../errors/errno.js';
import { GuestCpu, type GuestRoutine } from './cpu.js';
import { enumerateRoutine, type EnumerateOptions } from './pci-enumerate.js';
import type { PciFunction } from './pci-function.js';
import { lspci, type LspciOptions } from './lspci.js';
import { probePciSerialRoutine } from './serial8250-pci.js';
import type { Serial8250Port } from './serial8250.js';
import { legacySetserialLine, Tty, type LegacyPort } from './tty.js';
import { wireIntx, type IntxWire } from './vfio-intx.js';

/**
 * Options of a GuestMachine: message style, dmesg hook, legacy ports, whether probing configures the UARTs.
 */
export interface GuestOptions {
  /** 'doc' prints the kernel doc's era of messages (no base_baud); 'current' today's. */
  style?: 'current' | 'doc';
  /** Called with every dmesg line as it is logged. */
  onLog?: (line: string) => void;
  /** The on-board COM1 the doc's guest has as ttyS0 (set [] for none). */
  legacyPorts?: LegacyPort[];
  /** false: probe without touching UART registers (see ProbeOptions.configure). */
  configurePorts?: boolean;
}

/**
 * What GuestMachine.attach() set up for one device: the PCI function the BIOS
 * programmed, the 8250 ports 8250_pci probed, their /dev/ttyS ttys and the INTx wiring.
 */
export interface AttachedFunction {
  fn: PciFunction;
  ports: Serial8250Port[];
  ttys: Tty[];
  intx: IntxWire;
}

/** The guest: one CPU (cpu.ts) with the firmware, the serial core and the VMM's device plumbing. */
export class GuestMachine extends GuestCpu {
  readonly legacyPorts: LegacyPort[];
  readonly style: 'current' | 'doc';
  private attached: AttachedFunction[] = [];
  private configurePorts: boolean;

  constructor(opts: GuestOptions = {}) {
    super();
    this.style = opts.style ?? 'current';
    this.onLog = opts.onLog ?? null;
    this.configurePorts = opts.configurePorts ?? true;
    this.irqs.onNobodyCared = (irq) => this.log(`irq ${irq}: nobody cared; disabling IRQ #${irq}`);
    this.onError = (e) => this.log(`irq: handler failed: ${e instanceof Error ? e.message : String(e)}`);
    this.legacyPorts = opts.legacyPorts ?? [{ line: 0, iobase: 0x3f8, irq: 4, type: '16550A' }];
  }

  /** Plug the device in at a slot, let the BIOS program it, wire INTx, and probe drivers. */
  attach(device: VfioDevice, opts: EnumerateOptions = {}): AttachedFunction {
    return this.run(this.attachRoutine(device, opts), 'boot: BIOS enumeration and 8250_pci probe');
  }

  /**
   * attach() as a routine: the lab steps the BIOS's config accesses and the
   * probe's MCR write. `probe: false` leaves the function without a driver
   * (a recorded guest drives the ports instead).
   */
  *attachRoutine(device: VfioDevice, opts: EnumerateOptions = {}, how: { probe?: boolean } = {}): GuestRoutine<AttachedFunction> {
    const fn = yield* enumerateRoutine(device, opts);
    for (const bar of fn.bars) if (bar.io) this.io.map(bar.address, bar.size, device, bar.index);
    const intx = wireIntx(device, this.irqs, fn.irq);
    const taken = new Set<number>([...this.legacyPorts.map((p) => p.line), ...this.ports().map((p) => p.config.line)]);
    const ports = how.probe === false ? [] : yield* probePciSerialRoutine(this, fn, { takenLines: taken, style: this.style, configure: this.configurePorts });
    const a: AttachedFunction = { fn, ports, ttys: ports.map((p) => new Tty(p)), intx };
    this.attached.push(a);
    return a;
  }

  /** Unplug: close its ttys, disable INTx, unmap the BARs. The caller still owns (and closes) the device. */
  detach(device: VfioDevice): void {
    const a = this.attached.find((x) => x.fn.device === device);
    if (!a) return;
    for (const t of a.ttys) t.close();
    a.intx.disconnect();
    this.io.unmapDevice(device);
    this.attached = this.attached.filter((x) => x !== a);
  }

  functions(): AttachedFunction[] {
    return [...this.attached];
  }

  ports(): Serial8250Port[] {
    return this.attached.flatMap((a) => a.ports);
  }

  tty(name: string): Tty | undefined {
    return this.attached.flatMap((a) => a.ttys).find((t) => t.name === name || `/dev/${t.name}` === name);
  }

  /** `setserial -g /dev/ttyS*`: the on-board ports, then the probed ones, by line number. */
  setserial(): string[] {
    const rows: { line: number; text: string }[] = [
      ...this.legacyPorts.map((p) => ({ line: p.line, text: legacySetserialLine(p) })),
      ...this.ports().map((p) => ({ line: p.config.line, text: p.setserialLine() })),
    ];
    return rows.sort((a, b) => a.line - b.line).map((r) => r.text);
  }

  lspci(device: VfioDevice, opts?: LspciOptions): string {
    const a = this.attached.find((x) => x.fn.device === device);
    if (!a) throw new MttyError('ENODEV', 'device is not attached to this guest');
    return lspci(a.fn, opts);
  }
}
