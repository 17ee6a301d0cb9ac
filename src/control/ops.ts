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
  r.registerOp('create', (a, { service }) => service.create({ type: str(a, 'type'), uuid: optStr(a, 'uuid'), parent: optStr(a, 'parent') }));
  // {report: true} answers {devices, skipped} instead of the bare list (skipped: definition files that do not parse).
  r.registerOp('list', (a, { service }) => {
    const opts = { configDir: optStr(a, 'configDir'), defined: optBool(a, 'defined'), uuid: optStr(a, 'uuid'), parent: optStr(a, 'parent'), type: optStr(a, 'type'), attrs: optBool(a, 'attrs') };
    return optBool(a, 'report') ? service.listReport(opts) : service.list(opts);
  });
  r.registerOp('remove', (a, { service }) => service.remove(str(a, 'uuid')));
  r.registerOp('define', (a, { service }) =>
    service.define({ uuid: optStr(a, 'uuid'), type: optStr(a, 'type'), parent: optStr(a, 'parent'), start: optStart(a), attrs: optAttrs(a), configDir: optStr(a, 'configDir') }),
  );
  r.registerOp('undefine', (a, { service }) => service.undefine({ uuid: str(a, 'uuid'), parent: optStr(a, 'parent'), configDir: optStr(a, 'configDir') }));
  r.registerOp('start', (a, { service }) =>
    service.startDevice({ uuid: optStr(a, 'uuid'), type: optStr(a, 'type'), parent: optStr(a, 'parent'), attrs: optAttrs(a), configDir: optStr(a, 'configDir') }),
  );
  r.registerOp('modify', (a, { service }) => service.modify(modifyArgs(a)));
  r.registerOp('stop', (a, { service }) => service.stopDevice({ uuid: str(a, 'uuid') }));
  r.registerOp('lspci', (a, { service }) => service.withSession(str(a, 'uuid'), (s) => ({ text: s.lspci() })));
  r.registerOp('setserial', (a, { service }) => service.withSession(str(a, 'uuid'), (s) => s.setserial()));
  r.registerOp('dmesg', (a, { service }) => service.withSession(str(a, 'uuid'), (s) => ({ lines: [...s.machine.dmesg] })));
  r.registerOp('reg.read', (a, { service }) => {
    const port = int(a, 'port');
    const reg = int(a, 'reg');
    return service.withSession(str(a, 'uuid'), (s) => ({ value: s.readReg(port, reg) }));
  });
  r.registerOp('reg.write', (a, { service }) => {
    const port = int(a, 'port');
    const reg = int(a, 'reg');
    const value = int(a, 'value');
    service.withSession(str(a, 'uuid'), (s) => s.writeReg(port, reg, value));
    return {};
  });
  r.registerOp('sysfs.read', (a, { service }) => ({ text: service.mtty.sysfs.read(str(a, 'path')) }));
  r.registerOp('sysfs.write', async (a, { service }) => ({ bytes: await service.mtty.sysfs.write(str(a, 'path'), str(a, 'text')) }));
  r.registerOp('sysfs.list', (a, { service }) => service.mtty.sysfs.list(str(a, 'path')));
  r.registerOp('sysfs.tree', (a, { service }) => ({ text: service.mtty.sysfs.tree(str(a, 'path')) }));
  // Placeholder until the host back-end module registers the real one (pty / serialport / loopback).
  r.registerOp('host.attach', (a) => {
    str(a, 'uuid');
    int(a, 'port');
    str(a, 'spec');
    fail('EOPNOTSUPP', 'no host back-ends are available in this daemon (host.attach is not registered)');
  });
  r.registerOp('shutdown', (_a, ctx) => {
    if (!ctx.requestShutdown) fail('EOPNOTSUPP', 'shutdown only applies to a running daemon');
    ctx.requestShutdown();
    return {};
  });
  return r;
}
