/**
 * Recording what a VMM does to a device, in `mtty replay`'s trace format
 * (src/replay/trace.ts), so a user captures exactly how a real guest drove
 * the device and replays it (`mtty replay --check FILE`).
 *
 * TraceRecorder owns one file; recorder.wrap(device, target) returns a
 * VfioDevice that forwards every call to `device` and writes:
 *   dev0.1 W 1 0x0f @12345      a BAR access (port 1 of dev0), the register
 *                               byte, and ns since the recording started:
 *                               the time the port used for it (RecordedPort.time)
 *   # dev0 cfg R 0x10/4 0x0000c119 @..   config accesses (comments to replay)
 *   # dev0 set_irqs flags=0x24 index=0 start=0 count=1 data=eventfd[fd] @..
 *   # dev0 intx signalled @..   an interrupt raised (the eventfd written)
 *   # reset dev0.0 @..          VFIO_DEVICE_RESET (it resets mtty's UARTs)
 *   # initial dev0.0: ...  and  # snapshot dev0.0 @..: <base64>
 *                               each UART's state when a client opens it
 * Failed calls are written as comments with their errno and rethrown.
 * Lines are buffered and written at most every 20 ms, at close() and at exit.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { realClock, type Clock } from '../clock/clock.js';
import { fail, isMttyError } from '../errors/errno.js';
import type { DeviceInfo, IrqInfo, IrqSet, IrqSink, RegionInfo, VfioDevice, VfioMigration } from '../vfio/api.js';
import { alignedChunks } from '../vfio/aligned-chunks.js';
import { VFIO_IRQ_SET_DATA_EVENTFD, VFIO_PCI_CONFIG_REGION_INDEX, splitOffset } from '../vfio/uapi.js';
import { Uart, type UartProfile, type Wiring } from '../uart/uart.js';

/** What the recorder needs to know of a device's UARTs (an MttyDevice's ports). */
export interface RecordedPort {
  /** Region index of this port's BAR. */
  bar: number;
  profile: UartProfile;
  wiring: Wiring;
  /** Uart.saveState() of the port now, without side effects. */
  state(): Uint8Array;
  /**
   * The `clock` reading (ns) the port's Uart time was last brought to: the
   * time the device used for the access just made (MttyPort.time). Accesses
   * are stamped with it, not with a reading the recorder takes after the
   * access (later by however long the access and the machine's load took),
   * so a replay arms and fires the character timeout at the same ns.
   * Without it the recorder's own reading is used.
   */
  time?(): number;
  /** The Clock `time()` reads; must be the recorder's (EINVAL otherwise). */
  clock?: Clock;
}

export interface RecordTarget {
  /** Stable identity across opens (the mdev UUID). */
  id: string;
  /** e.g. 'mtty-2' */
  type?: string;
  ports: RecordedPort[];
}

const IRQ_NAMES = ['intx', 'msi', 'msix', 'err', 'req'];

