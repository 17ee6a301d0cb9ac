/**
 * What every host back-end is: the far end of one port's serial line.
 *
 * A back-end owns host resources (a device fd, a socat process) and moves
 * bytes between them and a Uart. It reports what happens on the line as
 * events, because the interesting moments (cable pulled, a speed the device
 * refused) happen asynchronously and someone - the daemon log, the console
 * banner, a test - has to be told instead of finding out from silence.
 */
import type { BackendKind } from './spec.js';
import type { HostPort, LineSettings } from './uart-port.js';

/**
 * Where a back-end's line is: 'idle' (not attached), 'connected', 'disconnected' (host side gone), 'closed'.
 */
export type HostState = 'idle' | 'connected' | 'disconnected' | 'closed';

/**
 * What happened on a port's line, as told to listeners (HostBackend.onEvent): connected,
 * disconnected (with reason), degraded (host refused a setting), settings, tx-discarded, closed.
 */
export type HostEvent =
  | { type: 'connected'; message: string }
  /** The host side went away by itself; the UART keeps running in its documented fallback. */
  | { type: 'disconnected'; message: string; reason: string }
  /** The host side refused something (a speed, framing, modem lines); we carry on without it. */
  | { type: 'degraded'; message: string }
  /** The guest changed its line settings (and, where possible, the host side followed). */
  | { type: 'settings'; message: string; settings: LineSettings }
  /** First TX byte thrown away since the line went down or the host stopped reading. */
  | { type: 'tx-discarded'; message: string }
  | { type: 'closed'; message: string };

/**
 * A back-end's status: kind, spec, state, pty/device path, byte counters (rx/tx, held, discarded), guest line settings, warnings.
 */
export interface HostStatus {
  kind: BackendKind;
  spec: string;
  state: HostState;
  /** Device path (serialport) or pty slave path. */
  path?: string;
  /** The stable symlink of a pty. */
  link?: string;
  /** Bytes the host side sent that reached the RX FIFO. */
  rxBytes: number;
  /** Bytes received from the host side and held back because the FIFO was full. */
  rxHeld: number;
  /** Whether the host side's stream is paused by back-pressure right now. */
  rxPaused: boolean;
  /** Bytes the guest transmitted that were handed to the host side. */
  txBytes: number;
  /** Bytes the guest transmitted that were discarded (line down, or host not reading). */
  txDiscarded: number;
  /** The guest's current line settings as last seen. */
  guestSettings?: LineSettings;
  /** Everything the host side refused, once each, in order. */
  warnings: string[];
}

/**
 * The far end of one port's serial line (loopback, a host serial device, a pty): it moves
 * bytes between host resources and the UART, flow-controlled (RX pauses when the FIFO is full),
 * and reports line events. Create with createBackend(), attach with attachBackend().
 */
export interface HostBackend {
  readonly kind: BackendKind;
  /** Canonical spec text (formatSpec). */
  readonly spec: string;
  /**
   * Open the host side, then take the port's line (port.takeForHost). If
   * opening or taking fails (EBUSY: the line is held) the port is left
   * untouched, the host side is closed again and the MttyError is thrown.
   */
  attach(port: HostPort): Promise<void>;
  /**
   * Give the line back (synchronously, before the first await: the port loops
   * back at once and can be taken by the next back-end) and release the host
   * resources (socat, the device). Idempotent.
   */
  close(): Promise<void>;
  /**
   * Service the line now: deliver held RX bytes the pace allows and pick up
   * changed line settings. The port calls it through HostLink.onKick after
   * RBR reads and IER..MCR writes; always safe and cheap.
   */
  kick(): void;
  status(): HostStatus;
  /** Subscribe to line events; returns the unsubscribe function. */
  onEvent(listener: (e: HostEvent) => void): () => void;
}

/** Listener bookkeeping shared by all back-ends (one concept: who hears about the line). */
export class HostEvents {
  private listeners = new Set<(e: HostEvent) => void>();

  on(listener: (e: HostEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: HostEvent): void {
    // A faulty listener must not break the byte path that called us.
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        /* ignored on purpose */
      }
    }
  }
}
