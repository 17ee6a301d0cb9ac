/**
 * The daemon's guest: what `mtty console` types into (kernel doc steps 6-7).
 *
 * One GuestSession per device, created when the first console opens one of
 * its ports and closed when the last one leaves: it opens the device (so a
 * VMM gets EBUSY meanwhile, and `mtty remove` waits for it, naming it), boots
 * src/guest's model on it - the BIOS places BAR0/BAR1 at 0xc150/0xc158 and
 * routes INTA# to IRQ 10, the VMM side wires INTx, Linux's 8250_pci probes
 * the ports - and opens /dev/ttyS<n> with the 8250 driver for each console.
 * That boot is a real guest's and changes the device as one would (config
 * space keeps the guest's BARs and interrupt line after the session ends).
 * Views (lspci, setserial, reg) never create a session; they read the device
 * as it is and use a live session only for the guest's names (ttyS1, 00:05.0).
 *
 * A console's bytes travel through a pty, like a terminal program's in the
 * guest: what the user types reaches the guest tty (tty write -> 8250 driver
 * -> THR), and what the driver's interrupt handler reads from RBR comes back
 * to the user. The pty is a PtyBackend (src/host) whose "port" is this
 * guest terminal (GuestTerminalPort below), so typed input gets the same
 * flow control and line-rate pacing as host input does.
 */
import type { MdevDevice } from '../mdev/device.js';
import type { MttyDevice } from '../mtty/device.js';
import type { VfioDevice } from '../vfio/api.js';
import { fail } from '../errors/errno.js';
import { GuestMachine, type AttachedFunction, type Tty } from '../guest/index.js';
import { createBackend, type HostBackend, type HostLink, type HostPort, type HostStatus, type LineSettings } from '../host/index.js';
import { settingsKey } from '../host/stream-link.js';

/** What `console.open` answers: enough for the banner. */
export interface ConsoleInfo {
  uuid: string;
  port: number;
  /** The pty the user's terminal joins. */
  path: string;
  /** The guest's device node ("/dev/ttyS1"). */
  tty: string;
  iobase: number;
  irq: number;
  /** The UART's settings after the driver opened the port, e.g. "9600 8N1". */
  settings: string;
  /** What is on the far end of the port's line ("loopback", "pty:/tmp/x"). */
  hostLine: string;
  lease: number;
}

/** Counters a console reports when it closes (and `console.status`). */
export interface ConsoleCounters {
  /** Characters the user's terminal handed to the guest tty. */
  typed: number;
  /** Characters the guest's driver received (IRQ-driven RBR reads). */
  received: number;
  /** Characters the driver wrote to THR. */
  transmitted: number;
  /** Guest interrupts taken on the device's IRQ since the console opened. */
  interrupts: number;
  /** INTx signals from the device (eventfd writes) since the console opened. */
  intxSignals: number;
  /** Typed bytes still held (not yet accepted by the guest tty). */
  held: number;
}

/**
 * The guest tty as a "port" a PtyBackend can take: receive() is the user
 * typing (tty write), and bytes the guest's driver received are the link's
 * transmit side (to the user's screen). The 4 KiB room mirrors a tty's
 * write buffer.
 */
class GuestTerminalPort implements HostPort {
  private link: HostLink | null = null;
  typed = 0;

  constructor(
    private readonly tty: Tty,
    private readonly settings: () => LineSettings,
  ) {}

  takeForHost(onTransmit: (byte: number) => void): HostLink {
    if (this.link && !this.link.released) fail('EBUSY', `${this.tty.name} already has a console`);
    const tty = this.tty;
    const self = this;
    let released = false;
    // Reads of the guest tty: wait for the interrupt path to deliver, then take what else arrived.
    const pump = async () => {
      while (!released && tty.port.isOpen) {
        const first = await tty.read(1).catch(() => null);
        if (!first || released) return;
        const rest = tty.readAvailable();
        for (const b of first) onTransmit(b);
        for (const b of rest) onTransmit(b);
      }
    };
    const link: HostLink = {
      onKick: null,
      receive(bytes) {
        if (released) fail('ENODEV', 'this console was closed');
        tty.write(bytes);
        self.typed += bytes.length;
        return bytes.length;
      },
      rxSpace: () => (released ? 0 : Math.max(0, 4096 - tty.port.pendingTx)),
      setModemInputs() {
        // A terminal has no modem lines toward the guest program.
      },
      modemOutputs: 0x03,
      get lineSettings() {
        return self.settings();
      },
      get released() {
        return released;
      },
      release() {
        released = true;
      },
    };
    this.link = link;
    void pump();
    return link;
  }
}

interface Console {
  port: number;
  tty: Tty;
  terminal: GuestTerminalPort;
  backend: HostBackend;
  lease: number;
  irqBefore: number;
  signalsBefore: number;
  rxBefore: number;
  txBefore: number;
}

let nextLease = 1;

