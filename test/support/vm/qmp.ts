/**
 * A small QMP client (QEMU Machine Protocol, docs/interop/qmp-spec.rst):
 * JSON objects over a UNIX socket, greeting then `qmp_capabilities`, then
 * `{"execute","arguments","id"}` answered by `{"return"|"error","id"}`;
 * asynchronous `{"event"}` objects are kept for waitEvent().
 */
import { connect, type Socket } from 'node:net';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

export class QmpClient {
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly events: QmpEvent[] = [];
  private eventWaiters: { name: string; from: number; resolve: (e: QmpEvent) => void }[] = [];

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('QMP socket closed'));
      this.pending.clear();
    });
  }

  /** Connect (retrying while QEMU creates the socket) and negotiate capabilities. */
  static async connect(path: string, timeoutMs = 30_000): Promise<QmpClient> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const c = new QmpClient(sock);
        await c.execute('qmp_capabilities');
        return c;
      } catch (e) {
        if (Date.now() > until) throw new Error(`QMP ${path}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  execute(command: string, args?: Record<string, unknown>, timeoutMs = 30_000): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP ${command}: no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  /** The first event `name` at or after index `from` of events[] (default: any already seen). */
  waitEvent(name: string, timeoutMs = 30_000, from = 0): Promise<QmpEvent> {
    const seen = this.events.slice(from).find((e) => e.event === name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { name, from, resolve: (e: QmpEvent) => (clearTimeout(timer), resolve(e)) };
      const timer = setTimeout(() => {
        this.eventWaiters = this.eventWaiters.filter((x) => x !== w);
        reject(new Error(`QMP: no ${name} event in ${timeoutMs} ms`));
      }, timeoutMs);
      this.eventWaiters.push(w);
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (typeof msg.event === 'string') {
        const ev = msg as unknown as QmpEvent;
        this.events.push(ev);
        const ready = this.eventWaiters.filter((w) => w.name === ev.event);
        this.eventWaiters = this.eventWaiters.filter((w) => w.name !== ev.event);
        for (const w of ready) w.resolve(ev);
        continue;
      }
      const id = msg.id as number | undefined;
      const p = id === undefined ? undefined : this.pending.get(id);
      if (!p) continue; // the greeting, or a reply nobody waits for any more
      this.pending.delete(id!);
      if ('error' in msg) {
        const err = msg.error as { class?: string; desc?: string };
        p.reject(Object.assign(new Error(`QMP: ${err.class}: ${err.desc}`), { qmpClass: err.class }));
      } else p.resolve(msg.return);
    }
  }
}
