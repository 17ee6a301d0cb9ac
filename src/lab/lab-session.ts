/**
 * Everything one lab page holds: a loaded mtty (bus, parent, sysfs), virtual
 * time, a LabDevice per mediated device (each plugged into its own guest),
 * the journal of every access and student action, and the exercises'
 * progress. The page (web/) only renders this object and calls its methods;
 * Node tests drive the same object without a browser.
 *
 * Create and remove go through the sysfs files, exactly as a student would
 * type them (echo $UUID > .../create, echo 1 > .../remove), so errors come
 * back as the kernel's errno ("EEXIST (File exists): ...").
 *
 * Sessions are kept as the list of the student's actions, each stamped with
 * the virtual time it was made at (session-file.ts). Loading a session replays
 * them on a fresh model: the devices, registers, guest state and journal come
 * back as they were, because the model is deterministic in virtual time.
 */
import { findUartProfile, UART_PROFILE_NAMES } from '../uart/profile.js';
import { ManualClock, type Clock } from '../clock/clock.js';
import type { MdevDevice } from '../mdev/device.js';
import type { MttyDevice } from '../mtty/device.js';
import type { LoadedMtty } from '../mtty/load.js';
import { generateMdevUuid } from '../mdev/uuid.js';
import { fail } from '../errors/errno.js';
import { BASE_BAUD, LCR, MCR, REG } from '../uart/registers.js';
import { hex2 } from '../uart/decode.js';
import { entryText, LabDevice, type LabEntry, type LabProfile } from './lab-device.js';
import { BUILTIN_EXERCISES, evaluate, type ExerciseSet } from './exercises.js';
import { BUILTIN_LESSON, LESSONS, parseRecording, portOfDevice, recordingRoutine, wiringOf, type Lesson } from './recording.js';
import type { LabAction, LabActionBody, SessionState } from './session-file.js';

export type { LabProfile } from './lab-device.js';

/** The part of loadMtty()'s result the lab uses (docs/ARCHITECTURE.md). */
export type MttyModule = Pick<LoadedMtty, 'bus' | 'parent' | 'sysfs'>;

export type LoadMtty = (opts: { ports?: number; profile?: LabProfile; clock?: Clock }) => Promise<MttyModule>;

export interface TypeRow {
  id: string;
  name: string;
  deviceApi: string;
  available: number;
  sysfsPath: string;
}

export interface LabSessionOptions {
  load: LoadMtty;
  profile?: LabProfile;
  /** 'run': the guest runs as soon as it has work; 'step': one access per step(). */
  mode?: 'run' | 'step';
  /** A byte a guest's tty received (the terminal prints it). */
  onByte?: (uuid: string, port: number, byte: number) => void;
  /** Reads a lesson's recording (the page fetches it; tests read the file). */
  readLesson?: (file: string) => Promise<string>;
}

/** Line events a student can put on a port's receive side. */
export type LineEvent = 'byte' | 'break' | 'parity' | 'framing' | 'overrun';

/** Journal entries kept (the oldest go first; exercise progress, once done, stays). */
const JOURNAL_LIMIT = 20_000;
/** Virtual time one access costs: a trapped port I/O in a VM is of the order of a microsecond. */
const ACCESS_NS = 1000;

export const BAUD_RATES = [300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] as const;

export class LabSession {
  readonly clock = new ManualClock();
  profile: LabProfile;
  mode: 'run' | 'step';
  mtty!: MttyModule;
  readonly devices = new Map<string, LabDevice>();
  readonly journal: LabEntry[] = [];
  /** The journal as the exercises read it (entryText of each entry). */
  private lines: string[] = [];
  /** The student's actions since the page started: what a session file holds. */
  readonly actions: LabAction[] = [];
  exercises: ExerciseSet = BUILTIN_EXERCISES;
  /** Ids of exercises done (sticky: stays done when the state moves on). */
  readonly done = new Set<string>();
  private seq = 0;
  private listeners = new Set<() => void>();
  private replaying = false;
  private restoring = false;
  private readonly initialProfile: LabProfile;
  private readonly initialMode: 'run' | 'step';

  private constructor(private readonly opts: LabSessionOptions) {
    this.profile = this.initialProfile = opts.profile ?? 'mtty';
    this.mode = this.initialMode = opts.mode ?? 'run';
  }

