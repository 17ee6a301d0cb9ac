/**
 * Exposing mdevs as vfio-user sockets: the integration hooks for the daemon
 * (`mtty serve --vfio-user DIR`) and the CLI (`mtty attach`).
 *
 *   attachVfioUser(device, socketPath)  one device on one socket
 *   serveVfioUser({ dir, bus })         every device of the bus on
 *                                       <dir>/<uuid>.sock, following the
 *                                       bus's add/remove uevents
 *
 * Typed structurally (OpenableDevice, VfioUserBus) so MdevBus/MdevDevice fit
 * as they are, and tests can pass a small fake.
 */
import { join } from 'node:path';
import { preparePrivateDir } from '../fs/private-dir.js';
import type { VfioDevice } from '../vfio/api.js';
import { VfioUserServer } from './server.js';

/** What the server needs of a device: MdevDevice fits. */
export interface OpenableDevice {
  readonly uuid: string;
  open(opener?: string): VfioDevice;
}

/** What serveVfioUser needs of a bus: MdevBus fits. */
export interface VfioUserBus {
  readonly devices: Iterable<OpenableDevice>;
  device(uuid: string): OpenableDevice | undefined;
  on(event: 'uevent', listener: (ev: { action: string; env: Record<string, string> }) => void): unknown;
  off(event: 'uevent', listener: (ev: { action: string; env: Record<string, string> }) => void): unknown;
}

/** Options of attachVfioUser: where log lines go (default stderr). */
export interface AttachOptions {
  log?: (line: string) => void;
  /** See VfioUserServerOptions.incompleteTimeoutMs (default 5000 ms). */
  incompleteTimeoutMs?: number;
  /** Decorate each opened device (e.g. --record's RecordingDevice) before the server uses it. */
  wrap?: (opened: VfioDevice, device: OpenableDevice) => VfioDevice;
}

/** Serve one device on `socketPath` (0600). Close the returned server to stop. */
export function attachVfioUser(device: OpenableDevice, socketPath: string, opts: AttachOptions = {}): VfioUserServer {
  const wrap = opts.wrap;
  const opener = `a vfio-user client on ${socketPath}`;
  const open = wrap ? () => wrap(device.open(opener), device) : () => device.open(opener);
  return VfioUserServer.listen({ socketPath, open, name: device.uuid, log: opts.log, incompleteTimeoutMs: opts.incompleteTimeoutMs });
}

/**
 * Options of serveVfioUser: the socket directory (created 0700), the bus to follow, log, a socket add/remove hook.
 */
export interface ServeOptions {
  /** Directory for the sockets; created 0700 if missing; refused (EPERM/EACCES) if not private (preparePrivateDir). */
  dir: string;
  bus: VfioUserBus;
  log?: (line: string) => void;
  /** See VfioUserServerOptions.incompleteTimeoutMs (default 5000 ms). */
  incompleteTimeoutMs?: number;
  /** As AttachOptions.wrap, for every device served. */
  wrap?: AttachOptions['wrap'];
  /** Called for each socket created/removed (the daemon may print or log them). */
  onSocket?: (ev: { action: 'add' | 'remove'; uuid: string; path: string; server: VfioUserServer }) => void;
}

/**
 * The per-device vfio-user sockets of a bus: live servers by UUID, each device's socket path, close().
 */
export interface VfioUserService {
  readonly dir: string;
  /** Live servers by device UUID. */
  readonly servers: ReadonlyMap<string, VfioUserServer>;
  socketPath(uuid: string): string;
  /** Stop following the bus and close every server (clients are disconnected). */
  close(): Promise<void>;
}

/**
 * The QEMU (>= 10.1) option that plugs in the vfio-user device served at
 * `path`, ready to paste into a shell:
 * `-device '{"driver":"vfio-user-pci","socket":{"path":"PATH","type":"unix"}}'`
 * (a ' in the path is quoted the POSIX shell way).
 */
export function qemuDeviceOption(path: string): string {
  const json = JSON.stringify({ driver: 'vfio-user-pci', socket: { path, type: 'unix' } });
  return `-device '${json.replace(/'/g, `'\\''`)}'`;
}

/**
 * Serve every mdev on the bus as `<dir>/<uuid>.sock` (0600), following creates and removes
 * (uevents). One client per device at a time, as a VFIO group has one user.
 */
export function serveVfioUser(opts: ServeOptions): VfioUserService {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  // The control socket's rule (src/control/paths.ts): whoever can write here could replace a device socket.
  preparePrivateDir(opts.dir, 'vfio-user socket directory');
  const servers = new Map<string, VfioUserServer>();
  const socketPath = (uuid: string) => join(opts.dir, `${uuid}.sock`);

  const start = (device: OpenableDevice): void => {
    if (servers.has(device.uuid)) return;
    const path = socketPath(device.uuid);
    try {
      const server = attachVfioUser(device, path, { log, wrap: opts.wrap, incompleteTimeoutMs: opts.incompleteTimeoutMs });
      servers.set(device.uuid, server);
      opts.onSocket?.({ action: 'add', uuid: device.uuid, path, server });
    } catch (e) {
      // One device failing to get a socket must not take the others down.
      log(`vfio-user ${device.uuid}: cannot serve on ${path}: ${(e as Error).message}`);
    }
  };
  const stop = (uuid: string): void => {
    const server = servers.get(uuid);
    if (!server) return;
    servers.delete(uuid);
    void server.close();
    opts.onSocket?.({ action: 'remove', uuid, path: server.socketPath, server });
  };

  // A device with an open client cannot be removed until that client closes
  // (the kernel blocks the remove write the same way), so 'remove' only
  // arrives once our client has gone; the socket disappears with the device.
  const onUevent = (ev: { action: string; env: Record<string, string> }): void => {
    const uuid = ev.env.MDEV_UUID;
    if (!uuid) return;
    if (ev.action === 'add') {
      const device = opts.bus.device(uuid);
      if (device) start(device);
    } else if (ev.action === 'remove') {
      stop(uuid);
    }
  };
  opts.bus.on('uevent', onUevent);
  for (const d of opts.bus.devices) start(d);

  return {
    dir: opts.dir,
    servers,
    socketPath,
    async close() {
      opts.bus.off('uevent', onUevent);
      for (const uuid of [...servers.keys()]) stop(uuid);
    },
  };
}
