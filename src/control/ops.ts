/**
 * The control operations: a name -> handler table. Built-in ops cover every
 * CLI verb; the daemon adds the host-line ops to its own registry
 * (OpRegistry.registerOp, replacing the `host.attach` placeholder). A handler gets the request's
 * args and the service, validates with the helpers below, and returns a JSON
 * value or throws an MttyError — the server turns either into a reply.
 */
import { fail, MttyError } from '../errors/errno.js';
import type { ModifyArgs, MttyService } from './service.js';
import { checkAttrs, type StartPolicy } from './definitions.js';

export interface OpContext {
  service: MttyService;
  /** Ask the daemon to stop after this reply (the `shutdown` op). Absent in-process. */
  requestShutdown?: () => void;
  /**
   * Run fn when the client's connection closes (a console that dies without
   * saying goodbye still gives its guest tty back). Absent in-process.
   */
  onClientClose?: (fn: () => void) => void;
}

export type OpHandler = (args: Record<string, unknown>, ctx: OpContext) => unknown | Promise<unknown>;

// ---- argument helpers: every bad argument is EINVAL naming the field --------------------

export function str(args: Record<string, unknown>, key: string): string {
  const v = args[key];
  if (typeof v !== 'string' || v === '') fail('EINVAL', `argument "${key}" must be a non-empty string`);
  return v;
}

export function optStr(args: Record<string, unknown>, key: string): string | undefined {
  return args[key] === undefined || args[key] === null ? undefined : str(args, key);
}

export function int(args: Record<string, unknown>, key: string): number {
  const v = args[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) fail('EINVAL', `argument "${key}" must be an integer`);
  return v;
}

export function optInt(args: Record<string, unknown>, key: string): number | undefined {
  return args[key] === undefined || args[key] === null ? undefined : int(args, key);
}

function optBool(args: Record<string, unknown>, key: string): boolean | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') fail('EINVAL', `argument "${key}" must be true or false`);
  return v;
}

function optStart(args: Record<string, unknown>): StartPolicy | undefined {
  const v = optStr(args, 'start');
  if (v !== undefined && v !== 'auto' && v !== 'manual') fail('EINVAL', `argument "start" must be "auto" or "manual"`);
  return v;
}

function optAttrs(args: Record<string, unknown>): Record<string, string>[] | undefined {
  const v = args.attrs;
  return v === undefined || v === null ? undefined : checkAttrs(v, 'argument');
}

/** The `modify` op's arguments: {uuid, parent?, type?, start?, addattr?: {name, value}, delattr?, index?, definition?: {mdev_type, start, attrs}, configDir?}. */
function modifyArgs(a: Record<string, unknown>): ModifyArgs {
  const out: ModifyArgs = { uuid: str(a, 'uuid'), parent: optStr(a, 'parent'), type: optStr(a, 'type'), start: optStart(a), delattr: optBool(a, 'delattr'), configDir: optStr(a, 'configDir') };
  if (a.index !== undefined && a.index !== null) out.index = int(a, 'index');
  if (a.addattr !== undefined && a.addattr !== null) {
    const v = a.addattr as Record<string, unknown>;
    if (!v || typeof v !== 'object' || typeof v.name !== 'string' || !v.name || typeof v.value !== 'string') fail('EINVAL', 'argument "addattr" must be {"name": non-empty string, "value": string}');
    out.addattr = { name: v.name, value: v.value };
  }
  if (a.definition !== undefined && a.definition !== null) {
    const v = a.definition as Record<string, unknown>;
    if (!v || typeof v !== 'object' || typeof v.mdev_type !== 'string' || !v.mdev_type) fail('EINVAL', 'argument "definition" must be {"mdev_type", "start", "attrs"}');
    const start = optStart(v) ?? 'manual';
    out.definition = { mdev_type: v.mdev_type, start, attrs: optAttrs(v) ?? [] };
  }
  return out;
}

/** {"0": "pty:/tmp/x"}: host lines by port (validated in the service). */
function optHost(args: Record<string, unknown>): Record<string, string> | undefined {
  const v = args.host;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) fail('EINVAL', 'argument "host" must map port numbers to host specs ({"0": "pty:/tmp/ttyMTTY0"})');
  return v as Record<string, string>;
}

// ---- the registry ------------------------------------------------------------------------

export class OpRegistry {
  private table = new Map<string, OpHandler>();

  /** Add or replace an op. Names are dotted lower-case words ("host.attach"). */
  registerOp(name: string, handler: OpHandler): void {
    if (!/^[a-z][a-z0-9]*(\.[a-z][a-z0-9]*)*$/.test(name)) throw new MttyError('EINVAL', `bad op name ${JSON.stringify(name)}`);
    this.table.set(name, handler);
  }

  has(name: string): boolean {
    return this.table.has(name);
  }

  names(): string[] {
    return [...this.table.keys()].sort();
  }

  async dispatch(op: string, args: Record<string, unknown>, ctx: OpContext): Promise<unknown> {
    const h = this.table.get(op);
    if (!h) fail('EOPNOTSUPP', `unknown op '${op}' (known: ${this.names().join(', ')})`);
    return h(args, ctx);
  }
}