  static async create(opts: LabSessionOptions): Promise<LabSession> {
    const s = new LabSession(opts);
    s.mtty = await opts.load({ profile: s.profile, clock: s.clock });
    return s;
  }

  /** Re-render hook for the page. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(): void {
    // A restore checks once at its end: checking after every replayed action costs O(actions x journal).
    if (!this.restoring) this.checkExercises();
    for (const fn of this.listeners) fn();
  }

  get parentPath(): string {
    return this.mtty.parent.sysfsPath;
  }

  /** Virtual time in ns. */
  get now(): number {
    return this.clock.now();
  }

  types(): TypeRow[] {
    return this.mtty.parent.types.map((t) => ({
      id: t.id,
      name: t.name,
      deviceApi: t.deviceApi,
      // Read through sysfs, as `cat available_instances` would.
      available: Number(this.mtty.sysfs.read(`${t.sysfsPath}/available_instances`).trim()),
      sysfsPath: t.sysfsPath,
    }));
  }

  newUuid(): string {
    return generateMdevUuid();
  }

  private record(a: LabActionBody): void {
    if (!this.replaying) this.actions.push({ ...a, at: this.clock.now() } as LabAction);
  }

  private addEntry(e: Omit<LabEntry, 'seq'>): LabEntry {
    const entry: LabEntry = { ...e, seq: ++this.seq };
    this.journal.push(entry);
    this.lines.push(entryText(entry));
    if (this.journal.length > JOURNAL_LIMIT) {
      this.journal.splice(0, this.journal.length - JOURNAL_LIMIT);
      this.lines.splice(0, this.lines.length - JOURNAL_LIMIT);
    }
    return entry;
  }

  /** A session-level entry (sysfs shell, profile switch) that belongs to no device. */
  private note(line: string, why: string, source: LabEntry['source'] = 'student'): LabEntry {
    return this.addEntry({ t: this.clock.now(), uuid: '', source, task: 'session', line, why, changes: [], irq: false, intr: 0 });
  }

  /** `cat <type>/available_instances` from the parent panel. */
  catAvailable(typeId: string): number {
    const type = this.mtty.parent.type(typeId) ?? fail('ENOENT', `no mdev type ${typeId}`);
    const path = `${type.sysfsPath}/available_instances`;
    const n = Number(this.mtty.sysfs.read(path).trim());
    this.record({ a: 'cat', type: typeId });
    this.note(`cat ${path} = ${n}`, 'sysfs: how many more devices of this type the parent can create');
    this.changed();
    return n;
  }

  /** echo $uuid > mdev_supported_types/<type>/create, then the VMM opens it and its guest boots. */
  async createDevice(typeId: string, uuid: string, opts: { driver?: boolean } = {}): Promise<LabDevice> {
    const type = this.mtty.parent.type(typeId);
    const path = `${type ? type.sysfsPath : `${this.parentPath}/mdev_supported_types/${typeId}`}/create`;
    await this.mtty.sysfs.write(path, uuid);
    const name = uuid.slice(0, 36).toLowerCase();
    const mdev = this.mtty.bus.device(name) as MdevDevice<MttyDevice> | undefined;
    if (!mdev) throw new Error(`created ${name} but the bus does not list it`);
    if (opts.driver !== false) this.record({ a: 'create', type: typeId, uuid: name });
    const dev = new LabDevice(mdev, {
      onByte: (port, byte) => this.opts.onByte?.(dev.uuid, port, byte),
      journal: (e) => this.addEntry(e),
      now: () => this.clock.now(),
      tick: () => this.clock.advance(ACCESS_NS),
    }, { driver: opts.driver });
    dev.machine.mode = this.mode;
    dev.machine.onRunnable = () => this.changed();
    // New devices take the lab's current profile (the loader's default may differ after a switch).
    for (let p = 0; p < dev.portCount; p++) dev.uart(p).profile = this.profile;
    this.devices.set(dev.uuid, dev);
    dev.vmmEntry(`echo ${name} > ${path}`, 'sysfs: the parent creates the mediated device; the VMM opens it and boots the guest');
    dev.open();
    this.changed();
    return dev;
  }

