/**
 * `serialport:<path>[,baud]`: the port's line bridged to a host serial device
 * through the `serialport` package (real device, USB adapter, a pty, or the
 * mock binding in tests).
 *
 * What is forwarded, and how far:
 *   - speed: guest divisor changes -> port.update({baudRate}) (a live ioctl);
 *   - framing (data bits, parity, stop bits): serialport can only set these
 *     at open, so a change closes and reopens the device with the new
 *     framing. If the device refuses, the old framing is restored and a
 *     'degraded' event says so; the guest keeps its own settings either way;
 *   - modem lines: MCR DTR/RTS -> port.set() while the device accepts it.
 *     ptys (and some adapters) reject modem ioctls; after the first refusal
 *     we stop trying, say so once, and MCR/MSR live only in the model. The
 *     guest's MSR inputs show a connected cable (CTS/DSR/DCD high) - we do not
 *     poll the device's real CTS/DSR/DCD, which a pty cannot report anyway.
 * The `,baud` in the spec is the speed the device is opened with; as soon as
 * the guest programs a different divisor, the guest's speed wins.
 */
import type { Clock } from '../clock/clock.js';
import { MttyError, type ErrnoName } from '../errors/errno.js';
import { StreamLink, settingsKey } from './stream-link.js';
import { MODEM_OUT, usableBaud, type LineSettings } from './uart-port.js';

/** The slice of a SerialPortStream we use (keeps the package's types out of our API). */
export interface SerialDevice {
  readonly isOpen: boolean;
  open(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): void;
  update(o: { baudRate: number }, cb: (err: Error | null) => void): void;
  set(o: { dtr?: boolean; rts?: boolean }, cb: (err: Error | null) => void): void;
  on(ev: string, fn: (...a: any[]) => void): unknown;
  off(ev: string, fn: (...a: any[]) => void): unknown;
}

export interface SerialPortOptions {
  clock: Clock;
  /** A serialport binding (tests: SerialPortMock.binding). Default: the platform binding. */
  binding?: unknown;
}

type Framing = Pick<LineSettings, 'dataBits' | 'parity' | 'stopBits'>;

function framingKey(f: Framing): string {
  return `${f.dataBits}${f.parity[0]!.toUpperCase()}${f.stopBits}`;
}

/** Map what serialport/bindings say to the errno the kernel would have given open(2). */
export function openErrno(e: unknown): ErrnoName {
  const m = e instanceof Error ? e.message : String(e);
  if (/ENOENT|No such file|does not exist/i.test(m)) return 'ENOENT';
  if (/EACCES|Permission denied/i.test(m)) return 'EACCES';
  if (/EBUSY|Cannot lock|already open|Resource temporarily unavailable/i.test(m)) return 'EBUSY';
  // serialport words option refusals as 'Invalid stop bits setting ...', '"dataBits" is not ...'.
  if (/EINVAL|Invalid|not supported|is not a valid|must be/i.test(m)) return 'EINVAL';
  return 'EIO';
}

