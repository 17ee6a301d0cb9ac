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
import { GuestSession, type ConsoleCounters, type ConsoleInfo } from './guest-session.js';
import { HostLines } from './host-lines.js';
import { formatSpec, parseSpec } from '../host/spec.js';
import type { MttyDevice } from '../mtty/device.js';
import { lspciFunction } from '../guest/index.js';
import { formatLspci, type LspciFunction } from '../pci/lspci.js';
import { generateMdevUuid } from '../mdev/uuid.js';

/** The parts of loadMtty()'s result the service uses. */
export interface MttyLibrary {
  bus: MdevBus;
  // `any`: MdevParent<MttyDevice> is not assignable to MdevParent<MdevVendorDevice>
  // (probe() makes the vendor type invariant); the service only uses the generic surface.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  parent: MdevParent<any>;
  sysfs: Sysfs;
  /** bus.device() typed for mtty (LoadedMtty.device). */
  device(uuid: string): MdevDevice<MttyDevice> | undefined;
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
  /** Daemon log lines (host line events, the console guest's dmesg). */
  log?: (line: string) => void;
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

/** A {port: spec} map from a request: EINVAL (naming the entry) before anything is created. */
function checkHostLines(host: unknown): Record<string, string> | undefined {
  if (host === undefined || host === null) return undefined;
  if (typeof host !== 'object' || Array.isArray(host)) fail('EINVAL', 'argument "host" must map port numbers to host specs ({"0": "pty:/tmp/ttyMTTY0"})');
  const out: Record<string, string> = {};
  for (const [port, spec] of Object.entries(host as Record<string, unknown>)) {
    if (!/^\d+$/.test(port)) fail('EINVAL', `host line for port '${port}': the port must be a number (0, 1)`);
    out[String(Number(port))] = formatSpec(parseSpec(spec));
  }
  return Object.keys(out).length ? out : undefined;
}

/** Register names `mtty reg` takes, by offset (PC16550D table 2; DLAB picks DLL/DLM at 0/1). */
export const REGISTER_NAMES: Readonly<Record<string, number>> = { rbr: 0, thr: 0, dll: 0, ier: 1, dlm: 1, iir: 2, fcr: 2, lcr: 3, mcr: 4, lsr: 5, msr: 6, scr: 7 };

/**
 * The daemon's operations on one mtty library (types, create, remove, list, define, start, stop,
 * lspci, setserial, reg, sysfs); each fails with the MttyError the CLI prints. The socket server
 * and InProcessClient both call these.
 */
export class MttyService {
  /** The guest console sessions, at most one per device (src/control/guest-session.ts). */
  private sessions = new Map<string, GuestSession>();
  private opening = new Map<string, Promise<GuestSession>>();
  private stores = new Map<string, DefinitionStore>();
  /** Who holds which port's host line: the one record (src/control/host-lines.ts). */
  readonly hostLines: HostLines;

  constructor(
    readonly mtty: MttyLibrary,
    readonly configDir: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.hostLines = new HostLines((uuid) => {
      const d = this.mttyDevice(uuid);
      return { uuid: d.uuid, ports: d.vendor.ports };
    }, { onEvent: (uuid, port, e) => this.log(`host ${uuid}/${port}: ${e.message}`) });
  }

