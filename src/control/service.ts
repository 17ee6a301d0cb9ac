/**
 * What the daemon (and `--embedded` one-shot runs) can do, independent of the
 * transport: one loaded mtty ("modprobe mtty"), the definition store, and a
 * guest session per device that has been looked at. Every method validates
 * its inputs and fails with the MttyError the user should see.
 */
import type { MdevBus } from '../mdev/bus.js';
import type { MdevDevice } from '../mdev/device.js';
import type { MdevParent } from '../mdev/parent.js';
import type { MdevType } from '../mdev/type.js';
import type { Sysfs } from '../mdev/sysfs.js';
import type { Clock } from '../clock/clock.js';
import { fail, MttyError } from '../errors/errno.js';
import { DefinitionStore, type Definition, type StartPolicy } from './definitions.js';
import { mdevUuid } from '../mdev/uuid.js';
import { defaultConfigDir } from './paths.js';
import { GuestSession } from './guest-session.js';

/** The parts of loadMtty()'s result the service uses. */
export interface MttyLibrary {
  bus: MdevBus;
  // `any`: MdevParent<MttyDevice> is not assignable to MdevParent<MdevVendorDevice>
  // (probe() makes the vendor type invariant); the service only uses the generic surface.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  parent: MdevParent<any>;
  sysfs: Sysfs;
}

/**
 * Options of MttyService.start: pool size, profile, clock, definitions directory, an already loaded library.
 */
export interface ServiceOptions {
  ports?: number;
  profile?: 'mtty' | 'pc16550d';
  clock?: Clock;
  /** Definitions directory (default $XDG_CONFIG_HOME/mtty). */
  configDir?: string;
  /** Use an already loaded library instead of loading one (tests, the lab). */
  library?: MttyLibrary;
}

/**
 * One row of `types` (mdevctl types): parent, type id, name, device_api, available_instances, description.
 */
export interface TypeInfo {
  parent: string;
  type: string;
  name: string;
  deviceApi: string;
  availableInstances: number;
  description?: string;
}

/** One row of `list` (mdevctl list): uuid, parent, type, start policy, whether active and defined. */
export interface DeviceEntry {
  uuid: string;
  parent: string;
  type: string;
  start: StartPolicy;
  active: boolean;
  defined: boolean;
}

/**
 * The daemon's operations on one mtty library (types, create, remove, list, define, start, stop,
 * lspci, setserial, reg, sysfs); each fails with the MttyError the CLI prints. The socket server
 * and InProcessClient both call these.
 */
export class MttyService {
  private sessions = new Map<string, GuestSession>();
  private stores = new Map<string, DefinitionStore>();

  constructor(
    readonly mtty: MttyLibrary,
    readonly configDir: string,
  ) {}

  static async start(opts: ServiceOptions = {}): Promise<MttyService> {
    let lib = opts.library;
    if (!lib) {
      const { loadMtty } = await import('../mtty/load.js');
      lib = await loadMtty({ ports: opts.ports, profile: opts.profile, clock: opts.clock });
    }
    return new MttyService(lib, opts.configDir ?? defaultConfigDir());
  }

  /** The store for a client-supplied --config-dir, or the daemon's own. */
  store(configDir?: string): DefinitionStore {
    const dir = configDir ?? this.configDir;
    let s = this.stores.get(dir);
    if (!s) this.stores.set(dir, (s = new DefinitionStore(dir)));
    return s;
  }

  // ---- lookups ---------------------------------------------------------------------------

  parentNamed(name?: string): MdevParent {
    if (name === undefined) return this.mtty.parent;
    const p = this.mtty.bus.parent(name);
    if (p) return p;
    // mdevctl answers a case-insensitive near miss with a hint; so do we.
    const near = this.mtty.bus.parents.find((x) => x.name.toLowerCase() === name.toLowerCase());
    fail('ENODEV', `no parent device '${name}'${near ? `; did you mean '${near.name}'?` : ` (parents: ${this.mtty.bus.parents.map((x) => x.name).join(', ')})`}`);
  }

