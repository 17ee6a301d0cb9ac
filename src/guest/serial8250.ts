/**
 * One 8250-family port as Linux's drivers/tty/serial/8250 drives it: start-up
 * (serial8250_do_startup with the LSR safety check, the THRE re-assert test
 * and the TXEN test), set_termios, the interrupt handler and the transmit /
 * receive paths. The register access order follows the kernel so that a trace
 * of this model can be laid next to a trace of a real guest
 * (shared/traces/linux-8250-probe-isa.txt) access for access.
 *
 * Reads are interrupt-driven: received bytes only ever leave the UART inside
 * the IRQ handler, which runs when the device signals INTx.
 */
import { MttyError } from '../errors/errno.js';
import type { IoSpace } from './io-space.js';
import type { InterruptController, IrqHandler } from './interrupts.js';
import * as R from './uart-regs.js';

export interface GuestCpu {
  io: IoSpace;
  irqs: InterruptController;
  /** printk: one dmesg line. */
  log(line: string): void;
}

export interface Termios {
  baud: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: 'none' | 'odd' | 'even';
  stopBits: 1 | 2;
  /** Hardware flow control; the kernel doc's step 6 says to disable it. */
  crtscts: boolean;
  /** Ignore modem control lines (no MSI interrupt wanted). */
  clocal: boolean;
}

/** What a serial tty gets at open when nobody configured it (tty_std_termios: B9600 CS8 CREAD HUPCL CLOCAL). */
export const DEFAULT_TERMIOS: Termios = { baud: 9600, dataBits: 8, parity: 'none', stopBits: 1, crtscts: false, clocal: true };

export interface PortConfig {
  /** ttyS line number. */
  line: number;
  iobase: number;
  irq: number;
  /** uartclk / 16. */
  baseBaud: number;
  /** dev_name() of the parent device ("0000:00:05.0"), for log lines. */
  devName: string;
  /** UPF_SHARE_IRQ (8250_pci sets it). */
  shareIrq: boolean;
}

export interface PortCounters {
  rx: number;
  tx: number;
  overrun: number;
  /** handler passes that found work on this port. */
  interrupts: number;
}

/** How many chars the 16550A takes per THRE (uart_config[PORT_16550A].tx_loadsz). */
const TX_LOADSZ = 16;
/** serial8250_rx_chars reads at most this many per interrupt. */
const RX_MAX = 256;
/** serial8250_interrupt gives up after this many passes ("too much work for irq"). */
const PASS_LIMIT = 512;
const TIOCM_DTR = 0x002;
const TIOCM_RTS = 0x004;
const TIOCM_OUT1 = 0x2000;
const TIOCM_OUT2 = 0x4000;
const TIOCM_LOOP = 0x8000;

/**
 * All ports sharing one IRQ hang off one handler, like serial_link_irq_chain():
 * the handler polls every port until a full pass finds none with work.
 */
class IrqChain {
  ports: Serial8250Port[] = [];
  readonly handler: IrqHandler;
  constructor(private cpu: GuestCpu, readonly irq: number) {
    this.handler = () => this.interrupt();
  }

  private interrupt(): boolean {
    let handled = false;
    let idleRun = 0;
    let passes = 0;
    // Stop when every port in a row of ports.length said "not mine".
    for (let i = 0; idleRun < this.ports.length; i = (i + 1) % this.ports.length) {
      if (this.ports[i].handleIrq()) {
        handled = true;
        idleRun = 0;
      } else {
        idleRun++;
      }
      if (++passes > PASS_LIMIT) {
        this.cpu.log(`serial8250: too much work for irq${this.irq}`);
        break;
      }
    }
    return handled;
  }
}

const chains = new WeakMap<GuestCpu, Map<number, IrqChain>>();

function chainFor(cpu: GuestCpu, irq: number): IrqChain {
  let m = chains.get(cpu);
  if (!m) chains.set(cpu, (m = new Map()));
  let c = m.get(irq);
  if (!c) {
    c = new IrqChain(cpu, irq);
    m.set(irq, c);
  }
  return c;
}

