import type { Clock } from '../clock/clock.js';
import { fail } from '../errors/errno.js';
import type { PortUart } from './port-uart.js';
import type { LineSettings } from '../uart/index.js';

/**
 * The one interface a host back-end (src/host: pty, serialport) gets when it
 * takes a port's line with MttyPort.takeForHost(). Everything a back-end does
 * to the port goes through it, so the port keeps its clock, timer and
 * interrupt bookkeeping right (a host byte arms the character timeout and
 * raises INTR exactly like a guest access would).
 */
export interface HostLink {
  /**
   * Bytes arriving on the port's SIN; returns how many fit in the RX FIFO
   * (the rest are the caller's to hold: back-pressure, never overrun).
   */
  receive(bytes: Uint8Array): number;
  /** Free RX FIFO entries (1 in 16450 mode), for back-pressure. */
  rxSpace(): number;
  /** MSR inputs: CTS 0x10, DSR 0x20, RI 0x40, DCD 0x80 (PC16550D section 8.6.8). */
  setModemInputs(bits: number): void;
  /** MCR outputs the far end sees: DTR 0x01, RTS 0x02, OUT1 0x04, OUT2 0x08. */
  readonly modemOutputs: number;
  /** The guest's speed and framing (divisor latch and LCR), for pacing and for the host device. */
  readonly lineSettings: LineSettings;
  /**
   * Set by the back-end; the port calls it right after a guest access that
   * can make room in the RX FIFO (an RBR read) or change the line (a write to
   * IER/DLM, FCR, LCR or MCR), so held host bytes move at once instead of at
   * the next poll. Called inside the access, before its interrupts are delivered.
   */
  onKick: (() => void) | null;
  /** Give the port back: it loops back again, as mtty does. Idempotent. */
  release(): void;
  /** True once released (by the holder, or because the device was removed). */
  readonly released: boolean;
}

/**
 * One serial port of a device: a Uart plus the glue mtty's host side needs.
 *
 * Time: the Uart only knows time it is handed. Before each access the port
 * advances the Uart to clock.now(), and after it keeps at most one timer at
 * the Uart's next deadline (the character timeout). An idle port has no
 * timer, so a real-clock process can exit and a ManualClock stays empty.
 */
export class MttyPort {
  /** Last INTR level reported by the Uart (level-triggered profile only). */
  level = false;
  private lastSync: number;
  private cancelTimer: (() => void) | null = null;
  private timerAt = -1;
  private host: HostLink | null = null;
  private disposed = false;

  /** Nesting of calls into the Uart; interrupts are delivered when it drops to 0. */
  private depth = 0;
  private pendingPulses = 0;
  private lineDirty = false;
  private microtaskQueued = false;

  constructor(
    readonly index: number,
    readonly uart: PortUart,
    private readonly clock: Clock,
    /** Level changes of a 'pc16550d' Uart's INTR. */
    private readonly onLine: (port: MttyPort) => void,
    /** Events of an 'mtty' Uart: one per trigger point of the kernel sample. */
    private readonly onPulse: (port: MttyPort) => void,
  ) {
    this.lastSync = clock.now();
    // The Uart calls these from inside the wasm core. Nothing is signalled
    // from there: an IrqSink whose handler reads registers at once would
    // re-enter the core half-way through an access. They are only noted,
    // and delivered by deliver() once the core has returned.
    // Someone driving port.uart directly (an inspector, a host adapter) gets
    // its interrupts delivered in a microtask, after its call has returned.
    uart.onIrqLine = (level) => {
      this.level = level;
      this.lineDirty = true;
      this.deliverLaterIfOutside();
    };
    uart.onIrqPulse = () => {
      this.pendingPulses++;
      this.deliverLaterIfOutside();
    };
    this.level = uart.irq;
  }

  /** True when this port's INTR is level-driven (the 16550 model). */
  get levelTriggered(): boolean {
    return this.uart.profile === 'pc16550d';
  }

  /** A guest register read (offset 0-7). */
  read(offset: number): number {
    return this.access(offset, -1);
  }

  /** A guest register write (offset 0-7). */
  write(offset: number, value: number): void {
    this.access(offset, value & 0xff);
  }

  /**
   * Run `fn` on the Uart with time brought up to date, then rearm the timer
   * and deliver the interrupts the call raised. Host code that touches the
   * Uart should come through here so timing and interrupts stay right.
   */
  withUart<T>(fn: (uart: PortUart) => T): T {
    this.depth++;
    try {
      const synced = this.syncIfTimed();
      const result = fn(this.uart);
      this.schedule(synced);
      return result;
    } finally {
      this.leave();
    }
  }

  /**
   * withUart() for one register access (value < 0: a read), spelled out
   * without a closure: this is every BAR access's path.
   */
  private access(offset: number, value: number): number {
    this.depth++;
    try {
      const synced = this.syncIfTimed();
      let v = 0;
      if (value < 0) v = this.uart.read(offset);
      else this.uart.write(offset, value);
      this.schedule(synced);
      // RBR read (room in RX) or IER/DLM..MCR write (line settings, FIFO reset): the holder may move bytes.
      if (this.host !== null && this.host.onKick !== null && (value < 0 ? offset === 0 : offset >= 1 && offset <= 4)) this.host.onKick();
      return v;
    } finally {
      this.leave();
    }
  }

  /** End of an outermost access: hand over the interrupts it raised, if any. */
  private leave(): void {
    if (--this.depth === 0 && (this.pendingPulses > 0 || this.lineDirty)) this.deliver();
  }

