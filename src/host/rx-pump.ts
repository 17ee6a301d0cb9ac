/**
 * Host -> guest flow control: back-pressure, never overrun.
 *
 * A host stream (a serial device, a pty via socat) can deliver kilobytes at
 * once; the 16550A holds 16. Two honest options exist: overrun the FIFO and
 * let LSR.OE tell the guest, or hold the surplus and stop reading the host
 * side. We hold and pause, because every host side we bridge to already has
 * lossless flow control behind it (kernel tty buffers, pipe buffers,
 * socat blocking on a full pipe, a USB adapter's RTS/CTS), so pausing our
 * read propagates back to the sender and nothing is lost anywhere. Overrun
 * would turn "the guest was slow for a millisecond" into lost keystrokes,
 * which no terminal user expects from a virtual line.
 *
 * Consequently bytes from the host side never set LSR.OE: only the guest's own
 * loopback traffic (wiring 'loopback', MCR LOOP) can overrun, inside the core.
 *
 * Knowing when to resume needs "the guest read RBR". The Uart contract has no
 * such event and its onIrqLine slot belongs to the device, so the pump polls
 * rxSpace() on a Clock timer, only while bytes are held, once per character
 * time at the guest's baud (the rate a real line could deliver the next
 * byte), at most MAX_POLL_NS (2 ms); realClock rounds short waits up to ~1 ms. Whoever does see RBR reads (the
 * device's region handler) may call deliver() - via HostBackend.kick() - for
 * zero latency; the poll is the guarantee, the kick the optimisation.
 */
import type { Clock } from '../clock/clock.js';
import { charTimeNs, type HostUart } from './uart-port.js';

/** Longest wait between two looks at rxSpace() while bytes are held. */
export const MAX_POLL_NS = 2_000_000;

export interface FlowControl {
  /** Stop the host side from sending (stream.pause()). */
  pause(): void;
  /** Let it send again. */
  resume(): void;
}

export class RxPump {
  private queue: Uint8Array[] = [];
  private headOffset = 0;
  private cancelPoll: (() => void) | null = null;
  /** Bytes held back, waiting for FIFO space. */
  held = 0;
  /** Bytes handed to the UART (all accepted: we never offer more than rxSpace()). */
  delivered = 0;
  paused = false;

  constructor(
    private readonly uart: HostUart,
    private readonly clock: Clock,
    private readonly flow: FlowControl,
    /** The UART threw (its device was removed under us): the link decides what to do. */
    private readonly onFault: (e: unknown) => void,
  ) {}

  /** A chunk arrived from the host side. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.held += chunk.length;
    this.deliver();
  }

  /** Move as many held bytes into the FIFO as it has room for; pause/resume the source. */
  deliver(): void {
    // Runs from stream and timer callbacks, where an exception would take the daemon down.
    try {
      this.deliverNow();
    } catch (e) {
      this.onFault(e);
    }
  }

  private deliverNow(): void {
    let space = this.uart.rxSpace();
    while (space > 0 && this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = Math.min(space, head.length - this.headOffset);
      const accepted = this.uart.receiveMany(head.subarray(this.headOffset, this.headOffset + n));
      this.headOffset += accepted;
      this.held -= accepted;
      this.delivered += accepted;
      space -= accepted;
      if (this.headOffset === head.length) {
        this.queue.shift();
        this.headOffset = 0;
      }
      // rxSpace() promised room the core did not take (e.g. MCR LOOP disconnects SIN):
      // stop here and retry at the next poll rather than spin or overrun.
      if (accepted < n) break;
    }
    if (this.held > 0) {
      if (!this.paused) {
        this.paused = true;
        this.flow.pause();
      }
      this.armPoll();
    } else if (this.paused) {
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
    this.cancelPoll?.();
    this.cancelPoll = null;
    return dropped;
  }

  private armPoll(): void {
    if (this.cancelPoll) return;
    // Capped: at 300 baud (or the mtty profile's zeroed divisor) a character takes
    // tens of ms to seconds, and a paused terminal should not feel frozen.
    const delay = Math.min(charTimeNs(this.uart.lineSettings), MAX_POLL_NS);
    this.cancelPoll = this.clock.setTimer(delay, () => {
      this.cancelPoll = null;
      this.deliver();
    });
  }
}
