/**
 * `loopback`: the kernel sample's host side. mtty.c has no host line at all;
 * every byte the guest writes to THR appears in its own RBR. The UART core
 * does that internally (wiring 'loopback'), so this back-end only switches
 * the wiring and presents a plugged-in cable on the modem inputs - the same
 * CTS/DSR/DCD the sample reports - so a driver that waits for DCD proceeds.
 * Overrun here is the core's business (LSR.OE), exactly as in mtty.c: the
 * guest is both ends of the line and nobody can be back-pressured.
 */
import { HostEvents, type HostBackend, type HostEvent, type HostState, type HostStatus } from './backend.js';
import { MODEM_CONNECTED, type HostUart } from './uart-port.js';

export class LoopbackBackend implements HostBackend {
  readonly kind = 'loopback' as const;
  readonly spec = 'loopback';
  private state: HostState = 'idle';
  private readonly events = new HostEvents();

  async attach(uart: HostUart): Promise<void> {
    uart.onTransmit = null;
    uart.wiring = 'loopback';
    uart.setModemInputs(MODEM_CONNECTED);
    this.state = 'connected';
    this.events.emit({ type: 'connected', message: 'loopback: TX bytes return on RX (mtty.c behaviour)' });
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.events.emit({ type: 'closed', message: 'loopback: detached' });
  }

  kick(): void {
    // Nothing is held outside the core.
  }

  status(): HostStatus {
    return { kind: 'loopback', spec: 'loopback', state: this.state, rxBytes: 0, rxHeld: 0, rxPaused: false, txBytes: 0, txDiscarded: 0, warnings: [] };
  }

  onEvent(listener: (e: HostEvent) => void): () => void {
    return this.events.on(listener);
  }
}
