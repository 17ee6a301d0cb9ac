/**
 * A real MttyPort around a bare wasm Uart, for host back-end tests: back-ends
 * take a port (HostPort), never a Uart. Guest accesses in tests go through
 * port.read/port.write so the port's kick (HostLink.onKick) runs as on a
 * device; a test may still hook uart.onIrqLine to watch INTR directly.
 */
import { realClock, type Clock } from '../../src/clock/clock.js';
import type { HostBackend } from '../../src/host/index.js';
import { MttyPort } from '../../src/mtty/port.js';
import { Uart, type UartProfile } from '../../src/uart/index.js';

export function hostTestPort(opts: { profile?: UartProfile; clock?: Clock } = {}): { uart: Uart; port: MttyPort } {
  const uart = Uart.create({ profile: opts.profile ?? 'pc16550d', wiring: 'loopback' });
  const port = new MttyPort(0, uart, opts.clock ?? realClock, () => undefined, () => undefined);
  return { uart, port };
}

/** The handle tests keep for an attached back-end. */
export interface Attachment {
  backend: HostBackend;
  status: HostBackend['status'];
  kick(): void;
  detach(): Promise<void>;
}

export async function attach(port: MttyPort, backend: HostBackend): Promise<Attachment> {
  await backend.attach(port);
  return { backend, status: () => backend.status(), kick: () => backend.kick(), detach: () => backend.close() };
}
