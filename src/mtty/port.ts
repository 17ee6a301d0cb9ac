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
 * Register accesses (bit n = offset n) that can observe or change the
 * character timeout, so need the Uart's clock brought up to date first while
 * one runs. Reads: RBR (it restarts the window or ends it; DLL shares the
 * offset) and IIR (it shows 0xCC). Writes: THR (a looped-back byte restarts
 * the window), IER (enables the CTI source), FCR (clears it), LCR, DLL/DLM
 * (the character time) and MCR (loopback, OUT2 gating of the line).
 * Not: IER/LCR/MCR/LSR/MSR/SCR reads and SCR/LSR/MSR writes: their values do
 * not depend on time, and the side effects of LSR/MSR reads can only lower
 * INTR, which a timeout that falls due raises again when time next moves, as
 * on a chip whose timeout fires a moment later.
 */
const SYNC_ON_READ = 0b0000_0101;
const SYNC_ON_WRITE = 0b0001_1111;

/**
 * One serial port of a device: a Uart plus the glue mtty's host side needs.
 *
 * Time: the Uart only knows time it is handed. While it has a character
 * timeout running (`uart.timed`), an access that can observe or change it
 * first advances the Uart to clock.now(), and the port keeps at most one
 * timer at the Uart's next deadline. An idle port reads no clock and has no
 * timer, so a real-clock process can exit and a ManualClock stays empty.
 *
 * Interrupts: delivered as the profile declares (UartProfileDefinition.irq):
 * 'level' ports report INTR changes (onLine), 'pulse' ports their events (onPulse).
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
    /** Where the port reads time and sets its timer (--record checks it shares it). */
    readonly clock: Clock,
    /** Level changes of INTR, for a profile whose irq style is 'level'. */
    private readonly onLine: (port: MttyPort) => void,
    /** Events, for a profile whose irq style is 'pulse' (the kernel sample's trigger points). */
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

  /** True when this port's profile declares a level-driven INTR (the 16550 model). */
  get levelTriggered(): boolean {
    return this.uart.profileDefinition.irq === 'level';
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
      const wasTimed = this.uart.timed;
      if (wasTimed) this.sync();
      const result = fn(this.uart);
      this.rearm(wasTimed);
      return result;
    } finally {
      this.leave();
    }
  }

  /**
   * withUart() for one register access (value < 0: a read), spelled out
   * without a closure: this is every BAR access's path. Time is brought up
   * to date only while a timeout runs and only for the accesses that can see
   * or move it (SYNC_ON_READ/WRITE); an access that did not sync cannot have
   * moved the deadline, so the armed timer stays as it is.
   */
  private access(offset: number, value: number): number {
    this.depth++;
    try {
      const u = this.uart;
      const wasTimed = u.timed;
      const synced = wasTimed && ((value < 0 ? SYNC_ON_READ : SYNC_ON_WRITE) >> offset) & 1;
      if (synced) this.sync();
      let v = 0;
      if (value < 0) v = u.read(offset);
      else u.write(offset, value);
      if (synced || !wasTimed) this.rearm(wasTimed);
      // RBR read (room in RX) or IER/DLM..MCR write (line settings, FIFO reset): the holder may move bytes.
      if (this.host !== null && this.host.onKick !== null && (value < 0 ? offset === 0 : offset >= 1 && offset <= 4)) this.host.onKick();
      return v;
    } finally {
      this.leave();
    }
  }

  /**
   * After an access: if a timeout runs now, make sure a timer waits for it.
   * One the access started (nothing was timed before) is measured from now:
   * the untimed stretch before it is not the port's business (see sync()).
   */
  private rearm(wasTimed: boolean): void {
    if (!this.uart.timed) return;
    if (!wasTimed) this.lastSync = this.clock.now();
    this.schedule();
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

  /**
   * The Clock reading (ns) the Uart's time was last brought to: the time
   * this port used for the last access that could observe or move the
   * character timeout (sync() before it, or rearm() when the access started
   * one). A later access that did not sync used this time too. --record
   * stamps each access with it (src/replay/record.ts) so a replay advances
   * its Uart exactly as the port did, however long after the access a
   * recorder could read the clock.
   */
  get time(): number {
    return this.lastSync;
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

  // Why time is kept only while `uart.timed`: reading the clock
  // (performance.now) costs more than the register access itself, and with
  // nothing armed the core's time is not observable: its only timed
  // behaviour, the character timeout, is measured from the last RX byte / RBR
  // read, a moment the arming access sets itself. Untimed idle stretches are
  // left out of the port's virtual time, and rearm() re-anchors lastSync to
  // now when an access arms a deadline.

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
    // The profile's declared irq style decides the meaning: a level, or events.
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

  /**
   * At most one timer, never later than the Uart's next deadline (measured
   * from lastSync, the moment the Uart's clock was last brought to); none is
   * armed while nothing is timed.
   */
  private schedule(): void {
    if (this.disposed) return;
    const delay = this.uart.nextDeadline();
    // Timers are cancelled lazily: every received byte pushes the deadline back
    // and every RBR read that empties the FIFO ends it, and a host timer
    // cancelled and created per byte costs more than the register access. So a
    // timer already armed stays: when it fires it either finds nothing timed
    // (and is not re-armed) or finds the deadline ahead and re-arms for the rest.
    if (delay < 0) return;
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