export class Serial8250Port {
  readonly type = '16550A';
  readonly name: string;
  /** Shadows of what the driver last wrote, as struct uart_8250_port keeps them. */
  private ier = 0;
  private lcr = 0;
  private mctrl = 0;
  /** uart_config[PORT_16550A].fcr: FIFO on, RX trigger 8. */
  private fcr = R.UART_FCR_ENABLE_FIFO | R.UART_FCR_R_TRIG_10;
  private xmit: number[] = [];
  private opened = false;
  /** UART_BUG_THRE / UART_BUG_TXEN as found by the start-up tests. */
  readonly bugs = { thre: false, txen: false };
  readonly counters: PortCounters = { rx: 0, tx: 0, overrun: 0, interrupts: 0 };
  termios: Termios = { ...DEFAULT_TERMIOS };
  /** The tty flip buffer: called from the IRQ handler with every batch received. */
  onReceive: ((bytes: Uint8Array) => void) | null = null;

  constructor(
    private cpu: GuestCpu,
    readonly config: PortConfig,
  ) {
    this.name = `ttyS${config.line}`;
  }

  get isOpen(): boolean {
    return this.opened;
  }

  private in(off: number): number {
    return this.cpu.irqs.withIrqsDisabled(() => this.cpu.io.inb(this.config.iobase + off));
  }

  private out(off: number, v: number): void {
    this.cpu.irqs.withIrqsDisabled(() => this.cpu.io.outb(this.config.iobase + off, v));
  }

  /** spin_lock_irqsave(&port->lock): interrupts raised inside are taken at the end. */
  private locked<T>(fn: () => T): T {
    return this.cpu.irqs.withIrqsDisabled(fn);
  }

  /** uart_report_port(): "0000:00:05.0: ttyS1 at I/O 0xc150 (irq = 10, base_baud = 115200) is a 16550A". */
  reportLine(style: 'current' | 'doc' = 'current'): string {
    const c = this.config;
    const baud = style === 'current' ? `, base_baud = ${c.baseBaud}` : '';
    return `${c.devName}: ${this.name} at I/O 0x${c.iobase.toString(16)} (irq = ${c.irq}${baud}) is a ${this.type}`;
  }

  /** `setserial -g` line. */
  setserialLine(): string {
    return `/dev/${this.name}, UART: ${this.type}, Port: 0x${this.config.iobase.toString(16).padStart(4, '0')}, IRQ: ${this.config.irq}`;
  }

  /** uart_configure_port() for a UPF_FIXED_TYPE port: no autoconfig, report, then drop all but DTR. */
  configure(style: 'current' | 'doc' = 'current'): void {
    this.cpu.log(this.reportLine(style));
    this.setMctrl(this.mctrl & TIOCM_DTR);
  }

  private clearFifos(): void {
    this.out(R.UART_FCR, R.UART_FCR_ENABLE_FIFO);
    this.out(R.UART_FCR, R.UART_FCR_ENABLE_FIFO | R.UART_FCR_CLEAR_RCVR | R.UART_FCR_CLEAR_XMIT);
    this.out(R.UART_FCR, 0);
  }

  private clearInterruptRegs(): void {
    this.in(R.UART_LSR);
    this.in(R.UART_RX);
    this.in(R.UART_IIR);
    this.in(R.UART_MSR);
  }

  private setMctrl(mctrl: number): void {
    this.mctrl = mctrl;
    let mcr = 0;
    if (mctrl & TIOCM_RTS) mcr |= R.UART_MCR_RTS;
    if (mctrl & TIOCM_DTR) mcr |= R.UART_MCR_DTR;
    if (mctrl & TIOCM_OUT1) mcr |= R.UART_MCR_OUT1;
    if (mctrl & TIOCM_OUT2) mcr |= R.UART_MCR_OUT2;
    if (mctrl & TIOCM_LOOP) mcr |= R.UART_MCR_LOOP;
    this.out(R.UART_MCR, mcr);
  }

