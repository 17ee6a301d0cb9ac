/**
 * Host -> guest flow: back-pressure, never overrun, at the guest's line rate.
 *
 * A host stream (a serial device, a pty via socat) can deliver kilobytes at
 * once; the 16550A holds 16. Two honest options exist: overrun the FIFO and
 * let LSR.OE tell the guest, or hold the surplus and stop reading the host
 * side. We hold and pause, because every host side we bridge to already has
 * lossless flow control behind it (kernel tty buffers, pipe buffers, socat
 * blocking on a full pipe, a USB adapter's RTS/CTS), so pausing our read
 * propagates back to the sender and nothing is lost anywhere. Overrun would
 * turn "the guest was slow for a millisecond" into lost keystrokes, which no
 * terminal user expects from a virtual line. Bytes from the host side
 * therefore never set LSR.OE.
 *
 * Pace (issue 14 item 4): a real line brings one character per character
 * time at the guest's baud (start + data + parity + stop bits; 86.8 us at
 * 115200 8N1), so bytes are let into the FIFO no faster than that. Each byte
 * has a wire time, one character time after the previous one; a byte is
 * delivered once its wire time has passed and the FIFO has room. Room comes
 * from the guest reading RBR, which the port reports at once
 * (HostLink.onKick -> deliver()), so a guest that keeps up gets the line rate
 * whatever the FIFO mode: no poll sits between its read and the next byte.
 * Node's timers are ~1 ms coarse, so a byte whose wire time is still ahead
 * waits for a timer and the bytes that became due meanwhile then arrive
 * together (never before their wire time; the average is the line rate). A
 * line that has been idle starts again from "now": no credit is saved up.
 * The host side is paused once HOLD_HIGH_WATER bytes are held (a tty's
 * receive window) and resumed below half of it.
 */
import type { Clock } from '../clock/clock.js';
import { charTimeNs, type HostLink } from './uart-port.js';

/**
 * How far behind "now" the wire may run before time is simply lost (the
 * guest did not read for that long, or the process stalled): bounds the burst
 * a late guest gets to what a ~1 ms timer tick lets pile up, and a bit more.
 */
export const MAX_LAG_NS = 10_000_000;

/**
 * Bytes held before the host side is paused: a tty's receive window. Pausing
 * at the first held byte would make every FIFO refill wait for the host
 * stream to resume (a pipe round trip through socat), starving the line;
 * past this much, pausing propagates back to the sender as before.
 */
export const HOLD_HIGH_WATER = 4096;

export interface FlowControl {
  /** Stop the host side from sending (stream.pause()). */
  pause(): void;
  /** Let it send again. */
  resume(): void;
}

/**
 * The held bytes of one host line and the pace they enter the port's RX FIFO
 * at (see the file comment); `held`/`delivered`/`paused` feed HostStatus.
 */
export class RxPump {
  private queue: Uint8Array[] = [];
  private headOffset = 0;
  private cancelTimer: (() => void) | null = null;
  /** Clock time (ns) at which the last delivered byte finished arriving on the wire. */
  private wireAt = -Infinity;
  private delivering = false;
  /** Bytes held back, waiting for their wire time or for FIFO space. */
  held = 0;
  /** Bytes handed to the UART (all accepted: we never offer more than rxSpace()). */
  delivered = 0;
  paused = false;

  constructor(
    private readonly link: HostLink,
    private readonly clock: Clock,
    private readonly flow: FlowControl,
    /** The port threw (its device was removed under us): the link decides what to do. */
    private readonly onFault: (e: unknown) => void,
  ) {}

  /** A chunk arrived from the host side. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.held += chunk.length;
    this.deliver();
  }

  /** Move the held bytes whose wire time has come into the FIFO, as far as it has room; pause/resume the source. */
  deliver(): void {
    if (this.delivering) return; // a kick from inside our own receive(): the loop below already runs
    this.delivering = true;
    // Runs from stream, timer and port-access callbacks, where an exception would take the daemon down.
    try {
      this.deliverNow();
    } catch (e) {
      this.onFault(e);
    } finally {
      this.delivering = false;
    }
  }

  private deliverNow(): void {
    if (this.held === 0) return this.flowFor();
    const ct = charTimeNs(this.link.lineSettings);
    const now = this.clock.now();
    // Idle line, or a guest far behind: the next byte starts arriving now.
    if (this.wireAt < now - Math.max(MAX_LAG_NS, ct)) this.wireAt = now - ct;
    const due = Math.floor((now - this.wireAt) / ct);
    let budget = Math.min(due, this.link.rxSpace());
    let refused = false;
    while (budget > 0 && this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = Math.min(budget, head.length - this.headOffset);
      const accepted = this.link.receive(head.subarray(this.headOffset, this.headOffset + n));
      this.headOffset += accepted;
      this.held -= accepted;
      this.delivered += accepted;
      this.wireAt += accepted * ct;
      budget -= accepted;
      if (this.headOffset === head.length) {
        this.queue.shift();
        this.headOffset = 0;
      }
      // The port took less than rxSpace() promised (MCR LOOP disconnects SIN): wait for the next kick.
      if (accepted < n) {
        refused = true;
        break;
      }
    }
    // Room left but the next byte's wire time is ahead: a timer brings it. A full
    // FIFO (or a refusing port) waits for the guest's next access (onKick) instead.
    if (this.held > 0 && !refused && this.link.rxSpace() > 0) this.armTimer(this.wireAt + ct - now);
    this.flowFor();
  }

  private flowFor(): void {
    if (this.held >= HOLD_HIGH_WATER) {
      if (!this.paused) {
        this.paused = true;
        this.flow.pause();
      }
    } else if (this.paused && this.held < HOLD_HIGH_WATER / 2) {
      this.paused = false;
      this.flow.resume();
    }
  }

  /** Drop everything held (detach); returns how many bytes were dropped, for the report. */
  clear(): number {
    const dropped = this.held;
    this.queue = [];
    this.headOffset = 0;
    this.held = 0;
    this.cancelTimer?.();
    this.cancelTimer = null;
    return dropped;
  }

  private armTimer(delayNs: number): void {
    if (this.cancelTimer) return;
    this.cancelTimer = this.clock.setTimer(Math.max(0, delayNs), () => {
      this.cancelTimer = null;
      this.deliver();
    });
  }
}
