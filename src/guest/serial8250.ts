/**
 * One 8250-family port as Linux's drivers/tty/serial/8250 drives it: start-up
 * (serial8250_do_startup with the LSR safety check, the THRE re-assert test
 * and the TXEN test), set_termios, the interrupt handler and the transmit /
 * receive paths. The register access order follows the kernel so that a trace
 * of this model can be laid next to a trace of a real guest
 * (shared/traces/linux-8250-probe-isa.txt) access for access.
 *
 * Every path is a routine (cpu.ts): `open()`, `write()`, `close()` run it to
 * completion on the guest CPU; the lab submits the same `*Routine()` and
 * steps it one access at a time. Each access carries the label the lab shows
 * (why the driver makes it, named after the kernel function).
 *
 * Reads are interrupt-driven: received bytes only ever leave the UART inside
 * the IRQ handler, which runs when the device signals INTx.
 */
import { MttyError } from '../errors/errno.js';
import type { GuestCpu, GuestRoutine } from './cpu.js';
import type { IrqHandler } from './interrupts.js';
import * as R from './uart-regs.js';


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

const hex = (v: number) => '0x' + v.toString(16).padStart(2, '0');

/** spin_lock_irqsave(&port->lock) around a routine: interrupts raised inside are taken after it. */
function* locked<T>(body: GuestRoutine<T>): GuestRoutine<T> {
  yield { kind: 'irq-save' };
  const v = yield* body;
  yield { kind: 'irq-restore' };
  return v;
}

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

  private *interrupt(): GuestRoutine<boolean> {
    let handled = false;
    let idleRun = 0;
    let passes = 0;
    // Stop when every port in a row of ports.length said "not mine".
    for (let i = 0; idleRun < this.ports.length; i = (i + 1) % this.ports.length) {
      if (yield* this.ports[i].handleIrqRoutine()) {
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

  /** inb(iobase + off), labelled for the lab. */
  private *in(off: number, why: string): GuestRoutine<number> {
    return yield { kind: 'in', port: this.config.iobase + off, why };
  }

  private *out(off: number, v: number, why: string): GuestRoutine {
    yield { kind: 'out', port: this.config.iobase + off, value: v & 0xff, why };
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
    this.cpu.run(this.configureRoutine(style), `configure ${this.name}`);
  }

  *configureRoutine(style: 'current' | 'doc' = 'current'): GuestRoutine {
    this.cpu.log(this.reportLine(style));
    yield* this.setMctrl(this.mctrl & TIOCM_DTR, 'uart_configure_port: drop RTS (keep only DTR) until someone opens the port');
  }

  private *clearFifos(who: string): GuestRoutine {
    yield* this.out(R.UART_FCR, R.UART_FCR_ENABLE_FIFO, `${who}: serial8250_clear_fifos: enable the FIFOs so the clear bits work`);
    yield* this.out(R.UART_FCR, R.UART_FCR_ENABLE_FIFO | R.UART_FCR_CLEAR_RCVR | R.UART_FCR_CLEAR_XMIT, `${who}: clear the RX and TX FIFOs`);
    yield* this.out(R.UART_FCR, 0, `${who}: FIFOs off again (set_termios turns them on with a trigger level)`);
  }

  private *clearInterruptRegs(who: string): GuestRoutine {
    yield* this.in(R.UART_LSR, `${who}: clear stale line status (reading LSR clears OE/PE/FE/BI)`);
    yield* this.in(R.UART_RX, `${who}: drop a stale received byte`);
    yield* this.in(R.UART_IIR, `${who}: clear a stale THR-empty interrupt (reading IIR does)`);
    yield* this.in(R.UART_MSR, `${who}: clear stale modem status deltas`);
  }

  private *setMctrl(mctrl: number, why: string): GuestRoutine {
    this.mctrl = mctrl;
    let mcr = 0;
    if (mctrl & TIOCM_RTS) mcr |= R.UART_MCR_RTS;
    if (mctrl & TIOCM_DTR) mcr |= R.UART_MCR_DTR;
    if (mctrl & TIOCM_OUT1) mcr |= R.UART_MCR_OUT1;
    if (mctrl & TIOCM_OUT2) mcr |= R.UART_MCR_OUT2;
    if (mctrl & TIOCM_LOOP) mcr |= R.UART_MCR_LOOP;
    yield* this.out(R.UART_MCR, mcr, why);
  }

  /** serial8250_do_startup(). Throws ENODEV when the LSR safety check trips. */
  startup(): void {
    this.cpu.run(this.startupRoutine(), `open ${this.name}: startup`);
  }

  *startupRoutine(): GuestRoutine {
    const irq = this.config.irq;
    const who = 'startup';
    yield* this.clearFifos(who);
    yield* this.clearInterruptRegs(who);
    // Nothing decodes the address -> the bus floats to 0xff.
    if ((yield* this.in(R.UART_LSR, 'startup: LSR safety check (0xff means no UART answers at this address)')) === 0xff) {
      this.cpu.log(`${this.config.devName}: LSR safety check engaged!`);
      throw new MttyError('ENODEV', `${this.name}: LSR reads 0xff, no UART at I/O 0x${this.config.iobase.toString(16)}`);
    }

    // setup_irq: join (or create) the chain of ports on this IRQ.
    const chain = chainFor(this.cpu, irq);
    if (chain.ports.length === 0) this.cpu.irqs.request(irq, 'serial', chain.handler);
    chain.ports.push(this);

    // The THRE test: does the UART re-assert THRE when THRI is toggled off/on?
    if (irq) {
      if (this.config.shareIrq) yield { kind: 'disable-irq', irq };
      const test = 'THRE test';
      const [iir1, iir] = yield* locked(
        (function* (p: Serial8250Port): GuestRoutine<[number, number]> {
          yield* p.waitForXmitr(R.UART_LSR_THRE, `${test}: wait until THR is empty`);
          yield* p.out(R.UART_IER, R.UART_IER_THRI, `${test}: enable the THR-empty interrupt`);
          const a = yield* p.in(R.UART_IIR, `${test}: is a THR-empty interrupt pending now?`);
          yield* p.out(R.UART_IER, 0, `${test}: interrupts off`);
          yield* p.out(R.UART_IER, R.UART_IER_THRI, `${test}: on again: a 16550A re-asserts THRE`);
          const b = yield* p.in(R.UART_IIR, `${test}: pending again? (no: UART_BUG_THRE)`);
          yield* p.out(R.UART_IER, 0, `${test}: interrupts off`);
          return [a, b];
        })(this),
      );
      if (this.config.shareIrq) yield { kind: 'enable-irq', irq };
      this.bugs.thre = !(iir1 & R.UART_IIR_NO_INT) && (iir & R.UART_IIR_NO_INT) !== 0;
      // Linux would now run a ~200 ms backup timer to push TX by hand; we only report it.
      if (this.bugs.thre) this.cpu.log(`${this.name}: UART_BUG_THRE (THRE not re-asserted), backup timer needed`);
    }

    yield* this.out(R.UART_LCR, R.UART_LCR_WLEN8, 'startup: 8 data bits, DLAB off');
    this.lcr = R.UART_LCR_WLEN8;
    yield* locked(
      (function* (p: Serial8250Port): GuestRoutine {
        if (irq) p.mctrl |= TIOCM_OUT2;
        yield* p.setMctrl(p.mctrl, 'startup: OUT2 on, which on a PC routes INTR to the interrupt controller');
        // TXEN test: does enabling THRI give an interrupt at all?
        yield* p.out(R.UART_IER, R.UART_IER_THRI, 'TXEN test: enable the THR-empty interrupt');
        const lsr = yield* p.in(R.UART_LSR, 'TXEN test: is the transmitter empty?');
        const iir = yield* p.in(R.UART_IIR, 'TXEN test: did THRI give an interrupt? (no: UART_BUG_TXEN)');
        yield* p.out(R.UART_IER, 0, 'TXEN test: interrupts off');
        p.bugs.txen = (lsr & R.UART_LSR_TEMT) !== 0 && (iir & R.UART_IIR_NO_INT) !== 0;
      })(this),
    );
    yield* this.clearInterruptRegs('startup, after the tests');
    // RX interrupts are enabled by set_termios, not here.
    this.ier = R.UART_IER_RLSI | R.UART_IER_RDI;
    this.opened = true;
  }

  private *waitForXmitr(bits: number, why: string): GuestRoutine {
    for (let tries = 0; tries < 10000; tries++) {
      if (((yield* this.in(R.UART_LSR, why)) & bits) === bits) return;
    }
  }

  /** serial8250_do_set_termios(): IER, divisor, LCR, FCR (two steps), MCR. */
  setTermios(t: Termios): void {
    this.cpu.run(this.setTermiosRoutine(t), `stty ${this.name} ${t.baud}`);
  }

  *setTermiosRoutine(t: Termios): GuestRoutine {
    this.termios = { ...t };
    let cval = [R.UART_LCR_WLEN5, 0x01, 0x02, R.UART_LCR_WLEN8][t.dataBits - 5];
    if (t.stopBits === 2) cval |= R.UART_LCR_STOP;
    if (t.parity !== 'none') cval |= R.UART_LCR_PARITY;
    // Linux sets EPAR whenever PARODD is clear, even without PARENB (hence LCR 0x13 for 8N1).
    if (t.parity !== 'odd') cval |= R.UART_LCR_EPAR;
    const quot = Math.max(1, Math.round(this.config.baseBaud / t.baud));
    let fcr = this.fcr;
    if (t.baud < 2400) fcr = (fcr & ~0xc0) | R.UART_FCR_R_TRIG_00;
    const frame = `${t.baud} ${t.dataBits}${t.parity[0].toUpperCase()}${t.stopBits}`;
    const trig = [1, 4, 8, 14][fcr >> 6];
    yield* locked(
      (function* (p: Serial8250Port): GuestRoutine {
        p.ier &= ~R.UART_IER_MSI;
        if (t.crtscts || !t.clocal) p.ier |= R.UART_IER_MSI;
        yield* p.out(R.UART_IER, p.ier, `set_termios: interrupts wanted (RX data, line status${p.ier & R.UART_IER_MSI ? ', modem status' : ''})`);
        yield* p.out(R.UART_LCR, cval | R.UART_LCR_DLAB, 'set_termios: set DLAB so offsets 0/1 reach the divisor latch');
        yield* p.out(R.UART_DLL, quot & 0xff, `set_termios: divisor low byte: ${p.config.baseBaud} / ${t.baud} = ${quot}`);
        yield* p.out(R.UART_DLM, (quot >> 8) & 0xff, 'set_termios: divisor high byte');
        yield* p.out(R.UART_LCR, cval, `set_termios: frame ${frame}, DLAB off again`);
        p.lcr = cval;
        // Some emulated UARTs need FIFO enable before the trigger bits (8250_port.c does the same).
        yield* p.out(R.UART_FCR, R.UART_FCR_ENABLE_FIFO, 'set_termios: FIFO on first (some UARTs need it before the trigger bits)');
        yield* p.out(R.UART_FCR, fcr, `set_termios: FIFO on, RX trigger level ${trig}`);
        yield* p.setMctrl(p.mctrl, `set_termios: modem control lines as before (${hex(p.mctrl & 0xff)})`);
      })(this),
    );
  }

  /** uart_port_dtr_rts(): raise or drop DTR and RTS. */
  dtrRts(on: boolean): void {
    this.cpu.run(this.dtrRtsRoutine(on), `${this.name}: ${on ? 'raise' : 'drop'} DTR/RTS`);
  }

  *dtrRtsRoutine(on: boolean): GuestRoutine {
    yield* locked(this.setMctrl(on ? this.mctrl | TIOCM_DTR | TIOCM_RTS : this.mctrl & ~(TIOCM_DTR | TIOCM_RTS), on ? 'uart_port_dtr_rts: DTR and RTS on (the port is open)' : 'uart_port_dtr_rts: DTR and RTS off'));
  }

  /** The open path of a tty: startup, line settings, then DTR/RTS. */
  open(t: Termios = DEFAULT_TERMIOS): void {
    if (this.opened) return;
    this.cpu.run(this.openRoutine(t), `open ${this.name}`);
  }

  *openRoutine(t: Termios = DEFAULT_TERMIOS): GuestRoutine {
    if (this.opened) return;
    yield* this.startupRoutine();
    yield* this.setTermiosRoutine(t);
    yield* this.dtrRtsRoutine(true);
  }

  /** uart_shutdown() + serial8250_do_shutdown(). */
  close(): void {
    if (!this.opened) return;
    this.cpu.run(this.closeRoutine(), `close ${this.name}`);
  }

  *closeRoutine(): GuestRoutine {
    if (!this.opened) return;
    yield* this.dtrRtsRoutine(false);
    this.ier &= ~(R.UART_IER_RLSI | R.UART_IER_RDI);
    yield* locked(this.out(R.UART_IER, this.ier, 'shutdown: stop RX interrupts'));
    this.ier = 0;
    yield* locked(this.out(R.UART_IER, 0, 'shutdown: all interrupts off'));
    yield* locked(this.setMctrl(this.mctrl & ~TIOCM_OUT2, 'shutdown: OUT2 off (INTR no longer routed)'));
    const lcr = yield* this.in(R.UART_LCR, 'shutdown: read LCR to clear a break in progress');
    yield* this.out(R.UART_LCR, lcr & ~R.UART_LCR_SBC, 'shutdown: no break');
    yield* this.clearFifos('shutdown');
    yield* this.in(R.UART_RX, 'shutdown: drop what is left in RBR');
    const chain = chainFor(this.cpu, this.config.irq);
    chain.ports = chain.ports.filter((p) => p !== this);
    if (chain.ports.length === 0) this.cpu.irqs.free(this.config.irq, chain.handler);
    this.xmit = [];
    this.opened = false;
  }

  /** uart_write(): queue bytes and start the transmitter; returns how many were queued. */
  write(data: Uint8Array): number {
    if (!this.opened) throw new MttyError('EIO', `${this.name} is not open`);
    this.cpu.run(this.writeRoutine(data), `write to ${this.name}`);
    return data.length;
  }

  *writeRoutine(data: Uint8Array): GuestRoutine {
    if (!this.opened) throw new MttyError('EIO', `${this.name} is not open`);
    for (const b of data) this.xmit.push(b);
    yield* locked(this.startTx());
  }

  /** Bytes still waiting in the transmit buffer (not yet in the UART). */
  get pendingTx(): number {
    return this.xmit.length;
  }

  private *startTx(): GuestRoutine {
    if (!(this.ier & R.UART_IER_THRI)) {
      this.ier |= R.UART_IER_THRI;
      yield* this.out(R.UART_IER, this.ier, 'start_tx: enable the THR-empty interrupt; the handler sends the bytes');
      if (this.bugs.txen) {
        const lsr = yield* this.in(R.UART_LSR, 'start_tx (UART_BUG_TXEN): THR empty already?');
        if (lsr & R.UART_LSR_THRE) yield* this.txChars();
      }
    }
  }

  private *stopTx(): GuestRoutine {
    if (this.ier & R.UART_IER_THRI) {
      this.ier &= ~R.UART_IER_THRI;
      yield* this.out(R.UART_IER, this.ier, 'stop_tx: nothing left to send: THR-empty interrupt off');
    }
  }

  /** serial8250_default_handle_irq(): IIR says whether this port has work. */
  *handleIrqRoutine(): GuestRoutine<boolean> {
    const iir = yield* this.in(R.UART_IIR, `${this.name} handler: which interrupt is pending on this port?`);
    if (iir & R.UART_IIR_NO_INT) return false;
    this.counters.interrupts++;
    yield* locked(
      (function* (p: Serial8250Port): GuestRoutine {
        let status = yield* p.in(R.UART_LSR, `${p.name} handler: line status: data ready? errors? THR empty?`);
        if (status & (R.UART_LSR_DR | R.UART_LSR_BI)) status = yield* p.rxChars(status);
        yield* p.in(R.UART_MSR, `${p.name} handler: serial8250_modem_status: read MSR (clears its deltas)`);
        if (status & R.UART_LSR_THRE && p.ier & R.UART_IER_THRI) yield* p.txChars();
      })(this),
    );
    return true;
  }

  private *rxChars(lsr: number): GuestRoutine<number> {
    const got: number[] = [];
    let max = RX_MAX;
    do {
      if (lsr & R.UART_LSR_OE) this.counters.overrun++;
      got.push(lsr & R.UART_LSR_DR ? yield* this.in(R.UART_RX, `${this.name} handler: take the received byte (tty flip buffer)`) : 0);
      if (--max === 0) break;
      lsr = yield* this.in(R.UART_LSR, `${this.name} handler: more data?`);
    } while (lsr & (R.UART_LSR_DR | R.UART_LSR_BI));
    this.counters.rx += got.length;
    this.onReceive?.(Uint8Array.from(got));
    return lsr;
  }

  /** Fill the TX FIFO: up to 16 bytes per THRE, without re-reading LSR (what a 16550A allows). */
  private *txChars(): GuestRoutine {
    if (this.xmit.length === 0) {
      yield* this.stopTx();
      return;
    }
    let count = TX_LOADSZ;
    do {
      yield* this.out(R.UART_TX, this.xmit.shift()!, `${this.name} handler: send the next byte (up to ${TX_LOADSZ} per THR-empty)`);
      this.counters.tx++;
    } while (this.xmit.length > 0 && --count > 0);
    if (this.xmit.length === 0) yield* this.stopTx();
  }
}
