/**
 * Everything `mtty serve` runs, as one start/close pair so the CLI verb, the
 * tests and any embedding program start the daemon the same way: load mtty
 * (the service keeps the host lines and the console guests),
 * optionally expose every device over vfio-user, start "auto" definitions,
 * and listen on the control socket.
 */
import type { UartProfile } from '../uart/profile.js';
import { native, serveVfioUser, qemuDeviceOption, type VfioUserService } from '../vfio-user/index.js';
import { TraceRecorder } from '../replay/record.js';
import { mttyRecordingWrap } from '../mtty/record-target.js';
import { SysfsExporter, type SysfsExportMode } from '../sysfs-export/index.js';
import type { Clock } from '../clock/clock.js';
import { fail } from '../errors/errno.js';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinOps } from './ops.js';
import { ControlServer, removeStaleSockets } from './server.js';
import { MttyService, type MttyLibrary } from './service.js';
import { defaultConfigDir, defaultRoot, defaultSocketPath, preparePrivateDir, storeDir } from './paths.js';

/**
 * Options of startDaemon: socket path, pool size, profile, clock, definitions directory, autostart,
 * vfio-user socket directory, sysfs export root, an already loaded library, log, shutdown hook.
 */
export interface DaemonOptions {
  socketPath?: string;
  ports?: number;
  profile?: UartProfile;
  clock?: Clock;
  /** Definition store (mdevctl layout); default DIR/etc/mdevctl.d with `sysfsRoot`, else $XDG_CONFIG_HOME/mtty/etc/mdevctl.d. */
  configDir?: string;
  /** Start "auto" definitions (default true). */
  autostart?: boolean;
  /** Serve each device as <dir>/<uuid>.sock for QEMU's vfio-user-pci. */
  vfioUserDir?: string;
  /** Record every vfio-user client's accesses to this file (mtty replay format; needs vfioUserDir). */
  recordFile?: string;
  /** Materialize /sys under this directory for the real mdevctl (src/sysfs-export); DIR/sys is removed on close. */
  sysfsRoot?: string;
  /** How DIR/sys is exported (src/sysfs-export): 'mirror' (default here), 'fuse' or 'auto'. */
  sysfsMode?: SysfsExportMode;
  library?: MttyLibrary;
  log?: (line: string) => void;
  /** A client sent the `shutdown` op. */
  onShutdownRequest?: () => void;
  /**
   * Vendor driver modules to register beside mtty (`mtty serve --driver FILE`): each
   * exports `register(bus, { clock })` (see examples/countdown-timer.ts). EINVAL when a
   * module has no such function; its own errors (EEXIST for a taken parent name) as thrown.
   */
  drivers?: readonly string[];
}

/** A running daemon: its server and service, what autostart did, the sysfs export, and close(). */
export interface Daemon {
  server: ControlServer;
  service: MttyService;
  autostarted: { started: string[]; failed: { uuid: string; error: string }[] };
  /** Set with `sysfsRoot`. */
  sysfsExport: SysfsExporter | null;
  close(): Promise<void>;
}

/** Import a vendor driver module and let it register its parent on the daemon's bus. */
async function registerDriverModule(file: string, bus: MttyLibrary['bus'], clock: Clock | undefined, log: (line: string) => void): Promise<void> {
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { register?: unknown };
  if (typeof mod.register !== 'function') fail('EINVAL', `${file} does not export register(bus, { clock }), so it is not a vendor driver module`);
  const before = new Set(bus.parents.map((p) => p.name));
  await (mod.register as (bus: MttyLibrary['bus'], ctx: { clock?: Clock }) => unknown)(bus, { clock });
  const added = bus.parents.map((p) => p.name).filter((n) => !before.has(n));
  log(`driver ${file}: registered ${added.length ? added.join(', ') : 'no parent'}`);
}

/**
 * Start `mtty serve` in this process: load mtty (or use `library`), listen on the control socket
 * (mode 0600, parent directory 0700), start "auto" definitions, and optionally serve vfio-user
 * sockets and the sysfs export. EBUSY when another daemon already listens on the socket.
 */
