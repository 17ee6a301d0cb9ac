/**
 * What the daemon (and `--embedded` one-shot runs) can do, independent of the
 * transport: one loaded mtty ("modprobe mtty"), the definition store, and a
 * guest session per device that has been looked at. Every method validates
 * its inputs and fails with the MttyError the user should see.
 */
import type { UartProfile } from '../uart/profile.js';
import type { MdevBus } from '../mdev/bus.js';
import type { MdevDevice } from '../mdev/device.js';
import type { MdevParent } from '../mdev/parent.js';
import type { MdevType } from '../mdev/type.js';
import type { Sysfs } from '../mdev/sysfs.js';
import type { Clock } from '../clock/clock.js';
import { fail, MttyError } from '../errors/errno.js';
import { checkAttrs, checkUuid, DefinitionStore, type Definition, type StartPolicy } from './definitions.js';
import { defaultConfigDir } from './paths.js';
import { GuestSession } from './guest-session.js';
import { generateMdevUuid } from '../mdev/uuid.js';

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
  profile?: UartProfile;
  clock?: Clock;
  /** Definition store, mdevctl's layout (default $XDG_CONFIG_HOME/mtty/etc/mdevctl.d; src/control/paths.ts). */
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

/** One line of `mtty list`: a running device (start/attrs from its definition, if any) or, with `defined`, a definition. */
export interface DeviceEntry {
  uuid: string;
  parent: string;
  type: string;
  start: StartPolicy;
  active: boolean;
  defined: boolean;
  /** Only when asked for (`attrs: true`): the definition's attributes, in order; [] for a transient device. */
  attrs?: Record<string, string>[];
}

/** Filters and extras of `list` (mdevctl list -d/-u/-p, plus -t; `attrs` adds each entry's attributes). */
export interface ListOptions {
  configDir?: string;
  defined?: boolean;
  uuid?: string;
  parent?: string;
  type?: string;
  attrs?: boolean;
}

/** What `mtty modify` may change (mdevctl modify); fields left out stay as they are. */
export interface ModifyArgs {
  uuid: string;
  parent?: string;
  type?: string;
  start?: StartPolicy;
  /** Insert {name: value} at `index` (default: the end). */
  addattr?: { name: string; value: string };
  /** Delete the attribute at `index` (default: the last; nothing when there are none). */
  delattr?: boolean;
  index?: number;
  /** Replace type, start and attrs with an mdevctl JSON definition (modify --jsonfile). */
  definition?: { mdev_type: string; start: StartPolicy; attrs: Record<string, string>[] };
  configDir?: string;
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
    const id = checkUuid(uuid);
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

  /**
   * Running devices (or, with `defined`, definitions), filtered like mdevctl
   * list -u/-p (and -t), sorted by parent then UUID as mdevctl prints them.
   * An unknown parent or type filter matches nothing (not an error, as in mdevctl).
   */
  async list(opts: ListOptions = {}): Promise<DeviceEntry[]> {
    return (await this.listReport(opts)).devices;
  }

  /** list(), with the definition files it skipped because they do not parse (`mtty list` warns about them). */
  async listReport(opts: ListOptions = {}): Promise<{ devices: DeviceEntry[]; skipped: { file: string; error: string }[] }> {
    const uuid = opts.uuid === undefined ? undefined : checkUuid(opts.uuid);
    const { defs, skipped } = await this.store(opts.configDir).scan({ uuid, parent: opts.parent });
    const live = this.mtty.bus.devices.filter((d) => (d.state === 'active' || d.state === 'removing') && (uuid === undefined || d.uuid === uuid) && (opts.parent === undefined || d.parent.name === opts.parent));
    let entries: DeviceEntry[];
    if (opts.defined) {
      entries = defs.map((def) => ({
        uuid: def.uuid,
        parent: def.parent,
        type: def.mdev_type,
        start: def.start,
        active: live.some((x) => x.uuid === def.uuid && x.parent.name === def.parent),
        defined: true,
        ...(opts.attrs ? { attrs: def.attrs } : {}),
      }));
    } else {
      entries = live.map((d) => {
        const def = defs.find((x) => x.uuid === d.uuid && x.parent === d.parent.name);
        return { uuid: d.uuid, parent: d.parent.name, type: d.type.id, start: def?.start ?? 'manual', active: true, defined: !!def, ...(opts.attrs ? { attrs: def?.attrs ?? [] } : {}) };
      });
    }
    const devices = entries
      .filter((e) => opts.type === undefined || e.type === opts.type)
      .sort((a, b) => (a.parent === b.parent ? (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0) : a.parent < b.parent ? -1 : 1));
    return { devices, skipped };
  }

  async remove(uuid: unknown): Promise<{ uuid: string }> {
    const d = this.device(uuid);
    this.closeSession(d.uuid);
    await d.remove();
    return { uuid: d.uuid };
  }

  // ---- mdevctl-style definitions ---------------------------------------------------------

  async define(args: { uuid?: string; type?: string; parent?: string; start?: StartPolicy; attrs?: Record<string, string>[]; configDir?: string }): Promise<Definition> {
    const live = args.uuid !== undefined ? this.mtty.bus.device(checkUuid(args.uuid)) : undefined;
    // Like mdevctl: defining a running device without -t promotes it with its own type and parent.
    const type = args.type ?? live?.type.id;
    if (!type) fail('EINVAL', 'define needs a type (--type), or the UUID of a running device');
    const t = this.typeNamed(type, args.parent ?? live?.parent.name);
    const def: Definition = {
      uuid: args.uuid !== undefined ? checkUuid(args.uuid) : generateMdevUuid(),
      parent: t.parent.name,
      mdev_type: t.id,
      start: args.start ?? 'manual',
      attrs: args.attrs ?? [],
    };
    return this.store(args.configDir).define(def);
  }