  /**
   * echo 1 > /sys/bus/mdev/devices/<uuid>/remove. The write blocks while the
   * VMM holds the device open, so the lab starts it, then closes its handle
   * (the VM lets go), and the removal completes.
   */
  async removeDevice(uuid: string): Promise<void> {
    const dev = this.devices.get(uuid);
    const removing = this.mtty.sysfs.write(`/sys/bus/mdev/devices/${uuid}/remove`, '1');
    this.record({ a: 'remove', uuid });
    if (dev?.isOpen) {
      dev.vmmEntry(`remove ${uuid} while the VMM holds it open`, 'the kernel blocks the remove write until the opener closes the VFIO device; the VM shuts down and closes it');
    }
    dev?.close();
    try {
      await removing;
      dev?.vmmEntry(`removed ${uuid}`, 'the mdev is gone; its ports go back to the parent');
    } finally {
      if (!this.mtty.bus.device(uuid)) this.devices.delete(uuid);
      this.changed();
    }
  }

  private device(uuid: string): LabDevice {
    return this.devices.get(uuid) ?? fail('ENODEV', `no device ${uuid} in this lab`);
  }

  private checkPort(dev: LabDevice, port: number): void {
    if (!Number.isInteger(port) || port < 0 || port >= dev.portCount) fail('EINVAL', `port must be 0..${dev.portCount - 1} for ${dev.typeId}; got ${port}`);
  }

  /** Keys typed on a port's terminal. */
  type(uuid: string, port: number, text: string): void {
    const dev = this.device(uuid);
    this.checkPort(dev, port);
    this.record({ a: 'type', uuid, port, text });
    dev.type(port, new TextEncoder().encode(text));
    this.changed();
  }

  /** Write one register from the inspector. Offset 0..7; value 0..255. */
  writeRegister(uuid: string, port: number, offset: number, value: number, why = 'written from the register inspector'): LabEntry {
    const dev = this.device(uuid);
    this.checkPort(dev, port);
    if (!Number.isInteger(offset) || offset < 0 || offset > 7) fail('EINVAL', `register offset must be 0..7; got ${offset}`);
    if (!Number.isInteger(value) || value < 0 || value > 0xff) fail('EINVAL', `register value must be 0x00..0xff; got ${value}`);
    this.record({ a: 'write', uuid, port, offset, value, why });
    const e = dev.studentWrite(port, offset, value, why);
    this.afterStudent(dev);
    return e;
  }

  /** Read one register from the inspector (with the read's side effects). */
  readRegister(uuid: string, port: number, offset: number): LabEntry {
    const dev = this.device(uuid);
    this.checkPort(dev, port);
    if (!Number.isInteger(offset) || offset < 0 || offset > 7) fail('EINVAL', `register offset must be 0..7; got ${offset}`);
    this.record({ a: 'read', uuid, port, offset });
    const e = dev.studentRead(port, offset, 'read from the register inspector (a real read: it has side effects)');
    this.afterStudent(dev);
    return e;
  }

  /** Read a config-space dword from the config tool. */
  readConfig(uuid: string, offset: number): LabEntry {
    const dev = this.device(uuid);
    if (!Number.isInteger(offset) || offset < 0 || offset > 0xfc || offset % 4) fail('EINVAL', `config offset must be a multiple of 4 in 0x00..0xfc; got ${offset}`);
    this.record({ a: 'cfg', uuid, offset });
    const e = dev.studentConfigRead(offset, 4);
    this.changed();
    return e;
  }

  /** The baud picker: DLAB on, DLL, DLM, DLAB off, as four logged writes. */
  setBaud(uuid: string, port: number, baud: number): LabEntry[] {
    const dev = this.device(uuid);
    this.checkPort(dev, port);
    if (!Number.isInteger(baud) || baud <= 0 || BASE_BAUD % baud !== 0) fail('EINVAL', `baud must divide ${BASE_BAUD} (e.g. ${BAUD_RATES.join(', ')}); got ${baud}`);
    const divisor = BASE_BAUD / baud;
    const lcr = dev.registerView(port).regs.LCR & ~LCR.DLAB;
    return [
      this.writeRegister(uuid, port, REG.LCR, lcr | LCR.DLAB, `baud picker ${baud}: set DLAB so offsets 0/1 reach the divisor latch`),
      this.writeRegister(uuid, port, REG.DLL, divisor & 0xff, `baud picker ${baud}: divisor ${BASE_BAUD} / ${baud} = ${divisor}, low byte`),
      this.writeRegister(uuid, port, REG.DLM, divisor >> 8, `baud picker ${baud}: divisor high byte`),
      this.writeRegister(uuid, port, REG.LCR, lcr, 'baud picker: DLAB off again, frame unchanged'),
    ];
  }

