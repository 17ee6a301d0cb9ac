/**
 * One host back-end per UART at a time. attachBackend() is the only way a
 * back-end meets a UART, so "what is on this port's line" has one answer and
 * replacing a back-end always closes the previous one (no two socats feeding
 * one RX FIFO). Detaching returns the port to loopback, the kernel sample's
 * behaviour, because a port always has *some* far end.
 */
import type { HostBackend, HostEvent, HostStatus } from './backend.js';
import { LoopbackBackend } from './loopback.js';
import type { HostUart } from './uart-port.js';

/**
 * A back-end attached to one UART (attachBackend): status, events, kick, and detach (back to loopback).
 */
export interface Attachment {
  readonly uart: HostUart;
  readonly backend: HostBackend;
  /** Close the back-end and put the port back on loopback. Idempotent. */
  detach(): Promise<void>;
  /** See HostBackend.kick: call after a guest RBR read or LCR/divisor write. */
  kick(): void;
  status(): HostStatus;
  onEvent(listener: (e: HostEvent) => void): () => void;
}

const current = new WeakMap<HostUart, Attachment>();

/**
 * Attach and detach run one at a time per UART. Both await the host side
 * (socat starting, a device opening), so two requests for one port in flight
 * at once would each see the same "previous" line: both would attach, only
 * one would be recorded, and the other - socat and all - would stay open,
 * still feeding the port's RX after every detach.
 */
const queue = new WeakMap<HostUart, Promise<unknown>>();

function serialized<T>(uart: HostUart, fn: () => Promise<T>): Promise<T> {
  const before = queue.get(uart) ?? Promise.resolve();
  const run = before.then(fn, fn);
  queue.set(uart, run.catch(() => undefined));
  return run;
}

/** The attachment currently on this UART, if any. */
export function attachmentOf(uart: HostUart): Attachment | undefined {
  return current.get(uart);
}

/**
 * Attach `backend` to `uart`, replacing whatever was there. The new back-end
 * is opened first, so a failing open (bad device path) leaves the old line in
 * place - except when both claim the same pty link, where the old one has to
 * let go of the link first. If the new back-end fails after the old one was
 * closed, the port falls back to loopback and the error is rethrown.
 */
export function attachBackend(uart: HostUart, backend: HostBackend): Promise<Attachment> {
  return serialized(uart, () => attachNow(uart, backend));
}

async function attachNow(uart: HostUart, backend: HostBackend): Promise<Attachment> {
  const previous = current.get(uart);
  const prevLink = previous?.backend.status().link;
  const sameLink = prevLink !== undefined && backend.spec === previous?.backend.spec;
  if (previous && sameLink) {
    await previous.backend.close();
    current.delete(uart);
  }
  try {
    await backend.attach(uart);
  } catch (e) {
    if (previous && sameLink) await new LoopbackBackend().attach(uart);
    throw e;
  }
  if (previous && !sameLink) await previous.backend.close();

  let detached = false;
  const att: Attachment = {
    uart,
    backend,
    async detach() {
      if (detached) return;
      detached = true;
      await serialized(uart, () => detachNow());
    },
    kick: () => backend.kick(),
    status: () => backend.status(),
    onEvent: (l) => backend.onEvent(l),
  };
  async function detachNow(): Promise<void> {
    await backend.close();
    // Someone may have attached a newer back-end meanwhile; only restore loopback if the port is still ours.
    if (current.get(uart) === att) {
      current.delete(uart);
      if (backend.kind !== 'loopback') {
        try {
          await new LoopbackBackend().attach(uart);
        } catch {
          // The port's UART is gone (device removed): there is no line left to restore.
        }
      }
    }
  }
  current.set(uart, att);
  return att;
}