/** The ops every daemon and --embedded run starts with (one fresh registry per server). */
export function builtinOps(): OpRegistry {
  const r = new OpRegistry();
  r.registerOp('ping', () => ({ pid: process.pid, version: 1 }));
  r.registerOp('ops', () => r.names());
  r.registerOp('types', (a, { service }) => service.types(optStr(a, 'parent')));
  r.registerOp('create', (a, { service }) => {
    const args = { type: str(a, 'type'), uuid: optStr(a, 'uuid'), parent: optStr(a, 'parent') };
    const host = optHost(a);
    return host ? service.createWithLines({ ...args, host }) : service.create(args);
  });
  // {report: true} answers {devices, skipped} instead of the bare list (skipped: definition files that do not parse).
  r.registerOp('list', (a, { service }) => {
    const opts = { configDir: optStr(a, 'configDir'), defined: optBool(a, 'defined'), uuid: optStr(a, 'uuid'), parent: optStr(a, 'parent'), type: optStr(a, 'type'), attrs: optBool(a, 'attrs') };
    return optBool(a, 'report') ? service.listReport(opts) : service.list(opts);
  });
  r.registerOp('remove', (a, { service }) => {
    const t = a.timeout;
    if (t !== undefined && t !== null && (typeof t !== 'number' || !Number.isFinite(t) || t < 0)) fail('EINVAL', 'argument "timeout" must be a number of seconds >= 0');
    return service.remove(str(a, 'uuid'), typeof t === 'number' ? { timeoutMs: Math.round(t * 1000) } : {});
  });
  r.registerOp('define', (a, { service }) =>
    service.define({ uuid: optStr(a, 'uuid'), type: optStr(a, 'type'), parent: optStr(a, 'parent'), start: optStart(a), attrs: optAttrs(a), host: optHost(a), configDir: optStr(a, 'configDir') }),
  );
  r.registerOp('undefine', (a, { service }) => service.undefine({ uuid: str(a, 'uuid'), parent: optStr(a, 'parent'), configDir: optStr(a, 'configDir') }));
  r.registerOp('start', (a, { service }) =>
    service.startDevice({ uuid: optStr(a, 'uuid'), type: optStr(a, 'type'), parent: optStr(a, 'parent'), attrs: optAttrs(a), host: optHost(a), configDir: optStr(a, 'configDir') }),
  );
  r.registerOp('modify', (a, { service }) => service.modify(modifyArgs(a)));
  r.registerOp('stop', (a, { service }) => service.stopDevice({ uuid: str(a, 'uuid') }));
  // Views: they read the device as it is and change nothing (service.ts).
  r.registerOp('device', (a, { service }) => service.describeDevice(str(a, 'uuid')));
  r.registerOp('lspci', (a, { service }) => service.lspci(str(a, 'uuid')));
  r.registerOp('setserial', (a, { service }) => service.setserial(str(a, 'uuid')));
  r.registerOp('dmesg', (a, { service }) => service.dmesg(str(a, 'uuid')));
  r.registerOp('reg.peek', (a, { service }) => ({ value: service.regPeek(str(a, 'uuid'), a.port, a.reg) }));
  // Pokes: a read with side effects, a write.
  r.registerOp('reg.read', (a, { service }) => ({ value: service.regRead(str(a, 'uuid'), a.port, a.reg) }));
  r.registerOp('reg.write', (a, { service }) => {
    service.regWrite(str(a, 'uuid'), a.port, a.reg, a.value);
    return {};
  });
  // Host lines: one record of who holds which (host-lines.ts).
  r.registerOp('host.attach', async (a, { service, onClientClose }) => {
    const uuid = str(a, 'uuid');
    const port = optInt(a, 'port') ?? 0;
    const whileConnected = optBool(a, 'whileConnected');
    const st = await service.hostLines.attach(uuid, port, a.spec, { force: optBool(a, 'force'), holder: optStr(a, 'holder'), giveBack: optBool(a, 'giveBack') });
    // A holder that dies (a console killed) must not keep the line: detach this holding when its connection closes.
    if (whileConnected && st.lease !== undefined) onClientClose?.(() => void service.hostLines.detach(uuid, port, { lease: st.lease }).catch(() => undefined));
    return st;
  });
  r.registerOp('host.detach', (a, { service }) => service.hostLines.detach(str(a, 'uuid'), optInt(a, 'port') ?? 0, { lease: optInt(a, 'lease') }));
  r.registerOp('host.status', (a, { service }) => service.hostLines.status(optStr(a, 'uuid'), optInt(a, 'port')));
  // The console's guest (guest-session.ts): tied to the asking connection, so a console that dies lets go.
  r.registerOp('console.open', async (a, { service, onClientClose }) => {
    const uuid = str(a, 'uuid');
    const port = optInt(a, 'port') ?? 0;
    const baud = optInt(a, 'baud');
    if (baud !== undefined && (baud < 50 || baud > 115200)) fail('EINVAL', `baud must be 50..115200 (the 8250's base_baud), got ${baud}`);
    const info = await service.consoleOpen(uuid, port, { baud });
    onClientClose?.(() => void service.consoleClose(uuid, port, info.lease).catch(() => undefined));
    return info;
  });
  r.registerOp('console.status', (a, { service }) => service.consoleStatus(str(a, 'uuid'), optInt(a, 'port') ?? 0, optInt(a, 'lease')));
  r.registerOp('console.close', (a, { service }) => service.consoleClose(str(a, 'uuid'), optInt(a, 'port') ?? 0, optInt(a, 'lease')));
  r.registerOp('sysfs.read', (a, { service }) => ({ text: service.mtty.sysfs.read(str(a, 'path')) }));
  r.registerOp('sysfs.write', async (a, { service }) => ({ bytes: await service.mtty.sysfs.write(str(a, 'path'), str(a, 'text')) }));
  r.registerOp('sysfs.list', (a, { service }) => service.mtty.sysfs.list(str(a, 'path')));
  r.registerOp('sysfs.tree', (a, { service }) => ({ text: service.mtty.sysfs.tree(str(a, 'path')) }));
  r.registerOp('shutdown', (_a, ctx) => {
    if (!ctx.requestShutdown) fail('EOPNOTSUPP', 'shutdown only applies to a running daemon');
    ctx.requestShutdown();
    return {};
  });
  return r;
}