function call(fn: (cb: (err: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

export class SerialPortBackend extends StreamLink {
  readonly kind = 'serialport' as const;
  /** The open device (tests inspect the mock binding through it); changes on reopen. */
  device: SerialDevice | null = null;
  private readonly devicePath: string;
  private readonly openBaud: number | undefined;
  private readonly binding: unknown;
  private applied: { baud: number; framing: Framing } | null = null;
  /** Settings work is serialised: a reopen must not overlap an update. */
  private chain: Promise<void> = Promise.resolve();
  private reopening = false;
  private modemCtl = true;
  private lastOutputs = -1;
  private onClose: ((err: Error | null) => void) | null = null;

  constructor(spec: string, path: string, baud: number | undefined, opts: SerialPortOptions) {
    super(spec, opts.clock);
    this.devicePath = path;
    this.path = path;
    this.openBaud = baud;
    this.binding = opts.binding;
  }

  protected async openHost(): Promise<void> {
    const g = this.link!.lineSettings;
    const baud = this.openBaud ?? usableBaud(g) ?? 9600;
    const framing = { dataBits: g.dataBits, parity: g.parity, stopBits: g.stopBits };
    try {
      await this.openDevice(baud, framing);
    } catch (e) {
      // The device may just not do the guest's framing (1.5 stop bits on Linux); the
      // line is still worth having at 8N1, so retry once before giving up.
      const n81: Framing = { dataBits: 8, parity: 'none', stopBits: 1 };
      if (openErrno(e) !== 'EINVAL' || framingKey(framing) === framingKey(n81)) throw this.openError(e);
      try {
        await this.openDevice(baud, n81);
      } catch (e2) {
        throw this.openError(e2);
      }
      this.degrade(`${this.devicePath} refused framing ${framingKey(framing)}; opened as 8N1`);
    }
  }

  private openError(e: unknown): MttyError {
    const m = e instanceof Error ? e.message : String(e);
    return new MttyError(openErrno(e), `cannot open serial device ${this.devicePath}: ${m}`);
  }

  private async openDevice(baud: number, framing: Framing): Promise<void> {
    const { SerialPort } = await import('serialport');
    const options: Record<string, unknown> = {
      path: this.devicePath,
      baudRate: baud,
      dataBits: framing.dataBits,
      parity: framing.parity,
      stopBits: framing.stopBits,
      autoOpen: false,
    };
    if (this.binding) options.binding = this.binding;
    const dev = new SerialPort(options as never) as unknown as SerialDevice;
    await call((cb) => dev.open(cb));
    this.device = dev;
    this.applied = { baud, framing: { ...framing } };
    this.lastOutputs = -1; // a freshly opened device has default DTR/RTS: forward ours again
    this.onClose = (err: Error | null) => {
      if (this.reopening) return;
      // serialport reports an unplug as close(DisconnectedError); a close we did not ask
      // for without an error is the same thing seen from the guest.
      this.lost(err ? err.message : 'device closed');
    };
    dev.on('close', this.onClose);
    this.bind(dev as never, dev as never, (reason) => this.lost(reason));
  }

  private async closeDevice(): Promise<void> {
    const dev = this.device;
    this.device = null;
    if (!dev) return;
    // TX during a reopen is then discarded and counted instead of queueing on a dead stream.
    this.unbindStreams();
    if (this.onClose) dev.off('close', this.onClose);
    if (dev.isOpen) await call((cb) => dev.close(cb)).catch(() => undefined);
  }

  /**
   * Resolves when the settings work queued so far (a speed change, or a close
   * and reopen for new framing) has finished. Bytes the far end sends while the
   * device is being reopened are lost (opening a tty flushes its input), so a
   * caller that needs the line quiet-and-ready waits for this.
   */
  idle(): Promise<void> {
    return this.chain;
  }

  protected applySettings(s: LineSettings, first: boolean): void {
    // At attach the device was opened with the guest's framing and the spec's (or guest's) speed.
    if (first) return;
    this.chain = this.chain.then(() => this.applyNow(s)).catch(() => undefined);
  }

  private async applyNow(s: LineSettings): Promise<void> {
    if (this.state !== 'connected' || !this.applied || !this.device) return;
    const framing: Framing = { dataBits: s.dataBits, parity: s.parity, stopBits: s.stopBits };
    const wanted = usableBaud(s);
    if (wanted === undefined) {
      this.degrade(`guest divisor ${s.divisor} gives no usable speed; ${this.devicePath} keeps its speed`);
    }
    const baud = wanted ?? this.applied.baud;
    if (framingKey(framing) !== framingKey(this.applied.framing)) {
      await this.reopen(baud, framing, s);
      return;
    }
    if (baud !== this.applied.baud) {
      const dev = this.device;
      try {
        await call((cb) => dev.update({ baudRate: baud }, cb));
        this.applied.baud = baud;
      } catch (e) {
        this.degrade(`${this.devicePath} refused ${baud} baud (${(e as Error).message}); it stays at ${this.applied.baud}`);
      }
    }
  }

  private async reopen(baud: number, framing: Framing, s: LineSettings): Promise<void> {
    const old = this.applied!;
    this.reopening = true;
    try {
      await this.closeDevice();
      try {
        await this.openDevice(baud, framing);
        return;
      } catch (e) {
        this.degrade(`${this.devicePath} refused ${settingsKey(s)} (${(e as Error).message}); kept ${old.baud} ${framingKey(old.framing)}`);
      }
      try {
        await this.openDevice(old.baud, old.framing);
      } catch (e) {
        this.reopening = false;
        this.lost(`reopen failed: ${(e as Error).message}`);
      }
    } finally {
      this.reopening = false;
    }
  }

  protected override serviceHook(): void {
    const dev = this.device;
    if (!this.modemCtl || !dev || this.reopening) return;
    const out = this.link!.modemOutputs & (MODEM_OUT.DTR | MODEM_OUT.RTS);
    if (out === this.lastOutputs) return;
    this.lastOutputs = out;
    dev.set({ dtr: (out & MODEM_OUT.DTR) !== 0, rts: (out & MODEM_OUT.RTS) !== 0 }, (err) => {
      if (!err) return;
      this.modemCtl = false;
      this.degrade(`${this.devicePath} rejects modem control (${err.message}); DTR/RTS stay in the model only`);
    });
  }

  protected async closeHost(): Promise<void> {
    await this.chain;
    await this.closeDevice();
  }
}
