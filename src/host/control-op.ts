/**
 * Control-socket ops for host lines, written here so the daemon only has to
 * register them:
 *
 *   import { hostOps, HostRegistry } from '../host/index.js';
 *   const lines = new HostRegistry({ onEvent: (u, p, e) => log(e.message) });
 *   for (const [name, fn] of Object.entries(hostOps((uuid) => mtty.bus.device(uuid)?.vendor, lines)))
 *     ops.registerOp(name, fn);   // the daemon's own OpRegistry
 *
 *   host.attach {uuid, port?=0, spec}  -> PortLineStatus (path = pty slave, link = stable link)
 *   host.detach {uuid, port?=0}        -> {uuid, port, spec: 'loopback'}
 *   host.status {uuid?, port?}         -> PortLineStatus[] (only ports with a back-end attached)
 *
 * The device lookup is a parameter, not an import, so this file does not
 * depend on src/mtty or src/control and the daemon decides what "a device" is.
 */
import { fail } from '../errors/errno.js';
import type { HostRegistry, PortLineStatus } from './registry.js';
import { hostUartOf } from './port-adapter.js';
import type { HostUart } from './uart-port.js';

/**
 * What the ops need from a device: its ports (MttyDevice has this shape). A
 * port is either an MttyPort (driven through takeForHost, see port-adapter.ts)
 * or anything with a contract-conforming `uart`.
 */
export interface HostDevice {
  ports: ReadonlyArray<{ uart: unknown }>;
}
export type DeviceLookup = (uuid: string) => HostDevice | undefined;
export type OpHandler = (args: unknown) => Promise<unknown>;

interface PortArgs {
  uuid: string;
  port: number;
  spec?: unknown;
}

function portArgs(args: unknown, lookup: DeviceLookup): PortArgs & { uart: HostUart } {
  if (!args || typeof args !== 'object') fail('EINVAL', 'arguments must be an object {uuid, port, spec}');
  const a = args as Record<string, unknown>;
  if (typeof a.uuid !== 'string' || a.uuid === '') fail('EINVAL', 'uuid must be a string');
  const port = a.port === undefined ? 0 : a.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0) fail('EINVAL', `port must be a non-negative integer, got ${JSON.stringify(a.port)}`);
  const dev = lookup(a.uuid);
  if (!dev) fail('ENODEV', `no mdev device ${a.uuid}`);
  if (port >= dev.ports.length) fail('EINVAL', `device ${a.uuid} has ${dev.ports.length} port(s); port ${port} does not exist`);
  return { uuid: a.uuid, port, spec: a.spec, uart: hostUartOf(dev.ports[port]!) };
}

/** The `host.attach` handler. */
export function hostAttachOp(lookup: DeviceLookup, registry: HostRegistry): (args: unknown) => Promise<PortLineStatus> {
  return async (args) => {
    const a = portArgs(args, lookup);
    if (typeof a.spec !== 'string') fail('EINVAL', 'spec must be a string: loopback, serialport:<path>[,baud] or pty[:<link>]');
    return registry.attach(a.uuid, a.port, a.uart, a.spec);
  };
}

export function hostDetachOp(lookup: DeviceLookup, registry: HostRegistry): OpHandler {
  return async (args) => {
    const a = portArgs(args, lookup);
    await registry.detach(a.uuid, a.port);
    return { uuid: a.uuid, port: a.port, spec: 'loopback' };
  };
}

export function hostStatusOp(registry: HostRegistry): OpHandler {
  return async (args) => {
    const a = (args && typeof args === 'object' ? args : {}) as Record<string, unknown>;
    if (a.uuid !== undefined && typeof a.uuid !== 'string') fail('EINVAL', 'uuid must be a string');
    if (a.port !== undefined && (typeof a.port !== 'number' || !Number.isInteger(a.port))) fail('EINVAL', 'port must be an integer');
    return registry.status(a.uuid as string | undefined, a.port as number | undefined);
  };
}

/** All host ops by name, ready for registerOp(name, handler). */
export function hostOps(lookup: DeviceLookup, registry: HostRegistry): Record<string, OpHandler> {
  return {
    'host.attach': hostAttachOp(lookup, registry),
    'host.detach': hostDetachOp(lookup, registry),
    'host.status': hostStatusOp(registry),
  };
}