  typeNamed(type: string, parent?: string): MdevType {
    const candidates = parent === undefined ? this.mtty.bus.parents : [this.parentNamed(parent)];
    for (const p of candidates) {
      const t = p.type(type);
      if (t) return t;
    }
    const known = candidates.flatMap((p) => p.types.map((t) => t.id));
    // On a kernel the type's directory (and so its create file) does not exist: ENOENT.
    fail('ENOENT', `no mdev type '${type}'${parent ? ` on parent ${parent}` : ''} (types: ${known.join(', ')})`);
  }

  /** The live device; EINVAL for a malformed UUID, ENODEV when there is none. */
  device(uuid: unknown): MdevDevice {
    const id = mdevUuid(uuid);
    const d = this.mtty.bus.device(id);
    if (!d || d.state === 'gone') fail('ENODEV', `no mediated device ${id}`);
    return d;
  }

  // ---- types / create / list / remove -----------------------------------------------------

  types(parent?: string): TypeInfo[] {
    const parents = parent === undefined ? this.mtty.bus.parents : [this.parentNamed(parent)];
    return parents.flatMap((p) =>
      [...p.types]
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((t) => ({
          parent: p.name,
          type: t.id,
          name: t.name,
          deviceApi: t.deviceApi,
          availableInstances: t.availableInstances,
          ...(t.description !== undefined ? { description: t.description } : {}),
        })),
    );
  }

  create(args: { type: string; uuid?: string; parent?: string }): { uuid: string; parent: string; type: string } {
    const t = this.typeNamed(args.type, args.parent);
    const d = t.create(args.uuid);
    return { uuid: d.uuid, parent: t.parent.name, type: t.id };
  }

  async list(opts: { configDir?: string; defined?: boolean } = {}): Promise<DeviceEntry[]> {
    const defs = await this.store(opts.configDir).list();
    const live = this.mtty.bus.devices.filter((d) => d.state === 'active' || d.state === 'removing');
    const entries: DeviceEntry[] = [];
    if (opts.defined) {
      for (const def of defs) {
        const d = live.find((x) => x.uuid === def.uuid && x.parent.name === def.parent);
        entries.push({ uuid: def.uuid, parent: def.parent, type: def.mdev_type, start: def.start, active: !!d, defined: true });
      }
      return entries;
    }
    for (const d of live) {
      const def = defs.find((x) => x.uuid === d.uuid && x.parent === d.parent.name);
      entries.push({ uuid: d.uuid, parent: d.parent.name, type: d.type.id, start: def?.start ?? 'manual', active: true, defined: !!def });
    }
    return entries;
  }

  async remove(uuid: unknown): Promise<{ uuid: string }> {
    const d = this.device(uuid);
    this.closeSession(d.uuid);
    await d.remove();
    return { uuid: d.uuid };
  }

  // ---- mdevctl-style definitions ---------------------------------------------------------

  async define(args: { uuid?: string; type?: string; parent?: string; start?: StartPolicy; attrs?: Record<string, string>[]; configDir?: string }): Promise<Definition> {
    const live = args.uuid !== undefined ? this.mtty.bus.device(mdevUuid(args.uuid)) : undefined;
    // Like mdevctl: defining a running device without -t promotes it with its own type and parent.
    const type = args.type ?? live?.type.id;
    if (!type) fail('EINVAL', 'define needs a type (--type), or the UUID of a running device');
    const t = this.typeNamed(type, args.parent ?? live?.parent.name);
    const def: Definition = {
      uuid: args.uuid !== undefined ? mdevUuid(args.uuid) : crypto.randomUUID(),
      parent: t.parent.name,
      mdev_type: t.id,
      start: args.start ?? 'manual',
      attrs: args.attrs ?? [],
    };
    await this.store(args.configDir).save(def);
    return def;
  }

