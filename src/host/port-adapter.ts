/**
 * How the host layer reaches a device port's UART.
 *
 * An mtty port (src/mtty MttyPort) is more than its Uart: it keeps the
 * Uart's virtual clock and char-timeout timer in step with every access
 * (withUart) and hands its host side out through takeForHost()/HostLink, so
 * that bytes from a back-end arm the character timeout and update the IRQ
 * level exactly like a guest access would. Writing to port.uart directly
 * would bypass that bookkeeping, so when a port offers takeForHost we go
 * through it; a bare Uart (library users, tests) is used as is.
 */
import { fail } from '../errors/errno.js';
import type { HostUart, LineSettings, Wiring } from './uart-port.js';

/** The port-side contract we rely on (src/mtty/port.ts, duck-typed to avoid a dependency on src/mtty). */
interface HostLinkLike {
  receive(bytes: Uint8Array): number;
  rxSpace(): number;
  setModemInputs(bits: number): void;
  release(): void;
}
interface ManagedPort {
  uart: { modemOutputs?: number; lineSettings?: LineSettings; rxSpace(): number; receiveMany(b: Uint8Array): number; setModemInputs(bits: number): void };
  takeForHost(onTransmit: (byte: number) => void): HostLinkLike;
  withUart<T>(fn: (u: ManagedPort['uart']) => T): T;
}

function isManaged(p: unknown): p is ManagedPort {
  const o = p as Partial<ManagedPort> | null;
  return !!o && typeof o.takeForHost === 'function' && typeof o.withUart === 'function' && !!o.uart;
}

export function isHostUart(u: unknown): u is HostUart {
  const o = u as Partial<HostUart> | null;
  return (
    !!o &&
    typeof o.receiveMany === 'function' &&
    typeof o.rxSpace === 'function' &&
    typeof o.setModemInputs === 'function' &&
    'wiring' in o &&
    'onTransmit' in o &&
    'lineSettings' in o &&
    'modemOutputs' in o
  );
}

/** A HostUart view of a managed port: wiring 'host' = holding its HostLink. */
class ManagedPortUart implements HostUart {
  private link: HostLinkLike | null = null;
  private tx: ((byte: number) => void) | null = null;

  constructor(private readonly port: ManagedPort) {}

  get wiring(): Wiring {
    return this.link ? 'host' : 'loopback';
  }
  set wiring(w: Wiring) {
    if (w === 'host' && !this.link) this.link = this.port.takeForHost((b) => this.tx?.(b));
    else if (w === 'loopback' && this.link) {
      this.link.release();
      this.link = null;
    }
  }
  get onTransmit(): ((byte: number) => void) | null {
    return this.tx;
  }
  set onTransmit(fn: ((byte: number) => void) | null) {
    this.tx = fn;
  }
  receiveMany(bytes: Uint8Array): number {
    return this.link ? this.link.receive(bytes) : this.port.withUart((u) => u.receiveMany(bytes));
  }
  rxSpace(): number {
    return this.link ? this.link.rxSpace() : this.port.uart.rxSpace();
  }
  setModemInputs(bits: number): void {
    if (this.link) this.link.setModemInputs(bits);
    else this.port.withUart((u) => u.setModemInputs(bits));
  }
  get modemOutputs(): number {
    const v = this.port.uart.modemOutputs;
    if (typeof v !== 'number') fail('EOPNOTSUPP', 'this port does not expose modemOutputs');
    return v;
  }
  get lineSettings(): LineSettings {
    const v = this.port.uart.lineSettings;
    if (!v) fail('EOPNOTSUPP', 'this port does not expose lineSettings');
    return v;
  }
}

/** One view per port, so "the back-end on this port" (attach.ts) has a single key. */
const views = new WeakMap<object, HostUart>();

/** The HostUart for a device port ({uart} or an MttyPort); EOPNOTSUPP if it has none. */
export function hostUartOf(port: { uart?: unknown }): HostUart {
  const cached = views.get(port);
  if (cached) return cached;
  let view: HostUart;
  if (isManaged(port)) view = new ManagedPortUart(port);
  else if (isHostUart(port.uart)) view = port.uart;
  else fail('EOPNOTSUPP', 'this port has no UART a host back-end can drive');
  views.set(port, view);
  return view;
}
