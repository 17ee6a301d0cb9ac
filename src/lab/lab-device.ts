/**
 * One mediated device as the lab drives it: the VMM side (open the VFIO
 * device, plug it into its own guest), and the guest itself, the product's
 * one guest model (src/guest: BIOS enumeration, 8250_pci probe, the 8250
 * driver and its interrupt handler) on its GuestCpu. In run mode the CPU runs
 * whatever is queued; in step mode the lab performs one access per Step.
 *
 * Every access, whoever makes it (the guest's driver, the student's
 * inspector, the VMM, a recorded Linux guest), becomes one journal entry: the
 * decoded access line, why it was made, what changed in the registers, and
 * whether the device signalled INTx. The exercises, the timeline and the
 * access log all read those entries.
 */
import type { MdevDevice } from '../mdev/device.js';
import type { MttyDevice } from '../mtty/device.js';
import type { VfioDevice } from '../vfio/api.js';
import { VFIO_PCI_CONFIG_REGION_INDEX, regionOffset } from '../vfio/uapi.js';
import { GuestMachine, type AttachedFunction, type GuestAccess, type GuestRoutine, type Termios } from '../guest/index.js';
import { formatLspci } from '../pci/lspci.js';
import { lspciFunction } from '../guest/lspci.js';
import { lspciHexDump } from '../pci/lspci-dump.js';
import { hex2 } from '../uart/decode.js';
import { registerName } from '../uart/registers.js';
import { describeAccess } from './describe-access.js';
import { explainDiff } from './explain-diff.js';
import { takeSnapshot, type PeekableUart, type RegisterSnapshot } from './register-snapshot.js';
import type { UartProfile } from '../uart/uart.js';

export type LabProfile = UartProfile;

/** What the lab needs of a port's UART: peeks for the inspector, the profile switch. */
export interface LabUart extends PeekableUart {
  profile: LabProfile;
}

export type EntrySource = 'guest' | 'student' | 'vmm' | 'recording';

/** One line of the lab's journal (access log). */
export interface LabEntry {
  seq: number;
  /** Virtual time (ns) when the access was made. */
  t: number;
  uuid: string;
  source: EntrySource;
  /** Routine or action it belongs to ("interrupt handler (IRQ 10)", "open ttyS1", "register tool"). */
  task: string;
  /** The access ("ttyS1 R IIR 0xc4 = RX data available, FIFOs on"). */
  line: string;
  why: string;
  /** What changed, in words. */
  changes: string[];
  /** The device signalled INTx during this access. */
  irq: boolean;
  /** BAR/port the access reached (register accesses). */
  port?: number;
  /** IIR reads: the interrupt reason (for the timeline's marks). */
  iir?: string;
  /** Each port's UART INTR output after the access (bit p = port p). */
  intr: number;
}

/** The journal line the exercises match: "<source>: <line>" plus " [INTx]". */
export function entryText(e: LabEntry): string {
  return `${e.source}: ${e.line}${e.irq ? ' [INTx]' : ''}`;
}

export interface LabDeviceHooks {
  /** A byte the guest's tty received (the terminal prints it). */
  onByte(port: number, byte: number): void;
  /** Append to the session's journal; returns the entry with its seq. */
  journal(e: Omit<LabEntry, 'seq'>): LabEntry;
  now(): number;
  /** Virtual time an access costs (a trapped port I/O in a VM is about a microsecond). */
  tick(): void;
}

const CFG = regionOffset(VFIO_PCI_CONFIG_REGION_INDEX);
const CONFIG_SIZE = 255;
/** The line settings the lab's guest opens each tty with (as `stty 115200` would leave them). */
export const LAB_TERMIOS: Termios = { baud: 115200, dataBits: 8, parity: 'none', stopBits: 1, crtscts: false, clocal: true };

