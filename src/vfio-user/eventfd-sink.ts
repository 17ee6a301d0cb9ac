/**
 * An IrqSink backed by an eventfd received from the vfio-user client: the
 * device's interrupt becomes an 8-byte write of the value 1 (what the
 * kernel's eventfd_signal() does), which QEMU/KVM turns into a guest IRQ.
 *
 * The sink owns the fd. It is closed when the client replaces or disables
 * the interrupt, or disconnects. A closed sink ignores signal(): the device
 * may still hold a reference to it, and the fd number may already belong to
 * something else, so it must never be written after close.
 */
import { readFileSync } from 'node:fs';
import { fail } from '../errors/errno.js';
import type { IrqSink } from '../vfio/api.js';
import { native } from './native.js';

export class EventfdSink implements IrqSink {
  private fd: number;
  /** Signals dropped because the counter was saturated (never in practice). */
  dropped = 0;

  constructor(fd: number) {
    this.fd = fd;
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  signal(): void {
    if (this.fd < 0) return;
    try {
      if (!native().eventfdWrite(this.fd, 1)) this.dropped++;
    } catch {
      // The device raised an interrupt; a broken fd must not turn that
      // register access into an error. Count it like a lost edge.
      this.dropped++;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      native().close(fd);
    } catch {
      /* already closed: nothing to release */
    }
  }
}

/**
 * The kernel's SET_IRQS takes the fd through eventfd_ctx_fdget(), which
 * answers EINVAL for an fd that is not an eventfd. /proc/self/fdinfo shows an
 * "eventfd-count" line exactly for eventfds; where /proc is unavailable we
 * accept the fd (writing 8 bytes to a non-eventfd is harmless to us).
 */
export function checkEventfd(fd: number): void {
  let info: string;
  try {
    info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  } catch {
    return;
  }
  if (!/^eventfd-count:/m.test(info)) fail('EINVAL', `fd ${fd} passed with SET_IRQS is not an eventfd`);
}