  /** The MCR loopback switch: one MCR write with LOOP toggled. */
  setLoopback(uuid: string, port: number, on: boolean): LabEntry {
    const dev = this.device(uuid);
    this.checkPort(dev, port);
    const mcr = dev.registerView(port).regs.MCR;
    return this.writeRegister(uuid, port, REG.MCR, on ? mcr | MCR.LOOP : mcr & ~MCR.LOOP, on ? 'loopback on: TX feeds RX inside the chip, MCR outputs feed the MSR inputs' : 'loopback off');
  }

  /** Toggle the line's modem inputs (MSR bits 4-7: CTS 0x10, DSR 0x20, RI 0x40, DCD 0x80). */
  setModemInputs(uuid: string, port: number, bits: number): LabEntry {
    const dev = this.device(uuid);
    this.checkPort(dev, port);
    if (!Number.isInteger(bits) || (bits & 0xf0) !== bits) fail('EINVAL', `modem inputs are MSR bits 4-7 (CTS 0x10, DSR 0x20, RI 0x40, DCD 0x80); got ${bits}`);
    this.record({ a: 'modem', uuid, port, bits });
    const names = ['CTS', 'DSR', 'RI', 'DCD'].filter((_, i) => bits & (0x10 << i)).join(' ') || 'none';
    const e = dev.lineEvent(port, `line: modem inputs ${names}`, this.profile === 'mtty' ? 'the far end changes its modem lines; the mtty sample ignores them (its MSR is a constant)' : 'the far end changes its modem lines: MSR follows and latches the delta bits', () =>
      dev.mdev.vendor.ports[port].withUart((u) => u.setModemInputs(bits)));
    this.afterStudent(dev);
    return e;
  }

  /** Put a byte or a line condition on the port's receive side. */
  inject(uuid: string, port: number, kind: LineEvent, byte = 0x55): LabEntry {
    const dev = this.device(uuid);
    this.checkPort(dev, port);
    if (!['byte', 'break', 'parity', 'framing', 'overrun'].includes(kind)) fail('EINVAL', `line event must be byte, break, parity, framing or overrun; got ${kind}`);
    if (!Number.isInteger(byte) || byte < 0 || byte > 0xff) fail('EINVAL', `byte must be 0x00..0xff; got ${byte}`);
    this.record({ a: 'inject', uuid, port, kind, byte });
    const mp = dev.mdev.vendor.ports[port];
    const what: Record<LineEvent, [string, string, () => void]> = {
      byte: [`line: receive ${hex2(byte)}`, 'a byte arrives on SIN', () => void mp.withUart((u) => u.receive(byte))],
      break: ['line: break', 'SIN held low for more than a character: a 0x00 with LSR.BI', () => void mp.withUart((u) => u.receiveError(0, 0x10))],
      parity: [`line: receive ${hex2(byte)} with a parity error`, 'the byte arrives with the wrong parity bit: LSR.PE with it', () => void mp.withUart((u) => u.receiveError(byte, 0x04))],
      framing: [`line: receive ${hex2(byte)} with a framing error`, 'no valid stop bit: LSR.FE with the byte', () => void mp.withUart((u) => u.receiveError(byte, 0x08))],
      overrun: ['line: 17 bytes at once', 'more bytes than the 16-byte RX FIFO holds arrive before anyone reads: the 17th is lost and LSR.OE is set', () => {
        mp.withUart((u) => {
          for (let i = 0; i < 17; i++) u.receive((byte + i) & 0xff);
        });
      }],
    };
    const [line, why, act] = what[kind];
    const e = dev.lineEvent(port, line, why, act);
    this.afterStudent(dev);
    return e;
  }

  /** After a student's access: in run mode the guest takes the interrupts it raised, now. */
  private afterStudent(dev: LabDevice): void {
    if (this.mode === 'run') dev.machine.drain();
    this.changed();
  }

  /** Step mode: one access of the first device with work queued. */
  step(uuid?: string): LabEntry | null {
    const order = uuid ? [this.devices.get(uuid)] : [...this.devices.values()];
    this.record({ a: 'step', uuid });
    for (const d of order) {
      if (!d?.isOpen) continue;
      const n = this.journal.length;
      const r = d.machine.step();
      if (r) {
        this.changed();
        return this.journal.length > n ? this.journal[this.journal.length - 1] : null;
      }
    }
    return null;
  }