function hex8(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

function cfgMask(size: 1 | 2 | 4): number {
  return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
}

export interface LabDeviceOptions {
  /** false: the guest boots without the serial driver (a recorded guest drives the ports instead). */
  driver?: boolean;
}

export class LabDevice {
  readonly uuid: string;
  readonly typeId: string;
  readonly portCount: number;
  readonly machine: GuestMachine;
  /** Last byte written to FCR (write-only), per port. */
  readonly lastFcr: (number | null)[];
  attached: AttachedFunction | null = null;
  private vfio: VfioDevice | null = null;
  private snaps: RegisterSnapshot[];
  private before: { snap?: RegisterSnapshot; port?: number; cfg?: number; signals: number } = { signals: 0 };
  /** A recorded guest has no tty: its RBR reads (with data ready) go to the terminal instead. */
  showReceived = false;
  /** What a recording says about its accesses: the value the real guest read, its INTR changes. */
  readonly recorded = new WeakMap<GuestAccess, { expected: number | null; note: string | null }>();

  constructor(
    readonly mdev: MdevDevice<MttyDevice>,
    private readonly hooks: LabDeviceHooks,
    readonly options: LabDeviceOptions = {},
  ) {
    this.uuid = mdev.uuid;
    this.typeId = mdev.type.id;
    this.portCount = mdev.vendor.ports.length;
    this.lastFcr = Array.from({ length: this.portCount }, () => null);
    this.snaps = this.uarts().map((u) => takeSnapshot(u));
    this.machine = new GuestMachine({ style: 'current' });
    this.machine.observer = {
      before: (op) => this.beforeAccess(op),
      after: (op, value, task) => this.afterAccess(op, value, task, this.sourceOf(task)),
    };
  }

  private sourceOf(task: string): EntrySource {
    return task.startsWith('recording') ? 'recording' : 'guest';
  }

  private uarts(): LabUart[] {
    return this.mdev.vendor.ports.map((p) => p.uart as unknown as LabUart);
  }

  uart(port: number): LabUart {
    return this.uarts()[port];
  }

  get isOpen(): boolean {
    return this.vfio !== null;
  }

  /** INTx signals the device sent (the interrupt counter). */
  get irqSignals(): number {
    return this.attached?.intx.signals ?? 0;
  }

  /** The device's own INTx mask: set by each delivery (automask), cleared by UNMASK. */
  get intxMasked(): boolean {
    return this.isOpen && this.mdev.vendor.interrupts.masked;
  }

  /** Interrupt events the device dropped because INTx was masked (mtty does not queue them). */
  get droppedIrqs(): number {
    return this.isOpen ? this.mdev.vendor.interrupts.stats.dropped : 0;
  }

  /** The guest's name of a port: BAR0 ttyS1, BAR1 ttyS2 (the guest's own COM1 is ttyS0), as in the kernel doc. */
  ttyName(port: number): string {
    const p = this.attached?.ports[port];
    return p ? p.name : `ttyS${port + 1}`;
  }

  /**
   * The VMM opens the device and boots its guest: the BIOS enumerates, the
   * 8250_pci driver probes, and (unless a recording drives the ports) every
   * tty is opened, as a terminal program would. Queued on the guest CPU:
   * step mode shows each access.
   */
  open(): void {
    const dev = this.mdev.open();
    this.vfio = dev;
    const self = this;
    const driver = this.options.driver ?? true;
    this.machine.submit(
      (function* (): GuestRoutine {
        const a = yield* self.machine.attachRoutine(dev, {}, { probe: driver });
        self.attached = a;
        a.ports.forEach((p, i) => {
          p.onReceive = (bytes) => {
            for (const b of bytes) self.hooks.onByte(i, b);
          };
        });
      })(),
      'boot: BIOS enumeration and 8250_pci probe',
    );
    if (driver) {
      for (let p = 0; p < this.portCount; p++) {
        this.machine.submit(
          (function* (): GuestRoutine {
            const port = self.attached?.ports[p];
            if (port) yield* port.openRoutine(LAB_TERMIOS);
          })(),
          `open /dev/${this.ttyName(p)} at 115200 8N1`,
        );
      }
    }
  }

  /** Keys typed on a port's terminal: the guest writes them to its tty (the driver's TX path). */
  type(port: number, bytes: Uint8Array): void {
    const p = this.attached?.ports[port];
    if (!p) return;
    const shown = [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    this.machine.submit(p.writeRoutine(bytes), `write "${shown}" to /dev/${p.name}`);
  }

  /** Side-effect-free register view of a port (keeps the IER/RBR last seen while DLAB hides them). */
  snapshot(port: number): RegisterSnapshot {
    const s = takeSnapshot(this.uart(port), this.snaps[port]);
    this.snaps[port] = s;
    return s;
  }

  /** The registers an exercise check sees (FCR: last written). */
  registers(port: number): Record<string, number> {
    const s = this.snapshot(port);
    const r: Record<string, number> = { ...s.regs };
    const fcr = this.lastFcr[port];
    if (fcr !== null) r.FCR = fcr;
    return r;
  }

  /** VFIO_DEVICE_GET_REGION_INFO of a port's BAR. */
  regionInfo(port: number): { size: number; offset: number; flags: number } | null {
    return this.vfio ? this.vfio.getRegionInfo(port) : null;
  }

  /** The 255-byte config space as the device answers it now (config reads have no side effects). */
  configBytes(): Uint8Array {
    if (!this.vfio) return new Uint8Array(CONFIG_SIZE);
    return this.vfio.readBytes(CFG, CONFIG_SIZE);
  }

  /** lspci -vv header lines + the full -xxx hex dump. */
  lspciText(): string {
    const bytes = this.configBytes();
    const a = this.attached;
    if (!a) return ['(the BIOS has not enumerated the device yet)', lspciHexDump(bytes, 16)].join('\n');
    return formatLspci(bytes, lspciFunction(a.fn), { physicalSlot: false, hexLines: 16 }).trimEnd();
  }

  // ---- the student's hands: the inspector's tools ------------------------------------------

  /** A register write from the inspector (as `mtty reg` would make it): logged, explained, interrupts follow. */
  studentWrite(port: number, offset: number, value: number, why: string): LabEntry {
    const op: GuestAccess = { kind: 'out', port: this.ioBase(port) + offset, value: value & 0xff, why };
    return this.direct(op, 'register tool');
  }

  /** A register read from the inspector: it has the read's side effects (IIR clears THRE, RBR pops a byte). */
  studentRead(port: number, offset: number, why: string): LabEntry {
    return this.direct({ kind: 'in', port: this.ioBase(port) + offset, why }, 'register tool');
  }

  /** A config-space dword read (the config tool). */
  studentConfigRead(offset: number, size: 1 | 2 | 4 = 4): LabEntry {
    if (!this.vfio) throw new Error('device is closed');
    return this.direct({ kind: 'cfg-read', device: this.vfio, offset, size, why: 'read from the config-space tool' }, 'config tool');
  }

  /** A host-side line event (modem inputs, an injected byte or error): logged with what it changed. */
  lineEvent(port: number, line: string, why: string, act: () => void): LabEntry {
    const before = this.snapshot(port);
    const signals = this.irqSignals;
    act();
    const after = this.snapshot(port);
    return this.hooks.journal({
      t: this.hooks.now(), uuid: this.uuid, source: 'student', task: 'line events', line: `${this.ttyName(port)} ${line}`, why,
      changes: explainDiff(before, after), irq: this.irqSignals > signals, port, intr: this.intrBits(),
    });
  }

  /** An action of the VMM or the sysfs shell, logged on this device's journal. */
  vmmEntry(line: string, why: string, source: EntrySource = 'vmm'): LabEntry {
    return this.hooks.journal({ t: this.hooks.now(), uuid: this.uuid, source, task: 'vmm', line, why, changes: [], irq: false, intr: this.intrBits() });
  }

  private ioBase(port: number): number {
    const bar = this.attached?.fn.bars.find((b) => b.index === port);
    if (!bar) throw new Error(`BAR${port} is not placed yet: let the BIOS finish (run or step the guest)`);
    return bar.address;
  }

  /** Perform one access outside the guest CPU (the student, as a debugger would), journalled the same way. */
  private direct(op: GuestAccess, task: string): LabEntry {
    this.beforeAccess(op);
    let value = 0;
    switch (op.kind) {
      case 'in': value = this.machine.io.inb(op.port); break;
      case 'out': this.machine.io.outb(op.port, op.value); break;
      case 'cfg-read': value = this.vfio!.read(CFG + op.offset, op.size) >>> 0; break;
      default: throw new Error(`unsupported tool access ${op.kind}`);
    }
    return this.afterAccess(op, value, task, 'student');
  }

  private intrBits(): number {
    if (this.mdev.state === 'gone') return 0;
    let bits = 0;
    this.uarts().forEach((u, i) => {
      if (u.irq) bits |= 1 << i;
    });
    return bits;
  }

  private portOf(addr: number): { port: number; offset: number } | null {
    const w = this.machine.io.resolve(addr);
    return w ? { port: w.region, offset: w.offset } : null;
  }

  private beforeAccess(op: GuestAccess): void {
    this.before = { signals: this.irqSignals };
    if (op.kind === 'in' || op.kind === 'out') {
      const at = this.portOf(op.port);
      if (at) this.before = { ...this.before, port: at.port, snap: this.snapshot(at.port) };
    } else if (op.kind === 'cfg-write') {
      this.before.cfg = op.device.read(CFG + op.offset, op.size) >>> 0;
    }
  }

  private afterAccess(op: GuestAccess, value: number, task: string, source: EntrySource): LabEntry {
    let line = '';
    let changes: string[] = [];
    let port: number | undefined;
    let iir: string | undefined;
    switch (op.kind) {
      case 'in':
      case 'out': {
        const at = this.portOf(op.port);
        const dir = op.kind === 'in' ? 'R' : 'W';
        if (!at || !this.before.snap) {
          line = `I/O ${dir} 0x${op.port.toString(16)} ${hex2(value)} (nothing decodes this address)`;
          break;
        }
        port = at.port;
        const before = this.before.snap;
        const v = op.kind === 'in' ? value : op.value;
        if (op.kind === 'out' && at.offset === 2) this.lastFcr[at.port] = v;
        const after = this.snapshot(at.port);
        line = `${this.ttyName(at.port)} ${describeAccess({ dir, offset: at.offset, value: v, dlab: before.dlab, divisor: after.regs.DLL | (after.regs.DLM << 8) })}`;
        changes = explainDiff(before, after);
        const reg = registerName(at.offset, dir === 'R' ? 'r' : 'w', before.dlab);
        if (dir === 'R' && reg === 'IIR') iir = line.split(' = ')[1];
        if (dir === 'R' && reg === 'RBR' && this.showReceived && before.regs.LSR & 0x01) this.hooks.onByte(at.port, v);
        break;
      }
      case 'cfg-read':
      case 'cfg-write': {
        const mask = cfgMask(op.size);
        if (op.kind === 'cfg-read') line = `CFG R ${hex2(op.offset)} = ${hex8(value & mask)}`;
        else {
          line = `CFG W ${hex2(op.offset)} ${hex8(op.value & mask)}`;
          const now = op.device.read(CFG + op.offset, op.size) >>> 0;
          const was = this.before.cfg ?? 0;
          changes = [now === was ? `config ${hex2(op.offset)} unchanged (${hex8(now)}): the device ignores or keeps this value` : `config ${hex2(op.offset)} ${hex8(was)} -> ${hex8(now)}`];
        }
        break;
      }
      case 'eoi':
        line = 'IOCTL SET_IRQS INTx UNMASK';
        changes = ['INTx unmasked: the device may signal the next interrupt'];
        break;
    }
    const irq = this.irqSignals > this.before.signals;
    if (irq) changes.push(`the device signalled INTx (interrupt #${this.irqSignals}); INTx is now masked until the VMM unmasks it after the handler`);
    const rec = this.recorded.get(op);
    if (rec?.expected != null) {
      changes.unshift(value === rec.expected ? `the recorded guest read the same value (${hex2(rec.expected)})` : `MISMATCH: the recorded guest read ${hex2(rec.expected)}, this model answers ${hex2(value)}`);
    }
    if (rec?.note) changes.push(rec.note);
    const entry = this.hooks.journal({ t: this.hooks.now(), uuid: this.uuid, source, task, line, why: op.why, changes, irq, port, iir, intr: this.intrBits() });
    this.hooks.tick();
    return entry;
  }

  /** The VMM closes the device (drops INTx; a pending removal can then finish). */
  close(): void {
    this.machine.clear();
    if (this.vfio) {
      for (const a of this.machine.functions()) this.machine.detach(a.fn.device);
      this.vfio.close();
    }
    this.vfio = null;
  }
}