export class TraceRecorder {
  private fd: number | null;
  private buf: string[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly t0: number;
  private readonly names = new Map<string, string>();
  private readonly onExit = () => this.flush();

  /** Truncates `file` (mode 0600) and writes the header. Throws the fs error (ENOENT, EACCES...). */
  constructor(readonly file: string, private readonly clock: Clock = realClock) {
    this.fd = openSync(file, 'w', 0o600);
    this.t0 = clock.now();
    this.line(`# mtty recording (mtty replay format), started ${new Date().toISOString()}`);
    this.line('# [DEVICE] R|W <offset> 0x<value> @<ns since start>; DEVICE = dev<N>.<port>; config, SET_IRQS and interrupts as comments');
    process.on('exit', this.onExit);
  }

  /** ns since the recording started (integer). */
  now(): number {
    return this.since(this.clock.now());
  }

  /** A reading of the recorder's clock as ns since the recording started (integer). */
  since(t: number): number {
    return Math.max(0, Math.round(t - this.t0));
  }

  line(text: string): void {
    if (this.fd === null) return;
    this.buf.push(text);
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), 20);
      this.flushTimer.unref();
    }
  }

  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.fd === null || this.buf.length === 0) return;
    const text = this.buf.join('\n') + '\n';
    this.buf = [];
    writeSync(this.fd, text);
  }

  close(): void {
    this.flush();
    process.off('exit', this.onExit);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /**
   * A recording view of an opened device. Call it on each open: the first
   * time a target is seen it is named dev<N> and its ports declared; every
   * open writes each port's state (so a replay starts from what the client found).
   */
  wrap(device: VfioDevice, target: RecordTarget): VfioDevice {
    // Port times are only comparable with the recording's start on the same clock.
    for (const p of target.ports) {
      if (p.time && p.clock !== this.clock) fail('EINVAL', `cannot record ${target.id}: its ports keep time on another clock than the recorder's`);
    }
    const portTime = target.ports.map((p) => (p.time ? () => this.since(p.time!()) : () => this.now()));
    let name = this.names.get(target.id);
    const t = this.now();
    if (!name) {
      name = `dev${this.names.size}`;
      this.names.set(target.id, name);
      this.line(`# device ${name} = ${target.id}${target.type ? ' ' + target.type : ''}`);
      for (const [i, p] of target.ports.entries()) {
        this.line(`# port ${name}.${i}: profile=${p.profile} wiring=${p.wiring}`);
        this.line(`# initial ${name}.${i}: ${describeInitial(p.state(), p.profile)}`);
      }
    }
    this.line(`# ${name} open @${t}`);
    // The state is the port's as of its own time (saveState does not move it).
    for (const [i, p] of target.ports.entries()) this.line(`# snapshot ${name}.${i} @${portTime[i]!()}: ${Buffer.from(p.state()).toString('base64')}`);
    return new RecordingDevice(device, this, name, target.ports.map((p) => p.bar), portTime);
  }
}

/** The '# initial:' items of a saved UART state (read back through a scratch Uart's peek). */
function describeInitial(state: Uint8Array, profile: UartProfile): string {
  const u = Uart.create({ profile });
  try {
    u.restoreState(state);
    const h = (v: number) => `0x${v.toString(16).padStart(2, '0')}`;
    const div = u.lineSettings.divisor;
    const inputs = ['CTS', 'DSR', 'RI', 'DCD'].filter((_, i) => u.modemInputs & (0x10 << i));
    return `IER=${h(u.peek(1))} LCR=${h(u.peek(3) & 0x7f)} MCR=${h(u.peek(4))} SCR=${h(u.peek(7))} DLL=${h(div & 0xff)} DLM=${h(div >> 8)} MSR-inputs=${inputs.join(',') || 'none'}`;
  } finally {
    u.dispose();
  }
}

function hex(v: number, digits: number): string {
  return '0x' + v.toString(16).padStart(digits, '0');
}

class RecordingSink implements IrqSink {
  constructor(
    private readonly inner: IrqSink,
    private readonly rec: TraceRecorder,
    private readonly what: string,
  ) {}
  signal(): void {
    this.rec.line(`# ${this.what} signalled @${this.rec.now()}`);
    this.inner.signal();
  }
}

class RecordingDevice implements VfioDevice {
  constructor(
    private readonly inner: VfioDevice,
    private readonly rec: TraceRecorder,
    private readonly name: string,
    /** bars[i] = region index of port i */
    private readonly bars: number[],
    /** portTime[i]() = ns since the recording started that port i's last access used */
    private readonly portTime: (() => number)[],
  ) {}

  get migration(): VfioMigration | undefined {
    return this.inner.migration;
  }

  getInfo(): DeviceInfo {
    return this.inner.getInfo();
  }
  getRegionInfo(index: number): RegionInfo {
    return this.inner.getRegionInfo(index);
  }
  getIrqInfo(index: number): IrqInfo {
    return this.inner.getIrqInfo(index);
  }