  /** serial8250_do_startup(). Throws ENODEV when the LSR safety check trips. */
  startup(): void {
    const irq = this.config.irq;
    this.clearFifos();
    this.clearInterruptRegs();
    // Nothing decodes the address -> the bus floats to 0xff.
    if (this.in(R.UART_LSR) === 0xff) {
      this.cpu.log(`${this.config.devName}: LSR safety check engaged!`);
      throw new MttyError('ENODEV', `${this.name}: LSR reads 0xff, no UART at I/O 0x${this.config.iobase.toString(16)}`);
    }

    // setup_irq: join (or create) the chain of ports on this IRQ.
    const chain = chainFor(this.cpu, irq);
    if (chain.ports.length === 0) this.cpu.irqs.request(irq, 'serial', chain.handler);
    chain.ports.push(this);

    // The THRE test: does the UART re-assert THRE when THRI is toggled off/on?
    if (irq) {
      if (this.config.shareIrq) this.cpu.irqs.disable(irq);
      let iir1 = 0;
      let iir = 0;
      this.locked(() => {
        this.waitForXmitr(R.UART_LSR_THRE);
        this.out(R.UART_IER, R.UART_IER_THRI);
        iir1 = this.in(R.UART_IIR);
        this.out(R.UART_IER, 0);
        this.out(R.UART_IER, R.UART_IER_THRI);
        iir = this.in(R.UART_IIR);
        this.out(R.UART_IER, 0);
      });
      if (this.config.shareIrq) this.cpu.irqs.enable(irq);
      this.bugs.thre = !(iir1 & R.UART_IIR_NO_INT) && (iir & R.UART_IIR_NO_INT) !== 0;
      // Linux would now run a ~200 ms backup timer to push TX by hand; we only report it.
      if (this.bugs.thre) this.cpu.log(`${this.name}: UART_BUG_THRE (THRE not re-asserted), backup timer needed`);
    }

    this.out(R.UART_LCR, R.UART_LCR_WLEN8);
    this.lcr = R.UART_LCR_WLEN8;
    this.locked(() => {
      if (irq) this.mctrl |= TIOCM_OUT2;
      this.setMctrl(this.mctrl);
      // TXEN test: does enabling THRI give an interrupt at all?
      this.out(R.UART_IER, R.UART_IER_THRI);
      const lsr = this.in(R.UART_LSR);
      const iir = this.in(R.UART_IIR);
      this.out(R.UART_IER, 0);
      this.bugs.txen = (lsr & R.UART_LSR_TEMT) !== 0 && (iir & R.UART_IIR_NO_INT) !== 0;
    });
    this.clearInterruptRegs();
    // RX interrupts are enabled by set_termios, not here.
    this.ier = R.UART_IER_RLSI | R.UART_IER_RDI;
    this.opened = true;
  }

  private waitForXmitr(bits: number): void {
    for (let tries = 0; tries < 10000; tries++) {
      if ((this.in(R.UART_LSR) & bits) === bits) return;
    }
  }

  /** serial8250_do_set_termios(): IER, divisor, LCR, FCR (two steps), MCR. */
  setTermios(t: Termios): void {
    this.termios = { ...t };
    let cval = [R.UART_LCR_WLEN5, 0x01, 0x02, R.UART_LCR_WLEN8][t.dataBits - 5];
    if (t.stopBits === 2) cval |= R.UART_LCR_STOP;
    if (t.parity !== 'none') cval |= R.UART_LCR_PARITY;
    // Linux sets EPAR whenever PARODD is clear, even without PARENB (hence LCR 0x13 for 8N1).
    if (t.parity !== 'odd') cval |= R.UART_LCR_EPAR;
    const quot = Math.max(1, Math.round(this.config.baseBaud / t.baud));
    let fcr = this.fcr;
    if (t.baud < 2400) fcr = (fcr & ~0xc0) | R.UART_FCR_R_TRIG_00;
    this.locked(() => {
      this.ier &= ~R.UART_IER_MSI;
      if (t.crtscts || !t.clocal) this.ier |= R.UART_IER_MSI;
      this.out(R.UART_IER, this.ier);
      this.out(R.UART_LCR, cval | R.UART_LCR_DLAB);
      this.out(R.UART_DLL, quot & 0xff);
      this.out(R.UART_DLM, (quot >> 8) & 0xff);
      this.out(R.UART_LCR, cval);
      this.lcr = cval;
      // Some emulated UARTs need FIFO enable before the trigger bits (8250_port.c does the same).
      this.out(R.UART_FCR, R.UART_FCR_ENABLE_FIFO);
      this.out(R.UART_FCR, fcr);
      this.setMctrl(this.mctrl);
    });
  }