  /** Perform everything queued on every device (step mode's "Run to idle"). */
  runAll(): number {
    this.record({ a: 'run' });
    let n = 0;
    for (const d of this.devices.values()) if (d.isOpen) n += d.machine.drain();
    this.changed();
    return n;
  }

  setMode(mode: 'run' | 'step'): void {
    this.record({ a: 'mode', mode });
    this.mode = mode;
    for (const d of this.devices.values()) d.machine.mode = mode;
    this.changed();
  }

  /** True while some UART waits for a timed event. */
  get timersPending(): boolean {
    return this.clock.pending > 0;
  }

  /**
   * Virtual time passes (the run-mode ticker, the "+1 ms" button): timers
   * due (the character timeout) fire and may raise interrupts. `record`:
   * a button press is an action; the ticker's steps are not (an action's
   * timestamp brings time back to where it was).
   */
  advanceTime(ns: number, record = false): void {
    if (record) this.record({ a: 'time', ns });
    const before = this.journal.length;
    this.clock.advance(ns);
    if (this.mode === 'run') for (const d of this.devices.values()) if (d.isOpen) d.machine.drain();
    if (record || this.journal.length !== before) this.changed();
  }

  /** Bring virtual time to `t` (replay). */
  private advanceTo(t: number): void {
    if (t > this.clock.now()) this.advanceTime(t - this.clock.now());
  }

  /**
   * Switch every port's UART model between the datasheet 16550 and the
   * kernel sample's behaviour. The Uart keeps its register state, so the
   * student sees the same bytes answered by the other model.
   */
  setProfile(profile: LabProfile): void {
    if (!findUartProfile(profile)) fail('EINVAL', `UART model must be ${UART_PROFILE_NAMES.join(' or ')}; got ${profile}`);
    this.record({ a: 'profile', profile });
    this.profile = profile;
    for (const d of this.devices.values()) {
      for (let p = 0; p < d.portCount; p++) d.uart(p).profile = profile;
    }
    this.note(`UART model -> ${profile}`, profile === 'mtty' ? 'the kernel sample\'s simplified UART (samples/vfio-mdev/mtty.c)' : 'the datasheet 16550A (PC16550D)');
    this.changed();
  }

  // ---- exercises ---------------------------------------------------------------------------

  /** Load another exercise set (a teacher's JSON); progress of ids not in it is kept aside. */
  setExercises(set: ExerciseSet): void {
    this.exercises = set;
    this.changed();
  }

  /** Mark newly satisfied exercises done. Returns the ids done now. */
  checkExercises(): string[] {
    const ctx = {
      lines: this.lines,
      ports: () => [...this.devices.values()].filter((d) => d.isOpen).flatMap((d) => Array.from({ length: d.portCount }, (_, p) => d.registers(p))),
      deviceTypes: () => [...this.devices.values()].map((d) => d.typeId),
      profile: this.profile,
    };
    const fresh: string[] = [];
    for (const ex of this.exercises.exercises) {
      if (this.done.has(ex.id)) continue;
      if (evaluate(ex.check, ctx)) {
        this.done.add(ex.id);
        fresh.push(ex.id);
      }
    }
    return fresh;
  }

  // ---- lessons -----------------------------------------------------------------------------

