/**
 * The bridge between a port's HostLink and a host byte stream, shared by the serialport
 * and pty back-ends: TX batching, RX through the back-pressure pump, the
 * disconnect fallback, line-settings tracking and the service timer. The
 * subclasses only know how to open and close their kind of host side.
 *
 * Disconnect fallback (the host side vanished by itself: device unplugged,
 * socat killed): the UART stays attached in wiring 'host' and fully usable,
 * and looks like a port whose cable was pulled -
 *   - modem inputs all low, so MSR shows CTS/DSR/DCD = 0 with DCTS/DDSR/DDCD
 *     set (and an MS interrupt if the guest enabled EDSSI);
 *   - every TX byte is discarded and counted in status().txDiscarded;
 *   - bytes already received before the loss are still delivered;
 *   - a 'disconnected' event says what happened. Re-attaching a back-end
 *     (`mtty host attach --force`) is the way back; there is no silent reconnect.
 */
import type { Readable, Writable } from 'node:stream';
import type { Clock } from '../clock/clock.js';
import { MttyError } from '../errors/errno.js';
import type { BackendKind } from './spec.js';
import { HostEvents, type HostBackend, type HostEvent, type HostState, type HostStatus } from './backend.js';
import { RxPump } from './rx-pump.js';
import { MODEM_CONNECTED, MODEM_DISCONNECTED, type HostLink, type HostPort, type LineSettings } from './uart-port.js';

/**
 * Guest TX is not flow-controlled (the model's THR drains at once), so a host
 * side that stops reading would grow our buffer without bound. Past this many
 * unwritten bytes TX is discarded and counted instead - never silently.
 */
export const TX_BUFFER_LIMIT = 64 * 1024;

/** How often, in clock time, the link looks at the guest's line settings unprompted. */
export const SETTINGS_POLL_NS = 20_000_000;

function ignoreError(): void {}

export function settingsKey(s: LineSettings): string {
  return `${s.baud} ${s.dataBits}${s.parity[0]!.toUpperCase()}${s.stopBits}`;
}

export abstract class StreamLink implements HostBackend {
  abstract readonly kind: BackendKind;
  readonly spec: string;
  protected readonly clock: Clock;
  /** The port's line while we hold it (null before attach and after close). */
  protected link: HostLink | null = null;
  protected state: HostState = 'idle';
  protected readonly events = new HostEvents();
  protected readonly warnings: string[] = [];
  protected path: string | undefined;
  protected linkPath: string | undefined;

  private pump: RxPump | null = null;
  private input: Readable | null = null;
  private output: Writable | null = null;
  private unbind: (() => void) | null = null;
  private txBatch: number[] = [];
  private flushQueued = false;
  private txBytes = 0;
  private txDiscarded = 0;
  private discardReported = false;
  private cancelService: (() => void) | null = null;
  private lastSettings: string | null = null;
  private guestSettings: LineSettings | undefined;

  constructor(spec: string, clock: Clock) {
    this.spec = spec;
    this.clock = clock;
  }

  /** Open the host side and call bind() with its streams; throw MttyError on failure. */
  protected abstract openHost(): Promise<void>;
  /** Release the host side (called once, on close()). */
  protected abstract closeHost(): Promise<void>;
  /**
   * The guest changed its line settings; push them to the host side if it can
   * take them. `first` is the call at attach time.
   */
  protected abstract applySettings(s: LineSettings, first: boolean): void;
  /** Called on every service pass while connected (modem-output forwarding and the like). */
  protected serviceHook(): void {}

  async attach(port: HostPort): Promise<void> {
    if (this.state !== 'idle') throw new Error(`${this.kind} back-end is single-use (state ${this.state})`);
    // Take the line first (EBUSY before anything is spawned or opened); the
    // host side is opened with the guest's settings read through the link.
    let link: HostLink;
    try {
      link = port.takeForHost((b) => this.transmit(b));
    } catch (e) {
      this.state = 'closed'; // single-use: a refused back-end is spent, nothing was opened
      throw e;
    }
    this.link = link;
    this.pump = new RxPump(
      link,
      this.clock,
      { pause: () => this.input?.pause(), resume: () => this.input?.resume() },
      (e) => this.fault(e),
    );
    try {
      await this.openHost();
    } catch (e) {
      // A failed open leaves the port as it was: looping back.
      this.unbind?.();
      this.pump.clear();
      this.link = null;
      link.release();
      this.state = 'closed';
      throw e;
    }
    if (link.released) {
      // The device went away while the host side was opening.
      await this.close();
      throw new MttyError('ENODEV', `${this.spec}: the port's device was removed while its host side was opening`);
    }
    link.onKick = () => this.kick();
    link.setModemInputs(MODEM_CONNECTED);
    this.state = 'connected';
    this.emit({ type: 'connected', message: `${this.spec}: connected${this.path ? ` (${this.path})` : ''}` });
    this.service();
  }

