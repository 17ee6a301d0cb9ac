/**
 * Spec text -> an unopened back-end. Nothing is opened or spawned here, so a
 * bad spec fails with EINVAL before any side effect; opening happens in
 * HostBackend.attach(port). `loopback` is no back-end: it is what a port does
 * when nobody holds its line (src/control/host-lines.ts turns it into a detach).
 */
import { realClock, type Clock } from '../clock/clock.js';
import type { HostBackend } from './backend.js';
import { fail } from '../errors/errno.js';
import { PtyBackend } from './pty.js';
import { SerialPortBackend } from './serialport.js';
import { formatSpec, parseSpec } from './spec.js';

/** Options of createBackend: clock for polling, a serialport binding (tests), the socat path. */
export interface CreateBackendOptions {
  /** Time source for the RX poll and settings poll (default realClock; tests: ManualClock). */
  clock?: Clock;
  /** serialport binding for `serialport:` specs (tests: SerialPortMock.binding). */
  binding?: unknown;
  /** socat executable for `pty` specs. */
  socat?: string;
}

/**
 * Build an unopened back-end from spec text (EINVAL for a bad spec; nothing is opened or
 * spawned). Open it on a port with attachBackend(). `pty` needs socat on PATH; `serialport`
 * opens the device with the serialport package.
 */
export function createBackend(spec: string, opts: CreateBackendOptions = {}): HostBackend {
  const parsed = parseSpec(spec);
  const clock = opts.clock ?? realClock;
  const text = formatSpec(parsed);
  switch (parsed.kind) {
    case 'loopback':
      fail('EINVAL', "'loopback' is not a back-end to open: it is the port's own line when none is attached (detach instead)");
    case 'serialport':
      return new SerialPortBackend(text, parsed.path, parsed.baud, { clock, binding: opts.binding });
    case 'pty':
      return new PtyBackend(text, parsed.link, { clock, ...(opts.socat ? { socat: opts.socat } : {}) });
  }
}