  /**
   * Load a recorded guest as a lesson: a device of the lesson's type, booted
   * by the BIOS without a driver, with the recording queued on its CPU in
   * step mode. Returns the device.
   */
  async loadLesson(lesson: Lesson = BUILTIN_LESSON, text?: string): Promise<LabDevice> {
    const body = text ?? (await (this.opts.readLesson ?? (() => fail('ENOENT', 'this lab cannot read lesson files')))(lesson.file));
    const trace = parseRecording(body, lesson.file.split('/').pop() ?? lesson.file);
    this.record({ a: 'lesson', id: lesson.id });
    // One action: what loading does below is replayed by replaying the load.
    const replaying = this.replaying;
    this.replaying = true;
    try {
      if (this.profile !== lesson.profile) this.setProfile(lesson.profile);
      if (this.mode !== 'step') this.setMode('step');
      const dev = await this.createDevice(lesson.type, this.newLessonUuid(), { driver: false });
      // Each port wired as it was recorded. A trace that does not say (QEMU's COM1) sent TX to a
      // terminal, not back into RX: wire it to the line, and what the guest sends shows on the terminal.
      const wiring = wiringOf(trace);
      const ports = new Set(trace.events.filter((e) => e.kind === 'access').map((e) => portOfDevice(e.device)));
      for (const p of ports) {
        if ((wiring.get(p) ?? 'host') === 'host') dev.mdev.vendor.ports[p].takeForHost((b) => this.opts.onByte?.(dev.uuid, p, b));
      }
      dev.showReceived = true;
      dev.machine.drain(); // the BIOS is not this lesson
      // Recorded timestamps move virtual time (from where the lesson starts), so timeouts fall where they fell.
      let offset: number | null = null;
      const at = (t: number) => {
        if (offset === null) offset = this.clock.now() - t;
        const target = offset + t;
        if (target > this.clock.now()) this.clock.advance(target - this.clock.now());
      };
      dev.machine.submit(recordingRoutine(dev, trace, body, { at }), `recording: ${lesson.title}`);
      this.changed();
      return dev;
    } finally {
      this.replaying = replaying;
    }
  }

  /** Lesson devices get a fixed UUID so a replayed session finds them again. */
  private newLessonUuid(): string {
    const n = [...this.devices.keys()].filter((u) => u.startsWith('1e550000-')).length;
    return `1e550000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  }

  // ---- sessions ----------------------------------------------------------------------------

  /** What a session file / local storage holds. */
  state(): SessionState {
    return {
      v: 1,
      now: this.clock.now(),
      profile0: this.initialProfile,
      mode0: this.initialMode,
      actions: this.actions.map((a) => ({ ...a })),
      done: [...this.done],
      exercises: this.exercises === BUILTIN_EXERCISES ? undefined : this.exercises,
    };
  }


  /**
   * Replay a saved session on this (fresh) lab. Actions that fail now fail as
   * they did then (a duplicate UUID is EEXIST again) and are kept.
   */
  async restore(s: SessionState, lessonText?: (file: string) => Promise<string>): Promise<void> {
    if (this.actions.length || this.devices.size) fail('EBUSY', 'restore needs a fresh lab (reload the page first)');
    if (s.exercises) this.exercises = s.exercises;
    for (const id of s.done) this.done.add(id);
    if (s.profile0 !== this.profile) {
      this.profile = s.profile0;
    }
    this.mode = s.mode0;
    this.restoring = true;
    try {
      await this.replay(s.actions, lessonText);
    } finally {
      this.restoring = false;
    }
    this.advanceTo(s.now);
    this.changed();
  }

  private async replay(actions: LabAction[], lessonText?: (file: string) => Promise<string>): Promise<void> {
    for (const a of actions) {
      this.advanceTo(a.at);
      this.actions.push({ ...a });
      this.replaying = true;
      try {
        await this.apply(a, lessonText);
      } catch {
        // It failed when it was made too (the journal and banner said so then).
      } finally {
        this.replaying = false;
      }
    }
  }

  private async apply(a: LabAction, lessonText?: (file: string) => Promise<string>): Promise<void> {
    switch (a.a) {
      case 'create': await this.createDevice(a.type, a.uuid); break;
      case 'remove': await this.removeDevice(a.uuid); break;
      case 'cat': this.catAvailable(a.type); break;
      case 'type': this.type(a.uuid, a.port, a.text); break;
      case 'write': this.writeRegister(a.uuid, a.port, a.offset, a.value, a.why); break;
      case 'read': this.readRegister(a.uuid, a.port, a.offset); break;
      case 'cfg': this.readConfig(a.uuid, a.offset); break;
      case 'modem': this.setModemInputs(a.uuid, a.port, a.bits); break;
      case 'inject': this.inject(a.uuid, a.port, a.kind, a.byte); break;
      case 'step': this.step(a.uuid); break;
      case 'run': this.runAll(); break;
      case 'mode': this.setMode(a.mode); break;
      case 'profile': this.setProfile(a.profile); break;
      case 'time': this.advanceTime(a.ns); break;
      case 'lesson': {
        const lesson = LESSONS.find((l) => l.id === a.id) ?? fail('ENOENT', `no lesson '${a.id}'`);
        const read = lessonText ?? this.opts.readLesson;
        await this.loadLesson(lesson, read ? await read(lesson.file) : undefined);
        break;
      }
    }
  }
}