  /** Subclasses hand over (or swap, on reopen) the streams bytes flow through. */
  protected bind(input: Readable, output: Writable, onGone: (reason: string) => void): void {
    this.unbind?.();
    const onData = (chunk: Buffer) => this.pump?.push(chunk);
    const onEnd = () => onGone('host side closed its output');
    const onInErr = (e: Error) => onGone(e.message);
    const onOutErr = (e: Error) => onGone(e.message);
    // A stream that errors after we let go of it (a write still in flight when the
    // device vanished) must not crash the daemon with an unhandled 'error': these stay.
    input.on('error', ignoreError);
    output.on('error', ignoreError);
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onInErr);
    output.on('error', onOutErr);
    this.input = input;
    this.output = output;
    if (this.pump?.paused) input.pause();
    this.unbind = () => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onInErr);
      output.off('error', onOutErr);
      this.input = null;
      this.output = null;
      this.unbind = null;
    };
  }

  /** Stop using the current streams (a subclass is about to replace them). */
  protected unbindStreams(): void {
    this.unbind?.();
  }

  /** The host side vanished: switch to the documented fallback and say so. */
  protected lost(reason: string): void {
    if (this.state !== 'connected') return;
    this.state = 'disconnected';
    this.unbind?.();
    const dropped = this.txBatch.length;
    this.txBatch = [];
    this.txDiscarded += dropped;
    try {
      this.link?.setModemInputs(MODEM_DISCONNECTED);
    } catch (e) {
      this.fault(e);
      return;
    }
    this.emit({
      type: 'disconnected',
      reason,
      message:
        `${this.spec}: host side disconnected (${reason}); the UART stays usable: ` +
        `modem inputs dropped (MSR CTS/DSR/DCD low, deltas set), TX bytes are discarded and counted` +
        (this.pump && this.pump.held > 0 ? `, ${this.pump.held} received bytes still being delivered` : ''),
    });
  }

  private transmit(byte: number): void {
    if (this.state !== 'connected') {
      this.discard(1, 'the host side is disconnected');
      return;
    }
    this.txBatch.push(byte);
    if (!this.flushQueued) {
      // One write per burst, not per byte: a 16-byte THR burst becomes one syscall.
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    const bytes = this.txBatch;
    this.txBatch = [];
    if (bytes.length === 0) return;
    const out = this.output;
    if (this.state !== 'connected' || !out) {
      this.discard(bytes.length, this.state === 'connected' ? 'the device is being reopened' : 'the host side is disconnected');
      return;
    }
    if (out.writableLength + bytes.length > TX_BUFFER_LIMIT) {
      this.discard(bytes.length, `the host side is not reading (${out.writableLength} bytes unwritten)`);
      return;
    }
    this.discardReported = false;
    out.write(Buffer.from(bytes));
    this.txBytes += bytes.length;
    try {
      this.checkSettings();
    } catch (e) {
      this.fault(e);
    }
  }

  private discard(n: number, why: string): void {
    this.txDiscarded += n;
    if (!this.discardReported) {
      this.discardReported = true;
      this.emit({ type: 'tx-discarded', message: `${this.spec}: guest TX discarded because ${why} (counted in txDiscarded)` });
    }
  }

  kick(): void {
    if (this.state === 'idle' || this.state === 'closed') return;
    this.pump?.deliver();
    try {
      this.checkSettings();
      if (this.state === 'connected') this.serviceHook();
    } catch (e) {
      this.fault(e);
    }
  }

  /** The periodic unprompted look at the line (settings; RX is the pump's own timer). */
  private service(): void {
    this.cancelService = null;
    if (this.state === 'closed') return;
    this.kick();
    if ((this.state as HostState) === 'closed') return; // kick() may have faulted and closed us
    this.cancelService = this.clock.setTimer(SETTINGS_POLL_NS, () => this.service());
  }

  /**
   * The UART itself failed (its device was removed while the line was up): no
   * fallback makes sense, so say so and release the host side (no socat is
   * left running for a port that no longer exists).
   */
  private fault(e: unknown): void {
    if (this.state === 'closed') return;
    const msg = e instanceof Error ? e.message : String(e);
    this.emit({
      type: 'disconnected',
      reason: `UART unusable: ${msg}`,
      message: `${this.spec}: the port's UART is gone (${msg}); closing the host side`,
    });
    void this.close().catch(() => undefined);
  }

  private checkSettings(): void {
    const link = this.link;
    if (!link || this.state === 'closed') return;
    const s = link.lineSettings;
    const key = settingsKey(s);
    if (key === this.lastSettings) return;
    const first = this.lastSettings === null;
    this.lastSettings = key;
    this.guestSettings = { ...s };
    if (this.state === 'connected') this.applySettings(this.guestSettings, first);
    this.emit({ type: 'settings', settings: this.guestSettings, message: `${this.spec}: guest line settings ${key}` });
  }

  /** Record a refusal once and tell listeners; the link carries on without it. */
  protected degrade(message: string): void {
    if (this.warnings.includes(message)) return;
    this.warnings.push(message);
    this.emit({ type: 'degraded', message: `${this.spec}: ${message}` });
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasOpen = this.state !== 'idle';
    this.state = 'closed';
    this.cancelService?.();
    this.cancelService = null;
    this.unbind?.();
    const dropped = this.pump?.clear() ?? 0;
    // The line goes back before anything is awaited: the port loops back at once
    // and the next back-end can take it while socat is still exiting.
    this.link?.release();
    this.link = null;
    if (wasOpen) await this.closeHost();
    this.emit({
      type: 'closed',
      message: `${this.spec}: detached` + (dropped ? ` (${dropped} received bytes not yet read by the guest were dropped)` : ''),
    });
  }

  status(): HostStatus {
    return {
      kind: this.kind,
      spec: this.spec,
      state: this.state,
      ...(this.path !== undefined ? { path: this.path } : {}),
      ...(this.linkPath !== undefined ? { link: this.linkPath } : {}),
      rxBytes: this.pump?.delivered ?? 0,
      rxHeld: this.pump?.held ?? 0,
      rxPaused: this.pump?.paused ?? false,
      txBytes: this.txBytes,
      txDiscarded: this.txDiscarded,
      ...(this.guestSettings ? { guestSettings: { ...this.guestSettings } } : {}),
      warnings: [...this.warnings],
    };
  }

  onEvent(listener: (e: HostEvent) => void): () => void {
    return this.events.on(listener);
  }

  protected emit(e: HostEvent): void {
    this.events.emit(e);
  }
}