  async undefine(args: { uuid: string; parent?: string; configDir?: string }): Promise<Definition> {
    return this.store(args.configDir).remove(mdevUuid(args.uuid), args.parent);
  }

  /** Start a defined device, or a transient one when a type is given. */
  async startDevice(args: { uuid?: string; type?: string; parent?: string; configDir?: string }): Promise<{ uuid: string; parent: string; type: string; defined: boolean }> {
    const uuid = args.uuid !== undefined ? mdevUuid(args.uuid) : undefined;
    const def = uuid ? await this.store(args.configDir).get(uuid, args.parent) : undefined;
    if (uuid && this.mtty.bus.device(uuid)) fail('EEXIST', `device ${uuid} already exists (it is running)`);
    const type = args.type ?? def?.mdev_type;
    if (!type) fail(uuid ? 'ENOENT' : 'EINVAL', uuid ? `device ${uuid} is not defined; give --type to start it transiently` : 'start needs --uuid of a definition or --type');
    if (def && args.type && args.type !== def.mdev_type) fail('EINVAL', `device ${uuid} is defined with type ${def.mdev_type}, not ${args.type}`);
    const t = this.typeNamed(type, args.parent ?? def?.parent);
    if (t.availableInstances <= 0) fail('ENOSPC', `no available instances of ${t.id} on ${t.parent.name}`);
    const d = t.create(uuid);
    // Attributes are written in order after create; a failure stops the device again (mdevctl does the same).
    for (const attr of def?.attrs ?? []) {
      for (const [name, value] of Object.entries(attr)) {
        try {
          await this.mtty.sysfs.write(`/sys/bus/mdev/devices/${d.uuid}/${name}`, value);
        } catch (e) {
          await d.remove().catch(() => undefined);
          throw e instanceof MttyError ? e : new MttyError('EIO', String(e));
        }
      }
    }
    return { uuid: d.uuid, parent: t.parent.name, type: t.id, defined: !!def };
  }

  async stopDevice(args: { uuid: string }): Promise<{ uuid: string }> {
    return this.remove(args.uuid);
  }

  /** What `mtty serve` does at start: start every "auto" definition, reporting failures instead of dying. */
  async autostart(configDir?: string): Promise<{ started: string[]; failed: { uuid: string; error: string }[] }> {
    const started: string[] = [];
    const failed: { uuid: string; error: string }[] = [];
    const store = this.store(configDir);
    const defs = await store.list();
    for (const s of store.skipped) failed.push({ uuid: s.file, error: s.error });
    for (const def of defs) {
      if (def.start !== 'auto') continue;
      if (!this.mtty.bus.parent(def.parent)) continue; // not our parent: another tool's definition
      try {
        await this.startDevice({ uuid: def.uuid, parent: def.parent, configDir });
        started.push(def.uuid);
      } catch (e) {
        failed.push({ uuid: def.uuid, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return { started, failed };
  }

  // ---- guest views -----------------------------------------------------------------------

  /**
   * Run fn with the device plugged into a fresh guest model, then unplug and
   * close it. Holding the device open between requests would make a sysfs
   * `remove` block forever and lock out a vfio-user client (one opener at a
   * time); the UART state lives in the device, so nothing is lost by closing.
   * EBUSY while a VMM (vfio-user client) has the device open.
   */
  withSession<T>(uuid: unknown, fn: (s: GuestSession) => T): T {
    const d = this.device(uuid);
    const s = new GuestSession(d.uuid, d.open());
    this.sessions.set(d.uuid, s);
    try {
      return fn(s);
    } finally {
      this.closeSession(d.uuid);
    }
  }

  closeSession(uuid: string): void {
    const s = this.sessions.get(uuid);
    if (!s) return;
    this.sessions.delete(uuid);
    s.close();
  }

  /** Drop every guest session (devices stay); used at shutdown. */
  close(): void {
    for (const uuid of [...this.sessions.keys()]) this.closeSession(uuid);
  }
}