  static async start(opts: ServiceOptions = {}): Promise<MttyService> {
    let lib = opts.library;
    if (!lib) {
      const { loadMtty } = await import('../mtty/load.js');
      lib = await loadMtty({ ports: opts.ports, profile: opts.profile, clock: opts.clock });
    }
    return new MttyService(lib, opts.configDir ?? defaultConfigDir(), opts.log);
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

  /** The live mtty device (its ports, config space); ENODEV while it is being removed too. */
  mttyDevice(uuid: unknown): MdevDevice<MttyDevice> {
    const id = checkUuid(uuid);
    const d = this.mtty.device(id);
    if (!d || d.state !== 'active') fail('ENODEV', `no mediated device ${id}${d && d.state === 'removing' ? ' (being removed)' : ''}`);
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

  /** Create a device (echo UUID > .../create): EINVAL/EEXIST/ENOSPC/ENOENT, synchronously. */
  create(args: { type: string; uuid?: string; parent?: string }): { uuid: string; parent: string; type: string } {
    const t = this.typeNamed(args.type, args.parent);
    const d = t.create(args.uuid);
    return { uuid: d.uuid, parent: t.parent.name, type: t.id };
  }

  /** create(), then put the given host lines ({port: spec}) on its ports; if one cannot be opened the device is removed again. */
  async createWithLines(args: { type: string; uuid?: string; parent?: string; host?: Record<string, string> }): Promise<{ uuid: string; parent: string; type: string }> {
    const host = checkHostLines(args.host); // EINVAL before anything is created
    const r = this.create(args);
    await this.attachLines(this.device(r.uuid), host, 'mtty create');
    return r;
  }

  /** Host lines given at create/start time, or stored in a definition; all or nothing. */
  private async attachLines(d: MdevDevice, host: Record<string, string> | undefined, holder: string): Promise<void> {
    if (!host) return;
    try {
      for (const [port, spec] of Object.entries(host)) await this.hostLines.attach(d.uuid, Number(port), spec, { holder: `${holder} (${spec})` });
    } catch (e) {
      await this.hostLines.detachDevice(d.uuid);
      await d.remove().catch(() => undefined);
      throw e;
    }
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

  /** Who has the device open (a VMM, the console's guest), for `mtty remove` to say what it waits for. */
  describeDevice(uuid: unknown): { uuid: string; parent: string; type: string; state: string; openedBy: string | null } {
    const d = this.device(uuid);
    return { uuid: d.uuid, parent: d.parent.name, type: d.type.id, state: d.state, openedBy: d.openedBy ?? null };
  }

  /**
   * Remove a device, waiting (like the kernel's remove write) for its opener
   * to close it; `timeoutMs`: EBUSY after that long, the device untouched.
   * Its host lines are closed once it is gone (no socat outlives its port).
   */
  async remove(uuid: unknown, opts: { timeoutMs?: number } = {}): Promise<{ uuid: string; waitedFor: string | null }> {
    const d = this.device(uuid);
    const waitedFor = d.openedBy ?? null;
    await d.remove(opts);
    await this.hostLines.detachDevice(d.uuid);
    return { uuid: d.uuid, waitedFor };
  }

  // ---- mdevctl-style definitions ---------------------------------------------------------

  async define(args: { uuid?: string; type?: string; parent?: string; start?: StartPolicy; attrs?: Record<string, string>[]; host?: Record<string, string>; configDir?: string }): Promise<Definition> {
    const host = checkHostLines(args.host);
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
      // mtty's own key; the store keeps keys mdevctl does not know ("extra") and writes them back.
      ...(host ? { extra: { mtty_host: host } } : {}),
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
   * Host lines: the definition's "mtty_host", overridden port by port by `host`;
   * one that cannot be opened removes the device again.
   */
  async startDevice(args: { uuid?: string; type?: string; parent?: string; attrs?: Record<string, string>[]; host?: Record<string, string>; configDir?: string }): Promise<{ uuid: string; parent: string; type: string; defined: boolean }> {
    const hostArg = checkHostLines(args.host);
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
    // Host lines: the ones given now win over the definition's, port by port.
    const stored = def ? checkHostLines(def.extra?.mtty_host) : undefined;
    const host = stored || hostArg ? { ...stored, ...hostArg } : undefined;
    await this.attachLines(d, host, def ? `mtty start (definition ${d.uuid})` : 'mtty start');
    return { uuid: d.uuid, parent: t.parent.name, type: t.id, defined };
  }

  async stopDevice(args: { uuid: string }): Promise<{ uuid: string }> {
    const r = await this.remove(args.uuid);
    return { uuid: r.uuid };
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

  // ---- views: read the device as it is ----------------------------------------------------

  /**
   * `lspci -xxvv` of the device's config space as it is now: no guest is
   * booted and nothing is written (a device no guest has programmed shows
   * BAR0 0x00000001 and INTERRUPT_LINE 0). Slot and driver are the console
   * guest's when one runs, else the kernel doc's 00:05.0 and none.
   */
  lspci(uuid: unknown): { text: string; guest: boolean } {
    const d = this.mttyDevice(uuid);
    const config = d.vendor.config.bytes().slice(0, 64);
    const session = this.sessions.get(d.uuid);
    const fn: LspciFunction = session
      ? lspciFunction(session.attached.fn)
      : { name: '00:05.0', slot: 5, irq: config[0x3c]!, bars: d.vendor.ports.map((_p, i) => ({ index: i, size: 8 })), driver: null };
    return { text: formatLspci(config, fn), guest: !!session };
  }

  /**
   * `setserial -g` for the device's ports: the console guest's own lines when
   * one runs; else what config space says now (I/O base from BARn, IRQ from
   * INTERRUPT_LINE), with no tty name because no guest has named the port.
   */
  setserial(uuid: unknown): { lines: string[]; guest: boolean; ports: { port: number; tty: string | null; iobase: number; irq: number; uart: string }[] } {
    const d = this.mttyDevice(uuid);
    const session = this.sessions.get(d.uuid);
    if (session) {
      const ports = session.attached.ports.map((p, i) => ({ port: i, tty: `/dev/${p.name}`, iobase: p.config.iobase, irq: p.config.irq, uart: p.type }));
      return { lines: session.setserialLines(), guest: true, ports };
    }
    const cfg = d.vendor.config;
    const irq = cfg.read(0x3c, 1);
    const ports = d.vendor.ports.map((_p, i) => ({ port: i, tty: null, iobase: (cfg.read(0x10 + 4 * i, 4) & ~3) >>> 0, irq, uart: '16550A' }));
    const lines = ports.map((p) => `BAR${p.port} (no guest tty), UART: ${p.uart}, Port: 0x${p.iobase.toString(16).padStart(4, '0')}, IRQ: ${p.irq}`);
    return { lines, guest: false, ports };
  }

  /** The console guest's kernel log ([] when no console runs on the device). */
  dmesg(uuid: unknown): { lines: string[]; guest: boolean } {
    const d = this.mttyDevice(uuid);
    const s = this.sessions.get(d.uuid);
    return { lines: s ? [...s.machine.dmesg] : [], guest: !!s };
  }

  private portOf(d: MdevDevice<MttyDevice>, port: unknown, reg: unknown) {
    const n = d.vendor.ports.length;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port >= n) fail('EINVAL', `port must be 0..${n - 1} for this device; got ${JSON.stringify(port)}`);
    if (typeof reg !== 'number' || !Number.isInteger(reg) || reg < 0 || reg > 7) {
      fail('EINVAL', `register must be 0..7 or one of ${Object.keys(REGISTER_NAMES).join(' ')}; got ${JSON.stringify(reg)}`);
    }
    return d.vendor.ports[port]!;
  }

  /** A register's value without its read side effects (Uart.peek): a view. */
  regPeek(uuid: unknown, port: unknown, reg: unknown): number {
    const d = this.mttyDevice(uuid);
    return this.portOf(d, port, reg).uart.peek(reg as number);
  }

  /** An access that changes the chip is the opener's business: EBUSY while a VMM has the device. */
  private checkPoke(d: MdevDevice<MttyDevice>): void {
    const who = d.openedBy;
    if (who !== undefined && who !== GuestSession.OPENER) fail('EBUSY', `mdev ${d.uuid} is open by ${who}; its registers are the VMM's (peek still works)`);
  }

  /** A read with the chip's side effects (RBR consumes a byte, LSR clears OE, IIR clears THRI), like inb. */
  regRead(uuid: unknown, port: unknown, reg: unknown): number {
    const d = this.mttyDevice(uuid);
    const p = this.portOf(d, port, reg);
    this.checkPoke(d);
    return p.read(reg as number);
  }

  regWrite(uuid: unknown, port: unknown, reg: unknown, value: unknown): void {
    const d = this.mttyDevice(uuid);
    const p = this.portOf(d, port, reg);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xff) fail('EINVAL', `register value must be 0..255 (0x00-0xff); got ${JSON.stringify(value)}`);
    this.checkPoke(d);
    p.write(reg as number, value);
  }

  // ---- the console's guest ------------------------------------------------------------------

  /** The device's guest session, booted on first use (EBUSY while a VMM holds the device). */
  private async session(uuid: unknown): Promise<GuestSession> {
    const d = this.mttyDevice(uuid);
    const have = this.sessions.get(d.uuid);
    if (have) return have;
    let p = this.opening.get(d.uuid);
    if (!p) {
      p = Promise.resolve().then(() => new GuestSession(d, this.log));
      this.opening.set(d.uuid, p);
    }
    try {
      const s = await p;
      this.sessions.set(d.uuid, s);
      return s;
    } finally {
      this.opening.delete(d.uuid);
    }
  }

  /** Open a guest console on a port (the guest's 8250 driver opens /dev/ttySn; a pty joins the user to it). */
  async consoleOpen(uuid: unknown, port: number, opts: { baud?: number } = {}): Promise<ConsoleInfo> {
    // Checked before the guest boots: a bad port must not leave a booted guest's BARs behind.
    const n = this.mttyDevice(uuid).vendor.ports.length;
    if (!Number.isInteger(port) || port < 0 || port >= n) fail('EINVAL', `port must be 0..${n - 1} for this device; got ${port}`);
    const s = await this.session(uuid);
    const line = this.hostLines.holderOf(s.uuid, port);
    try {
      return await s.openConsole(port, { baud: opts.baud, hostLine: line ? line.spec : 'loopback' });
    } catch (e) {
      if (s.consoleCount === 0) await this.closeSession(s.uuid);
      throw e;
    }
  }

  consoleStatus(uuid: unknown, port: number, lease?: number): ConsoleCounters {
    const id = checkUuid(uuid);
    const s = this.sessions.get(id);
    if (!s) fail('ENOENT', `no guest console on ${id}`);
    const { line: _line, ...c } = s.counters(port, lease);
    return c;
  }

  /** Close a console; the last one shuts the device's guest down (the device is closed, its state kept). */
  async consoleClose(uuid: unknown, port: number, lease?: number): Promise<ConsoleCounters> {
    const id = checkUuid(uuid);
    const s = this.sessions.get(id);
    if (!s) fail('ENOENT', `no guest console on ${id}`);
    const c = await s.closeConsole(port, lease);
    if (s.consoleCount === 0) await this.closeSession(id);
    return c;
  }

  async closeSession(uuid: string): Promise<void> {
    const s = this.sessions.get(uuid);
    if (!s) return;
    this.sessions.delete(uuid);
    await s.close();
  }

  /** Daemon shutdown: guests shut down, host lines closed (devices stay). */
  async close(): Promise<void> {
    for (const uuid of [...this.sessions.keys()]) await this.closeSession(uuid).catch(() => undefined);
    await this.hostLines.closeAll();
  }
}