/**
 * The guest model booted on one device (opened with opener OPENER): its
 * GuestMachine, the attached function (ports, ttys, INTx wire) and the
 * consoles open on its ports. Create through MttyService (one per device);
 * EBUSY from the constructor while a VMM holds the device.
 */
export class GuestSession {
  readonly machine: GuestMachine;
  readonly attached: AttachedFunction;
  readonly device: VfioDevice;
  private readonly consoles = new Map<number, Console>();

  /** The opener name `mtty remove` and EBUSY messages show. */
  static readonly OPENER = "the mtty daemon's guest model (mtty console)";

  constructor(
    readonly mdev: MdevDevice<MttyDevice>,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.device = mdev.open(GuestSession.OPENER); // EBUSY while a VMM holds it
    try {
      this.machine = new GuestMachine({ style: 'current', onLog: (l) => this.log(`guest ${mdev.uuid}: ${l}`) });
      this.attached = this.machine.attach(this.device);
    } catch (e) {
      this.device.close();
      throw e;
    }
  }

  get uuid(): string {
    return this.mdev.uuid;
  }

  get consoleCount(): number {
    return this.consoles.size;
  }

  /** `setserial -g` as this guest prints it, for the device's ports. */
  setserialLines(): string[] {
    return this.attached.ports.map((p) => p.setserialLine());
  }

  /**
   * Open /dev/ttyS<n> for port `port` with the guest's 8250 driver (startup,
   * set_termios at `baud` 8N1, no flow control, as the doc's step 6 asks) and
   * put a pty in front of it. EBUSY if that port already has a console.
   */
  async openConsole(port: number, opts: { baud?: number; hostLine: string }): Promise<ConsoleInfo> {
    if (!Number.isInteger(port) || port < 0 || port >= this.attached.ttys.length) {
      fail('EINVAL', `port must be 0..${this.attached.ttys.length - 1} for this device; got ${port}`);
    }
    if (this.consoles.has(port)) fail('EBUSY', `port ${port} of ${this.uuid} already has a guest console`);
    const tty = this.attached.ttys[port]!;
    const uart = this.mdev.vendor.ports[port]!.uart;
    tty.open({ baud: opts.baud ?? 9600, crtscts: false, clocal: true });
    const terminal = new GuestTerminalPort(tty, () => uart.lineSettings);
    const backend = createBackend('pty');
    try {
      await backend.attach(terminal);
    } catch (e) {
      tty.close();
      throw e;
    }
    const sp = tty.port;
    const c: Console = {
      port,
      tty,
      terminal,
      backend,
      lease: nextLease++,
      irqBefore: this.machine.irqs.count(this.attached.fn.irq),
      signalsBefore: this.attached.intx.signals,
      rxBefore: sp.counters.rx,
      txBefore: sp.counters.tx,
    };
    this.consoles.set(port, c);
    return {
      uuid: this.uuid,
      port,
      path: backend.status().path!,
      tty: `/dev/${tty.name}`,
      iobase: sp.config.iobase,
      irq: sp.config.irq,
      settings: settingsKey(uart.lineSettings),
      hostLine: opts.hostLine,
      lease: c.lease,
    };
  }

  /** The console on `port` with this lease, or ENOENT. */
  private consoleFor(port: number, lease?: number): Console {
    const c = this.consoles.get(port);
    if (!c || (lease !== undefined && c.lease !== lease)) fail('ENOENT', `no guest console on port ${port} of ${this.uuid}${lease !== undefined ? ` with lease ${lease}` : ''}`);
    return c;
  }

  counters(port: number, lease?: number): ConsoleCounters & { line: HostStatus } {
    const c = this.consoleFor(port, lease);
    const sp = c.tty.port;
    const line = c.backend.status();
    return {
      typed: c.terminal.typed,
      received: sp.counters.rx - c.rxBefore,
      transmitted: sp.counters.tx - c.txBefore,
      interrupts: this.machine.irqs.count(this.attached.fn.irq) - c.irqBefore,
      intxSignals: this.attached.intx.signals - c.signalsBefore,
      held: line.rxHeld,
      line,
    };
  }

  /** Close the console: pty gone, the guest closes its tty (uart_shutdown). */
  async closeConsole(port: number, lease?: number): Promise<ConsoleCounters> {
    const c = this.consoleFor(port, lease);
    const counts = this.counters(port, lease);
    this.consoles.delete(port);
    await c.backend.close();
    try {
      c.tty.close();
    } catch {
      // The device went away under the guest; nothing left to shut down.
    }
    const { line: _line, ...rest } = counts;
    return rest;
  }

  /** Shut the guest down: consoles, INTx, BAR mappings, then close the device. */
  async close(): Promise<void> {
    for (const port of [...this.consoles.keys()]) await this.closeConsole(port).catch(() => undefined);
    try {
      this.machine.detach(this.device);
    } finally {
      this.device.close();
    }
  }
}
