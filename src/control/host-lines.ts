/**
 * The one record of who holds which port's host line: (device uuid, port)
 * -> the back-end on it, who attached it, since when, and its recent events.
 * Every way a line changes hands goes through here: the `host.*` control
 * ops, `mtty console --host-end`, a host line stored in a definition, device
 * removal and daemon shutdown. A port whose line nobody holds loops back
 * (mtty.c's behaviour); that is the `loopback` spec.
 *
 * Locks, as picocom and minicom honour them: a held line answers EBUSY to a
 * second attach unless it is forced. A forced attach that fails puts the
 * previous line back (same spec, re-opened) so "--force" never leaves a user's
 * line on loopback by accident. Attach and detach run one at a time per port:
 * both await the host side (socat starting, a device opening), and two in
 * flight at once would each see the same "previous" line.
 */
import { fail, MttyError } from '../errors/errno.js';
import { createBackend, formatSpec, parseSpec, type CreateBackendOptions, type HostBackend, type HostEvent, type HostPort, type HostStatus } from '../host/index.js';

/** A line as `host.status` reports it. `lease` identifies one holding (console detaches only its own). */
export interface PortLineStatus extends HostStatus {
  uuid: string;
  port: number;
  /** Who attached it ("mtty host attach (pid 1234)"); absent on loopback. */
  holder?: string;
  /** Increments with every attach in this daemon; pass it to detach to release only that holding. */
  lease?: number;
  /** ISO time of the attach. */
  since?: string;
  /** Most recent line events, oldest first. */
  events: HostEvent[];
}

export interface HostLinesOptions extends CreateBackendOptions {
  /** Every line event, tagged with its port (the daemon log). */
  onEvent?: (uuid: string, port: number, e: HostEvent) => void;
  /** Events kept per port for status (default 16). */
  keepEvents?: number;
}

export interface AttachOptions {
  /** Take the line even when someone holds it (their back-end is closed). */
  force?: boolean;
  /** Who is attaching, for the EBUSY message the next one gets. */
  holder?: string;
  /**
   * With force: remember the line taken over and put it back when this holding
   * is detached (a borrowing console). Without a holder to take over, no effect.
   */
  giveBack?: boolean;
}

/** The ports of a live device, or ENODEV/EINVAL; the control layer decides what a device is. */
export type PortLookup = (uuid: string) => { uuid: string; ports: ReadonlyArray<HostPort> };

interface Entry {
  uuid: string;
  port: number;
  backend: HostBackend;
  holder: string;
  lease: number;
  since: string;
  events: HostEvent[];
  /** The line this holding borrowed (giveBack), restored when it is detached. */
  previous?: { spec: string; holder: string };
}

const LOOPBACK_STATUS: HostStatus = {
  kind: 'loopback',
  spec: 'loopback',
  state: 'connected',
  rxBytes: 0,
  rxHeld: 0,
  rxPaused: false,
  txBytes: 0,
  txDiscarded: 0,
  warnings: [],
};

export class HostLines {
  private readonly entries = new Map<string, Entry>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private nextLease = 1;

  constructor(
    private readonly lookup: PortLookup,
    private readonly opts: HostLinesOptions = {},
  ) {}

  private static key(uuid: string, port: number): string {
    return `${uuid.toLowerCase()}/${port}`;
  }

  private resolve(uuid: string, port: number): { uuid: string; port: HostPort } {
    if (!Number.isInteger(port) || port < 0) fail('EINVAL', `port must be a non-negative integer, got ${JSON.stringify(port)}`);
    const d = this.lookup(uuid);
    if (port >= d.ports.length) fail('EINVAL', `device ${d.uuid} has ${d.ports.length} port(s); port ${port} does not exist`);
    return { uuid: d.uuid, port: d.ports[port]! };
  }

  private serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.queues.get(key) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  /** Who holds the line now, or undefined (loopback). */
  holderOf(uuid: string, port: number): PortLineStatus | undefined {
    const e = this.entries.get(HostLines.key(uuid, port));
    return e ? this.describe(e) : undefined;
  }

  /**
   * Put `spec` on the port's line. EINVAL for a bad spec (nothing opened),
   * ENODEV/EINVAL for a bad device or port, EBUSY when the line is held and
   * not forced, then whatever opening the host side gives (ENOENT, EACCES,
   * EBUSY, EIO). `loopback` detaches (also EBUSY-checked unless forced).
   */
  async attach(uuid: string, port: number, spec: unknown, opts: AttachOptions = {}): Promise<PortLineStatus> {
    const parsed = parseSpec(spec); // EINVAL before anything else
    const target = this.resolve(uuid, port);
    const key = HostLines.key(target.uuid, port);
    return this.serialized(key, async () => {
      const held = this.entries.get(key);
      if (held && held.backend.status().state === 'closed') this.entries.delete(key); // gone by itself (device removed)
      const prev = this.entries.get(key);
      if (prev && !opts.force) {
        fail('EBUSY', `port ${port} of ${target.uuid} is held by ${prev.backend.spec} (${prev.holder}, since ${prev.since}); detach it first or use --force`);
      }
      if (parsed.kind === 'loopback') {
        if (prev) await this.drop(key, prev);
        return this.loopbackStatus(target.uuid, port);
      }
      const backend = createBackend(formatSpec(parsed), this.opts);
      const events: HostEvent[] = [];
      const keep = this.opts.keepEvents ?? 16;
      backend.onEvent((e) => {
        events.push(e);
        if (events.length > keep) events.shift();
        this.opts.onEvent?.(target.uuid, port, e);
      });
      // The old holder lets go first: the port has one line, and a pty link may be the same path.
      if (prev) await this.drop(key, prev);
      try {
        await backend.attach(target.port);
      } catch (e) {
        if (prev) await this.restore(target, port, prev);
        throw e;
      }
      const entry: Entry = {
        uuid: target.uuid,
        port,
        backend,
        holder: opts.holder ?? 'a control client',
        lease: this.nextLease++,
        since: new Date().toISOString(),
        events,
        ...(opts.giveBack && prev ? { previous: { spec: prev.backend.spec, holder: prev.holder } } : {}),
      };
      this.entries.set(key, entry);
      return this.describe(entry);
    });
  }