  get hostAttached(): boolean {
    return this.host !== null;
  }

  /**
   * Hand the port's line to a host back-end: TX bytes go to `onTransmit`
   * instead of looping back, and RX comes from the returned link. EBUSY if
   * another back-end holds it, ENODEV once the device is removed. Who holds
   * which line is recorded by the control layer (src/control/host-lines.ts);
   * the port only knows that it is held.
   */
  takeForHost(onTransmit: (byte: number) => void): HostLink {
    if (this.disposed) fail('ENODEV', `port ${this.index} belongs to a removed device`);
    if (this.host) fail('EBUSY', `port ${this.index} is already attached to a host back-end`);
    if (typeof onTransmit !== 'function') fail('EINVAL', 'takeForHost needs a function to receive transmitted bytes');
    this.uart.onTransmit = onTransmit;
    this.uart.wiring = 'host';
    const port = this;
    const live = (): void => {
      if (port.host !== link) fail('ENODEV', 'this host link was released');
    };
    const link: HostLink = {
      onKick: null,
      receive: (bytes) => {
        live();
        return this.withUart((u) => u.receiveMany(bytes));
      },
      rxSpace: () => (this.host === link ? this.uart.rxSpace() : 0),
      setModemInputs: (bits) => {
        live();
        this.withUart((u) => u.setModemInputs(bits));
      },
      get modemOutputs() {
        live();
        return port.uart.modemOutputs;
      },
      get lineSettings() {
        live();
        return port.uart.lineSettings;
      },
      get released() {
        return port.host !== link;
      },
      release: () => {
        if (this.host !== link) return;
        this.host = null;
        link.onKick = null;
        if (this.disposed) return;
        this.uart.onTransmit = null;
        this.uart.wiring = 'loopback';
      },
    };
    this.host = link;
    return link;
  }

  /**
   * Restore the UART from a full snapshot, keeping what belongs to the board
   * and the line, not the chip: where TX goes (wiring, so an attached host
   * back-end keeps its line), the OUT2 gate, and the modem inputs the line
   * drives now (a difference to the snapshot shows up as MSR delta bits, as a
   * line change would).
   */
  restoreUart(bytes: Uint8Array): void {
    this.withUart((u) => {
      const wiring = u.wiring;
      const gate = u.out2Gate;
      const modem = u.modemInputs;
      u.restoreState(bytes);
      u.wiring = wiring;
      u.out2Gate = gate;
      u.setModemInputs(modem);
    });
  }

  /** Bring the Uart's clock to now (fires any char timeout that is due). */
  sync(): void {
    const now = this.clock.now();
    if (now > this.lastSync) {
      const dt = now - this.lastSync;
      this.lastSync = now;
      this.uart.advance(dt);
    }
  }

  /**
   * sync(), but only while the Uart has a timed event armed; returns whether
   * it synced. Why: reading the clock (performance.now) costs more than the
   * register access itself, and with nothing armed the core's time is not
   * observable: its only timed behaviour, the character timeout, is measured
   * from the last RX byte / RBR read, a moment the arming access sets itself.
   * Untimed idle stretches are left out of the port's virtual time, and
   * schedule() re-anchors lastSync to now when an access arms a deadline.
   */
  private syncIfTimed(): boolean {
    if (this.uart.nextDeadline() < 0) return false;
    this.sync();
    return true;
  }

  private deliverLaterIfOutside(): void {
    if (this.depth > 0 || this.microtaskQueued) return;
    this.microtaskQueued = true;
    queueMicrotask(() => {
      this.microtaskQueued = false;
      if (this.depth === 0) this.deliver();
    });
  }

  /** Hand the noted interrupt events to the device, outside the wasm core. */
  private deliver(): void {
    if (this.disposed) return;
    // The profile decides the meaning: a level for the 16550 model, events for mtty's.
    const levelTriggered = this.levelTriggered;
    while (this.pendingPulses > 0) {
      this.pendingPulses--;
      if (!levelTriggered) this.onPulse(this);
    }
    if (this.lineDirty) {
      this.lineDirty = false;
      if (levelTriggered) this.onLine(this);
    }
  }

  /** At most one timer, never later than the Uart's next deadline; none is armed while nothing is timed. */
  schedule(synced = true): void {
    if (this.disposed) return;
    const delay = this.uart.nextDeadline();
    // Timers are cancelled lazily: every received byte pushes the deadline back
    // and every RBR read that empties the FIFO ends it, and a host timer
    // cancelled and created per byte costs more than the register access. So a
    // timer already armed stays: when it fires it either finds nothing timed
    // (and is not re-armed) or finds the deadline ahead and re-arms for the rest.
    if (delay < 0) return; // nothing timed: no clock read at all
    if (!synced) this.lastSync = this.clock.now(); // the idle stretch before this access held nothing timed
    const at = this.lastSync + delay;
    if (this.timerAt >= 0 && at >= this.timerAt) return;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.timerAt = at;
    this.cancelTimer = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => {
      this.cancelTimer = null;
      this.timerAt = -1;
      if (this.disposed) return;
      this.withUart(() => undefined); // advance to now: the due timeout fires, the next one is armed
    });
  }

  /** Device removed: no more timers, host link cut, the Uart's handle freed. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.host = null;
    this.uart.onIrqLine = null;
    this.uart.onIrqPulse = null;
    this.uart.onTransmit = null;
    this.uart.dispose();
  }
}
