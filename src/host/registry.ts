/**
 * The daemon's view of host lines: which back-end is on (device uuid, port),
 * and what recently happened on each line. The daemon cannot watch events
 * the way a library user can (its client is gone after the reply), so the
 * last events per port are kept for `host.status` - that is how "socat was
 * killed" reaches a user who asks later.
 */
import { attachBackend, type Attachment } from './attach.js';
import type { HostEvent, HostStatus } from './backend.js';
import { createBackend, type CreateBackendOptions } from './create.js';
import type { HostUart } from './uart-port.js';

export interface PortLineStatus extends HostStatus {
  uuid: string;
  port: number;
  /** Most recent line events, oldest first. */
  events: HostEvent[];
}

export interface HostRegistryOptions extends CreateBackendOptions {
  /** Every line event, tagged with its port (daemon log). */
  onEvent?: (uuid: string, port: number, e: HostEvent) => void;
  /** Events kept per port for status (default 16). */
  keepEvents?: number;
}

interface Entry {
  uuid: string;
  port: number;
  att: Attachment;
  events: HostEvent[];
}

export class HostRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: HostRegistryOptions = {}) {}

  private static key(uuid: string, port: number): string {
    return `${uuid.toLowerCase()}/${port}`;
  }

  /** Parse spec (EINVAL), open it (ENOENT/EACCES/EBUSY/EIO...) and put it on the port's line. */
  async attach(uuid: string, port: number, uart: HostUart, spec: string): Promise<PortLineStatus> {
    const backend = createBackend(spec, this.opts);
    const events: HostEvent[] = [];
    const keep = this.opts.keepEvents ?? 16;
    backend.onEvent((e) => {
      events.push(e);
      if (events.length > keep) events.shift();
      this.opts.onEvent?.(uuid, port, e);
    });
    let att: Attachment;
    try {
      att = await attachBackend(uart, backend);
    } catch (e) {
      // attachBackend may have had to close the old line first (same pty link); don't keep reporting it.
      const k = HostRegistry.key(uuid, port);
      if (this.entries.get(k)?.att.status().state === 'closed') this.entries.delete(k);
      throw e;
    }
    this.entries.set(HostRegistry.key(uuid, port), { uuid, port, att, events });
    return this.describe(this.entries.get(HostRegistry.key(uuid, port))!);
  }

  /** Back to loopback. Detaching a port that has no back-end is not an error (it is on loopback). */
  async detach(uuid: string, port: number): Promise<void> {
    const k = HostRegistry.key(uuid, port);
    const e = this.entries.get(k);
    if (!e) return;
    this.entries.delete(k);
    await e.att.detach();
  }

  /** Release every line of a device (call before the device is removed). */
  async detachDevice(uuid: string): Promise<void> {
    for (const e of [...this.entries.values()]) if (e.uuid.toLowerCase() === uuid.toLowerCase()) await this.detach(e.uuid, e.port);
  }

  /** Close everything (daemon shutdown): no socat outlives the daemon's intent. */
  async closeAll(): Promise<void> {
    for (const e of [...this.entries.values()]) await this.detach(e.uuid, e.port);
  }

  status(uuid?: string, port?: number): PortLineStatus[] {
    return [...this.entries.values()]
      .filter((e) => (uuid === undefined || e.uuid.toLowerCase() === uuid.toLowerCase()) && (port === undefined || e.port === port))
      .map((e) => this.describe(e));
  }

  private describe(e: Entry): PortLineStatus {
    return { uuid: e.uuid, port: e.port, ...e.att.status(), events: [...e.events] };
  }
}