export async function startDaemon(opts: DaemonOptions = {}): Promise<Daemon> {
  const log = opts.log ?? (() => undefined);
  // Serving vfio-user needs the fd-passing addon: without it, refuse to start (ENOENT naming
  // what to install) rather than fail later, once per device, in the log.
  if (opts.vfioUserDir) native();
  const service = await MttyService.start({
    ports: opts.ports,
    profile: opts.profile,
    clock: opts.clock,
    // One store with the real mdevctl: with --sysfs-root DIR it is DIR/etc/mdevctl.d, mdevctl's /etc/mdevctl.d there.
    configDir: opts.configDir ?? (opts.sysfsRoot ? storeDir(opts.sysfsRoot) : defaultConfigDir()),
    library: opts.library,
    log,
  });
  for (const file of opts.drivers ?? []) await registerDriverModule(file, service.mtty.bus, opts.clock, log);
  const store = service.store();
  if (opts.configDir === undefined && !opts.sysfsRoot) {
    // Definitions of mtty before the mdevctl layout ($XDG_CONFIG_HOME/mtty/<parent>/<uuid>) move in, once.
    const { moved, kept } = await store.adoptLegacy(defaultRoot());
    for (const f of moved) log(`moved the definition ${f} into ${store.dir}`);
    for (const f of kept) log(`kept ${f}: not moved into ${store.dir} (unreadable, or that UUID is defined there already)`);
  }
  for (const f of await store.sweep()) log(`removed the stale temp file ${f}`);
  const ops = builtinOps();

  const server = new ControlServer(service, { socketPath: opts.socketPath ?? defaultSocketPath(), ops, onShutdownRequest: opts.onShutdownRequest, log });
  try {
    await server.listen();
  } catch (e) {
    // Not server.close(): that would unlink the socket of the daemon that refused us (EBUSY).
    service.close();
    throw e;
  }

  let vfioUser: VfioUserService | null = null;
  let sysfsExport: SysfsExporter | null = null;
  let recorder: TraceRecorder | null = null;
  try {
    if (opts.recordFile && !opts.vfioUserDir) fail('EINVAL', '--record records vfio-user clients: it needs --vfio-user DIR');
    if (opts.recordFile) {
      recorder = new TraceRecorder(opts.recordFile);
      log(`recording every vfio-user access to ${opts.recordFile}`);
    }
    if (opts.vfioUserDir) {
      // Sockets of transient devices a killed daemon left behind would otherwise stay forever.
      const gone = await removeStaleSockets(preparePrivateDir(opts.vfioUserDir, 'vfio-user socket directory'), /^[0-9a-f-]{36}\.sock$/i);
      if (gone.length > 0) log(`vfio-user: removed ${gone.length} stale socket(s) left by a previous daemon: ${gone.join(' ')}`);
      vfioUser = serveVfioUser({
        dir: opts.vfioUserDir,
        bus: service.mtty.bus,
        log,
        wrap: recorder ? mttyRecordingWrap(recorder) : undefined,
        // What a user starting QEMU needs next: the socket and the option that attaches it.
        onSocket: (ev) => {
          if (ev.action === 'add') log(`vfio-user: ${ev.uuid} on ${ev.path}; QEMU: ${qemuDeviceOption(ev.path)}`);
        },
      });
    }
    if (opts.sysfsRoot) sysfsExport = SysfsExporter.start({ root: opts.sysfsRoot, sysfs: service.mtty.sysfs, bus: service.mtty.bus, log, mode: opts.sysfsMode });
    const autostarted = opts.autostart === false ? { started: [], failed: [] } : await service.autostart();
    for (const f of autostarted.failed) log(`autostart ${f.uuid} failed: ${f.error}`);
    let closing: Promise<void> | null = null;
    return {
      server,
      service,
      autostarted,
      sysfsExport,
      close() {
        closing ??= (async () => {
          await server.close();
          await sysfsExport?.close();
          await vfioUser?.close();
          recorder?.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    await server.close();
    await sysfsExport?.close();
    await vfioUser?.close();
    recorder?.close();
    throw e;
  }
}