  /** Every parent's definition of the UUID unless `parent` is given (mdevctl undefine); ENOENT if none. */
  async undefine(args: { uuid: string; parent?: string; configDir?: string }): Promise<{ uuid: string; parent: string; definition?: Definition }[]> {
    return this.store(args.configDir).undefine(checkUuid(args.uuid), args.parent);
  }

  /**
   * mdevctl modify on a definition (a running device is not touched). ENOENT
   * if not defined, or for a type one of our parents lacks; EINVAL for an
   * attribute index out of range ("Attribute index N is invalid") or
   * conflicting changes; the store's errno (ENOSPC, EROFS...) otherwise.
   * A refused modify leaves the stored definition as it was.
   */
  async modify(args: ModifyArgs): Promise<Definition> {
    const uuid = checkUuid(args.uuid);
    if (args.definition && (args.type !== undefined || args.start !== undefined || args.addattr || args.delattr)) {
      fail('EINVAL', 'a JSON definition replaces type, start and attributes; give it alone');
    }
    if (args.addattr && args.delattr) fail('EINVAL', '--addattr and --delattr exclude each other');
    if (args.index !== undefined && (!Number.isInteger(args.index) || args.index < 0)) fail('EINVAL', `attribute index must be a non-negative integer, got ${args.index}`);
    if (args.definition) checkAttrs(args.definition.attrs, 'the JSON definition');
    return this.store(args.configDir).modify(uuid, args.parent, (d) => {
      const type = args.definition?.mdev_type ?? args.type;
      // Our own parents know their types; another parent's definition is kept as given (mdevctl checks nothing).
      if (type !== undefined && this.mtty.bus.parent(d.parent)) this.typeNamed(type, d.parent);
      if (args.definition) return { ...d, mdev_type: args.definition.mdev_type, start: args.definition.start, attrs: args.definition.attrs };
      if (type !== undefined) d.mdev_type = type;
      if (args.start !== undefined) d.start = args.start;
      if (args.addattr) {
        const at = args.index ?? d.attrs.length;
        if (at > d.attrs.length) fail('EINVAL', `Attribute index ${at} is invalid (the definition has ${d.attrs.length})`);
        d.attrs.splice(at, 0, { [args.addattr.name]: args.addattr.value });
      }
      if (args.delattr && d.attrs.length) {
        const at = args.index ?? d.attrs.length - 1;
        if (at >= d.attrs.length) fail('EINVAL', `Attribute index ${at} is invalid (the definition has ${d.attrs.length})`);
        d.attrs.splice(at, 1);
      } else if (args.delattr && args.index !== undefined) {
        fail('EINVAL', `Attribute index ${args.index} is invalid (the definition has none)`);
      }
      return d;
    });
  }

  /**
   * mdevctl start. With a type (--type, or the mdev_type of a --jsonfile) the
   * device is fully specified and started from these arguments alone: a
   * transient device (random UUID unless given), `attrs` written in order. Without
   * one, `uuid` names a definition (EINVAL if it is defined on several parents
   * and no parent is given; ENOENT if not defined). EEXIST if it is running.
   */
  async startDevice(args: { uuid?: string; type?: string; parent?: string; attrs?: Record<string, string>[]; configDir?: string }): Promise<{ uuid: string; parent: string; type: string; defined: boolean }> {
    const uuid = args.uuid !== undefined ? checkUuid(args.uuid) : undefined;
    const def = uuid && args.type === undefined ? await this.store(args.configDir).get(uuid, args.parent) : undefined;
    if (args.type === undefined && !def) {
      fail(uuid ? 'ENOENT' : 'EINVAL', uuid ? `device ${args.parent ? `${args.parent}/` : ''}${uuid} is not defined; give --type (or --jsonfile) to start it transiently` : 'start needs --uuid of a definition, or --type / --jsonfile');
    }
    if (uuid && this.mtty.bus.device(uuid)) fail('EEXIST', `device ${uuid} already exists (it is running)`);
    const t = this.typeNamed(args.type ?? def!.mdev_type, args.parent ?? def?.parent);
    if (t.availableInstances <= 0) fail('ENOSPC', `no available instances of ${t.id} on ${t.parent.name}`);
    const d = t.create(uuid);
    // Attributes are written in order after create; a failure stops the device again (mdevctl does the same).
    for (const attr of (def ? def.attrs : args.attrs) ?? []) {
      for (const [name, value] of Object.entries(attr)) {
        try {
          await this.mtty.sysfs.write(`/sys/bus/mdev/devices/${d.uuid}/${name}`, value);
        } catch (e) {
          await d.remove().catch(() => undefined);
          throw e instanceof MttyError ? e : new MttyError('EIO', String(e));
        }
      }
    }
    const defined = !!def || (uuid !== undefined && (await this.store(args.configDir).list({ uuid, parent: t.parent.name })).length > 0);
    return { uuid: d.uuid, parent: t.parent.name, type: t.id, defined };
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