  /** A forced attach failed: put the previous holder's line back, as it was specified. */
  private async restore(target: { uuid: string; port: HostPort }, port: number, prev: Entry): Promise<void> {
    try {
      const again = createBackend(prev.backend.spec, this.opts);
      again.onEvent((e) => this.opts.onEvent?.(target.uuid, port, e));
      await again.attach(target.port);
      this.entries.set(HostLines.key(target.uuid, port), { ...prev, backend: again, events: [...prev.events] });
    } catch (e) {
      this.opts.onEvent?.(target.uuid, port, {
        type: 'disconnected',
        reason: 'restore failed',
        message: `${prev.backend.spec}: could not be put back after a failed forced attach (${e instanceof Error ? e.message : String(e)}); the port loops back`,
      });
    }
  }

  private async drop(key: string, e: Entry): Promise<void> {
    if (this.entries.get(key) === e) this.entries.delete(key);
    await e.backend.close();
  }

  /**
   * Back to loopback. `lease`: only if the line is still that holding (a
   * console leaving must not detach a line someone attached after it).
   * Detaching a port on loopback is not an error.
   */
  async detach(uuid: string, port: number, opts: { lease?: number } = {}): Promise<PortLineStatus> {
    const target = this.resolve(uuid, port);
    const key = HostLines.key(target.uuid, port);
    return this.serialized(key, async () => {
      const e = this.entries.get(key);
      if (e && (opts.lease === undefined || opts.lease === e.lease)) {
        await this.drop(key, e);
        // A borrowed line goes back to whoever had it (a new pty at the same link).
        if (e.previous) await this.reopen(target, port, e.previous);
      }
      const now = this.entries.get(key);
      return now ? this.describe(now) : this.loopbackStatus(target.uuid, port);
    });
  }

  /** Open `spec` again for `holder` (a borrowed line given back); a failure is logged, the port loops back. */
  private async reopen(target: { uuid: string; port: HostPort }, port: number, prev: { spec: string; holder: string }): Promise<void> {
    try {
      const backend = createBackend(prev.spec, this.opts);
      const events: HostEvent[] = [];
      backend.onEvent((ev) => {
        events.push(ev);
        if (events.length > (this.opts.keepEvents ?? 16)) events.shift();
        this.opts.onEvent?.(target.uuid, port, ev);
      });
      await backend.attach(target.port);
      this.entries.set(HostLines.key(target.uuid, port), {
        uuid: target.uuid,
        port,
        backend,
        holder: prev.holder,
        lease: this.nextLease++,
        since: new Date().toISOString(),
        events,
      });
    } catch (err) {
      this.opts.onEvent?.(target.uuid, port, {
        type: 'disconnected',
        reason: 'give-back failed',
        message: `${prev.spec}: could not be given back to ${prev.holder} (${err instanceof Error ? err.message : String(err)}); the port loops back`,
      });
    }
  }

  /** Release every line of a device (before it is removed): no socat outlives its port. */
  async detachDevice(uuid: string): Promise<void> {
    const id = uuid.toLowerCase();
    for (const [key, e] of [...this.entries]) {
      if (e.uuid.toLowerCase() === id) await this.serialized(key, () => this.drop(key, e));
    }
  }

  /** Close everything (daemon shutdown). */
  async closeAll(): Promise<void> {
    for (const [key, e] of [...this.entries]) await this.serialized(key, () => this.drop(key, e));
  }

  /**
   * Lines as they are. With a uuid: every port of that device, loopback ones
   * included (ENODEV for an unknown device); without: only held lines.
   */
  status(uuid?: string, port?: number): PortLineStatus[] {
    if (uuid === undefined) return [...this.entries.values()].filter((e) => port === undefined || e.port === port).map((e) => this.describe(e));
    const d = this.lookup(uuid);
    if (port !== undefined) this.resolve(uuid, port);
    const out: PortLineStatus[] = [];
    d.ports.forEach((_p, i) => {
      if (port !== undefined && i !== port) return;
      const e = this.entries.get(HostLines.key(d.uuid, i));
      out.push(e ? this.describe(e) : this.loopbackStatus(d.uuid, i));
    });
    return out;
  }

  private loopbackStatus(uuid: string, port: number): PortLineStatus {
    return { uuid, port, ...LOOPBACK_STATUS, warnings: [], events: [] };
  }

  private describe(e: Entry): PortLineStatus {
    return { uuid: e.uuid, port: e.port, ...e.backend.status(), holder: e.holder, lease: e.lease, since: e.since, events: [...e.events] };
  }
}