  /** uart_port_dtr_rts(): raise or drop DTR and RTS. */
  dtrRts(on: boolean): void {
    this.locked(() => this.setMctrl(on ? this.mctrl | TIOCM_DTR | TIOCM_RTS : this.mctrl & ~(TIOCM_DTR | TIOCM_RTS)));
  }

  /** The open path of a tty: startup, line settings, then DTR/RTS. */
  open(t: Termios = DEFAULT_TERMIOS): void {
    if (this.opened) return;
    this.startup();
    this.setTermios(t);
    this.dtrRts(true);
  }

  /** uart_shutdown() + serial8250_do_shutdown(). */
  close(): void {
    if (!this.opened) return;
    this.dtrRts(false);
    this.locked(() => {
      this.ier &= ~(R.UART_IER_RLSI | R.UART_IER_RDI);
      this.out(R.UART_IER, this.ier);
    });
    this.locked(() => {
      this.ier = 0;
      this.out(R.UART_IER, 0);
    });
    this.locked(() => this.setMctrl(this.mctrl & ~TIOCM_OUT2));
    this.out(R.UART_LCR, this.in(R.UART_LCR) & ~R.UART_LCR_SBC);
    this.clearFifos();
    this.in(R.UART_RX);
    const chain = chainFor(this.cpu, this.config.irq);
    chain.ports = chain.ports.filter((p) => p !== this);
    if (chain.ports.length === 0) this.cpu.irqs.free(this.config.irq, chain.handler);
    this.xmit = [];
    this.opened = false;
  }

  /** uart_write(): queue bytes and start the transmitter; returns how many were queued. */
  write(data: Uint8Array): number {
    if (!this.opened) throw new MttyError('EIO', `${this.name} is not open`);
    this.locked(() => {
      for (const b of data) this.xmit.push(b);
      this.startTx();
    });
    return data.length;
  }

  /** Bytes still waiting in the transmit buffer (not yet in the UART). */
  get pendingTx(): number {
    return this.xmit.length;
  }

  private startTx(): void {
    if (!(this.ier & R.UART_IER_THRI)) {
      this.ier |= R.UART_IER_THRI;
      this.out(R.UART_IER, this.ier);
      if (this.bugs.txen) {
        const lsr = this.in(R.UART_LSR);
        if (lsr & R.UART_LSR_THRE) this.txChars();
      }
    }
  }

  private stopTx(): void {
    if (this.ier & R.UART_IER_THRI) {
      this.ier &= ~R.UART_IER_THRI;
      this.out(R.UART_IER, this.ier);
    }
  }

  /** serial8250_default_handle_irq(): IIR says whether this port has work. */
  handleIrq(): boolean {
    const iir = this.in(R.UART_IIR);
    if (iir & R.UART_IIR_NO_INT) return false;
    this.counters.interrupts++;
    this.locked(() => {
      let status = this.in(R.UART_LSR);
      if (status & (R.UART_LSR_DR | R.UART_LSR_BI)) status = this.rxChars(status);
      this.in(R.UART_MSR); // serial8250_modem_status: deltas would wake CTS/DCD waiters
      if (status & R.UART_LSR_THRE && this.ier & R.UART_IER_THRI) this.txChars();
    });
    return true;
  }

  private rxChars(lsr: number): number {
    const got: number[] = [];
    let max = RX_MAX;
    do {
      if (lsr & R.UART_LSR_OE) this.counters.overrun++;
      got.push(lsr & R.UART_LSR_DR ? this.in(R.UART_RX) : 0);
      if (--max === 0) break;
      lsr = this.in(R.UART_LSR);
    } while (lsr & (R.UART_LSR_DR | R.UART_LSR_BI));
    this.counters.rx += got.length;
    this.onReceive?.(Uint8Array.from(got));
    return lsr;
  }

  /** Fill the TX FIFO: up to 16 bytes per THRE, without re-reading LSR (what a 16550A allows). */
  private txChars(): void {
    if (this.xmit.length === 0) {
      this.stopTx();
      return;
    }
    let count = TX_LOADSZ;
    do {
      this.out(R.UART_TX, this.xmit.shift()!);
      this.counters.tx++;
    } while (this.xmit.length > 0 && --count > 0);
    if (this.xmit.length === 0) this.stopTx();
  }
}