  setIrqs(set: IrqSet): void {
    const what = `${this.name} ${IRQ_NAMES[set?.index] ?? `irq${set?.index}`}`;
    let data = '';
    let forward = set;
    if (set && (set.flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0 && Array.isArray(set.data)) {
      const sinks = set.data as readonly (IrqSink | null)[];
      data = ` data=[${sinks.map((s) => (s ? 'eventfd' : '-1')).join(',')}]`;
      forward = { ...set, data: sinks.map((s) => (s && typeof s.signal === 'function' ? new RecordingSink(s, this.rec, what) : s)) };
    } else if (set && Array.isArray(set.data)) data = ` data=[${set.data.map((b) => (b ? 1 : 0)).join(',')}]`;
    const text = `# ${this.name} set_irqs flags=${hex(set?.flags ?? 0, 2)} index=${set?.index} start=${set?.start} count=${set?.count}${data}`;
    this.call(text, () => this.inner.setIrqs(forward), true);
  }

  reset(): void {
    this.call(`# ${this.name} device_reset`, () => this.inner.reset(), true);
    for (let i = 0; i < this.bars.length; i++) this.rec.line(`# reset ${this.name}.${i} @${this.portTime[i]!()}`);
  }

  read(pos: number, size: 1 | 2 | 4): number {
    const v = this.call(`# ${this.name} read ${hex(pos, 1)}/${size}`, () => this.inner.read(pos, size));
    this.note('R', pos, size, v);
    return v;
  }

  write(pos: number, size: 1 | 2 | 4, value: number): void {
    this.call(`# ${this.name} write ${hex(pos, 1)}/${size} ${hex(value >>> 0, 2)}`, () => this.inner.write(pos, size, value));
    this.note('W', pos, size, value);
  }

  readBytes(pos: number, length: number): Uint8Array {
    const data = this.call(`# ${this.name} read ${hex(pos, 1)} ${length} bytes`, () => this.inner.readBytes(pos, length));
    // The device did exactly these aligned accesses (the kernel's split), in this order.
    for (const c of alignedChunks(pos, length)) this.note('R', c.pos, c.size, le(data, c.index, c.size));
    return data;
  }

  writeBytes(pos: number, data: Uint8Array): number {
    const n = this.call(`# ${this.name} write ${hex(pos, 1)} ${data?.length} bytes`, () => this.inner.writeBytes(pos, data));
    for (const c of alignedChunks(pos, data.length)) this.note('W', c.pos, c.size, le(data, c.index, c.size));
    return n;
  }

  close(): void {
    this.rec.line(`# ${this.name} close @${this.rec.now()}`);
    this.inner.close();
    this.rec.flush();
  }

  /** One successful access: a UART line for a port's BAR, a comment for config. */
  private note(op: 'R' | 'W', pos: number, size: number, value: number): void {
    const { index, offset } = splitOffset(pos);
    const port = this.bars.indexOf(index);
    if (port >= 0) {
      // A wider access reaches one register, at its first byte (mtty_read/mtty_write).
      // Stamped with the time the port used for it, which the replay advances to.
      this.rec.line(`${this.name}.${port} ${op} ${offset} ${hex(value & 0xff, 2)} @${this.portTime[port]!()}`);
    } else if (index === VFIO_PCI_CONFIG_REGION_INDEX) {
      this.rec.line(`# ${this.name} cfg ${op} ${hex(offset, 2)}/${size} ${hex(value >>> 0, size * 2)} @${this.rec.now()}`);
    } else {
      this.rec.line(`# ${this.name} region${index} ${op} ${hex(offset, 1)}/${size} ${hex(value >>> 0, size * 2)} @${this.rec.now()}`);
    }
  }

  /** Run a forwarded call; a failure is written with its errno and rethrown unchanged, a success only if `always`. */
  private call<T>(what: string, fn: () => T, always = false): T {
    try {
      const v = fn();
      if (always) this.rec.line(`${what} @${this.rec.now()}`);
      return v;
    } catch (e) {
      this.rec.line(`${what} -> ${isMttyError(e) ? e.code : 'error'} @${this.rec.now()}`);
      throw e;
    }
  }
}

function le(data: Uint8Array, index: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + data[index + i]!;
  return v;
}
