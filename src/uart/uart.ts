/**
 * class Uart: the TypeScript face of one 16550A port of the wasm core
 * (contract in docs/ARCHITECTURE.md). Thin by design: one wasm call per
 * register access; the core returns a negative code for a bad argument or a
 * disposed port, which becomes MttyError EINVAL here.
 */
import { fail } from '../errors/errno.js';
import { core, sinks, afterCall, releaseHandle, withIo, claimIo, releaseIo, IO_SIZE, type PortSink } from './core.js';
import { BASE_BAUD, MODEM_CONNECTED } from './registers.js';

/**
 * UART behaviour: 'pc16550d' follows the National PC16550D datasheet (level INTR);
 * 'mtty' reproduces the kernel sample's quirks (samples/vfio-mdev/mtty.c: one pulse per event).
 */
export type UartProfile = 'pc16550d' | 'mtty';
/** Where transmitted bytes go: 'loopback' back into the own RX FIFO (mtty.c), 'host' to `onTransmit`. */
export type Wiring = 'host' | 'loopback';
/** Options of Uart.create: profile, wiring, modem inputs (MSR high nibble bits), OUT2 gating of INTR. */
export interface UartOptions {
  profile?: UartProfile;
  wiring?: Wiring;
  modemInputs?: number;
  /** PC-board OUT2 gating of INTR (addition to the contract; default false). */
  out2Gate?: boolean;
}
/**
 * The line as the guest programmed it: divisor (DLL/DLM), baud (bit/s, 115200 / divisor), data bits, parity and stop bits from LCR.
 */
export interface LineSettings {
  divisor: number;
  baud: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: 'none' | 'odd' | 'even' | 'mark' | 'space';
  stopBits: 1 | 1.5 | 2;
}

const PROFILES: readonly UartProfile[] = ['pc16550d', 'mtty'];
const WIRINGS: readonly Wiring[] = ['host', 'loopback'];

// Direct references to the raw exports: the hot path skips a prototype lookup.
const rawRead = core.uart_read;
const rawWrite = core.uart_write;
const rawPeek = core.uart_peek;
const rawReceive = core.uart_receive;

function profileCode(p: unknown): number {
  const i = PROFILES.indexOf(p as UartProfile);
  if (i < 0) fail('EINVAL', `unknown UART profile ${JSON.stringify(p)} (expected ${PROFILES.join(' or ')})`);
  return i;
}

function wiringCode(w: unknown): number {
  const i = WIRINGS.indexOf(w as Wiring);
  if (i < 0) fail('EINVAL', `unknown UART wiring ${JSON.stringify(w)} (expected ${WIRINGS.join(' or ')})`);
  return i;
}

function checkModemBits(bits: number): void {
  if ((bits & 0xf0) !== bits) fail('EINVAL', `modem inputs must be MSR bits 4-7 (CTS 0x10 DSR 0x20 RI 0x40 DCD 0x80), got ${bits}`);
}

/**
 * Small copies by hand: for a FIFO's worth of bytes a plain loop beats
 * TypedArray.set (and subarray's allocation) several times over.
 */
const SMALL_COPY = 64;

function copyIn(buf: Uint8Array, bytes: Uint8Array): void {
  const n = bytes.length;
  if (n > SMALL_COPY) buf.set(bytes);
  else for (let i = 0; i < n; i++) buf[i] = bytes[i]!;
}

function copyOut(out: Uint8Array, buf: Uint8Array, n: number): void {
  if (n > SMALL_COPY) out.set(buf.subarray(0, n));
  else for (let i = 0; i < n; i++) out[i] = buf[i]!;
}

/**
 * One 16550A UART (PC16550D datasheet), running in the shared WebAssembly core.
 * `read(offset)`/`write(offset, value)` are register accesses at offsets 0..7 with the chip's
 * side effects; `peek` reads without them. `receive(byte)` is a byte arriving on SIN;
 * `advance(ns)` moves its clock for the character timeout (4 character times, ns).
 * INTR is reported through `onIrqLine` (level) or `onIrqPulse` (profile 'mtty').
 * Bad arguments and a disposed UART throw MttyError EINVAL; ENOMEM when the core is full.
 */
export class Uart implements PortSink {
  /** Slot of this port in the core's table (stays readable after dispose). */
  readonly handle: number;
  /** The handle while live, 0 after dispose (so a reused slot is never touched). */
  private h: number;

  onIrqLine: ((level: boolean) => void) | null = null;
  onIrqPulse: (() => void) | null = null;
  onTransmit: ((byte: number) => void) | null = null;

  private constructor(handle: number) {
    this.handle = handle;
    this.h = handle;
  }

  /** A new port after master reset. Defaults: pc16550d, host wiring, modem inputs CTS|DSR|DCD. */
  static create(opts: UartOptions = {}): Uart {
    const profile = profileCode(opts.profile ?? 'pc16550d');
    const wiring = wiringCode(opts.wiring ?? 'host');
    const modem = opts.modemInputs ?? MODEM_CONNECTED;
    checkModemBits(modem);
    const h = core.uart_create(profile, wiring, modem);
    if (h === 0) fail('ENOMEM', 'the UART core could not grow its port table');
    const u = new Uart(h);
    sinks[h] = u;
    if (opts.out2Gate) u.out2Gate = true;
    return u;
  }

  /** Ports alive in this process (all share one wasm instance). */
  static get livePorts(): number {
    return core.live_ports();
  }

  private bad(code: number, what: string): never {
    if (this.h === 0) fail('EINVAL', `UART ${this.handle} was disposed (${what})`);
    fail('EINVAL', `UART ${this.handle}: ${what} out of range (core code ${code})`);
  }

  get profile(): UartProfile {
    const v = core.uart_profile(this.h);
    if (v < 0) this.bad(v, 'profile');
    return PROFILES[v]!;
  }
  set profile(p: UartProfile) {
    const r = core.uart_set_profile(this.h, profileCode(p));
    afterCall();
    if (r < 0) this.bad(r, 'profile');
  }

  get wiring(): Wiring {
    const v = core.uart_wiring(this.h);
    if (v < 0) this.bad(v, 'wiring');
    return WIRINGS[v]!;
  }
  set wiring(w: Wiring) {
    const r = core.uart_set_wiring(this.h, wiringCode(w));
    if (r < 0) this.bad(r, 'wiring');
  }

  /** Register read at offset 0..7 with the chip's side effects. */
  read(offset: number): number {
    if ((offset & 7) !== offset) this.bad(-2, `read offset ${offset}`);
    const v = rawRead(this.h, offset);
    afterCall();
    if (v < 0) this.bad(v, `read offset ${offset}`);
    return v;
  }

  write(offset: number, value: number): void {
    if ((offset & 7) !== offset || (value & 0xff) !== value) this.bad(-2, `write ${offset}=${value}`);
    const r = rawWrite(this.h, offset, value);
    afterCall();
    if (r < 0) this.bad(r, `write ${offset}=${value}`);
  }

  /** What read(offset) would return, without side effects. */
  peek(offset: number): number {
    if ((offset & 7) !== offset) this.bad(-2, `peek offset ${offset}`);
    const v = rawPeek(this.h, offset);
    if (v < 0) this.bad(v, `peek offset ${offset}`);
    return v;
  }

  /** A byte on SIN; false = not taken (overrun sets LSR.OE; in MCR.LOOP SIN is disconnected). */
  receive(byte: number): boolean {
    if ((byte & 0xff) !== byte) this.bad(-2, `receive byte ${byte}`);
    const r = rawReceive(this.h, byte);
    afterCall();
    if (r < 0) this.bad(r, `receive byte ${byte}`);
    return r === 1;
  }

  /**
   * A byte received with line errors, as LSR bits: PE 0x04, FE 0x08, BI 0x10.
   * A break is receiveError(0x00, 0x10). (Addition to the contract.)
   */
  receiveError(byte: number, lsrBits: number): boolean {
    if ((byte & 0xff) !== byte || (lsrBits & 0x1c) !== lsrBits) this.bad(-2, `receiveError ${byte}/${lsrBits}`);
    const r = core.uart_receive_error(this.h, byte, lsrBits);
    afterCall();
    if (r < 0) this.bad(r, 'receiveError');
    return r === 1;
  }

  /** Bytes from the host, as many as fit without overrun; returns how many were taken. */
  receiveMany(bytes: Uint8Array): number {
    return this.feed(bytes, core.uart_receive_many);
  }

  rxSpace(): number {
    const v = core.uart_rx_space(this.h);
    if (v < 0) this.bad(v, 'rxSpace');
    return v;
  }

  /** THR writes as a driver does them (up to a FIFO's worth per THRE); returns bytes written. */
  writeMany(bytes: Uint8Array): number {
    return this.feed(bytes, core.uart_write_many);
  }

  /**
   * Bytes into a batched core entry point through the io buffer: one wasm call
   * when they fit (the common case, no closure allocated), else chunked.
   * `op` is a core export, which needs no `this`.
   */
  private feed(bytes: Uint8Array, op: (h: number, n: number) => number): number {
    if (bytes.length <= IO_SIZE) {
      const buf = claimIo();
      if (buf !== null) {
        let got: number;
        try {
          copyIn(buf, bytes);
          got = op(this.h, bytes.length);
        } finally {
          releaseIo();
        }
        return this.batchDone(got);
      }
    }
    return this.batch(bytes.length, (buf, off, n) => {
      buf.set(bytes.subarray(off, off + n));
      return op(this.h, n);
    });
  }

  /** RBR reads while LSR.DR into out; returns bytes read. */
  readMany(out: Uint8Array): number {
    if (out.length <= IO_SIZE) {
      const buf = claimIo();
      if (buf !== null) {
        let got: number;
        try {
          got = core.uart_read_many(this.h, out.length);
          copyOut(out, buf, got);
        } finally {
          releaseIo();
        }
        return this.batchDone(got);
      }
    }
    return this.batch(out.length, (buf, off, n) => {
      const got = core.uart_read_many(this.h, n);
      if (got > 0) out.set(buf.subarray(0, got), off);
      return got;
    });
  }

  /** Common tail of the single-chunk fast paths. */
  private batchDone(got: number): number {
    afterCall();
    if (got < 0) this.bad(got, 'batched access');
    return got;
  }

  /** Chunk a bulk operation through the io buffer (the general path, also when nested); stops at the first short chunk. */
  private batch(total: number, step: (buf: Uint8Array, off: number, n: number) => number): number {
    let done = 0;
    while (done < total) {
      const n = Math.min(IO_SIZE, total - done);
      const got = withIo((buf) => step(buf, done, n));
      afterCall();
      if (got < 0) this.bad(got, 'batched access');
      done += got;
      if (got < n) break;
    }
    return done;
  }

  /** Host side modem input pins (MSR bits 4-7); changes latch the MSR delta bits. */
  setModemInputs(bits: number): void {
    checkModemBits(bits);
    const r = core.uart_set_modem_inputs(this.h, bits);
    afterCall();
    if (r < 0) this.bad(r, 'setModemInputs');
  }

  /** The modem input pins as last set (addition to the contract). */
  get modemInputs(): number {
    const v = core.uart_modem_inputs(this.h);
    if (v < 0) this.bad(v, 'modemInputs');
    return v;
  }

  /** DTR 0x01, RTS 0x02, OUT1 0x04, OUT2 0x08 as the far end sees them (all 0 in MCR.LOOP). */
  get modemOutputs(): number {
    const v = core.uart_modem_outputs(this.h);
    if (v < 0) this.bad(v, 'modemOutputs');
    return v;
  }

  get lineSettings(): LineSettings {
    const divisor = core.uart_divisor(this.h);
    const lcr = core.uart_lcr(this.h);
    if (divisor < 0 || lcr < 0) this.bad(Math.min(divisor, lcr), 'lineSettings');
    const dataBits = (5 + (lcr & 3)) as 5 | 6 | 7 | 8;
    let parity: LineSettings['parity'] = 'none';
    if (lcr & 0x08) {
      if (lcr & 0x20) parity = lcr & 0x10 ? 'space' : 'mark';
      else parity = lcr & 0x10 ? 'even' : 'odd';
    }
    const stopBits: 1 | 1.5 | 2 = lcr & 0x04 ? (dataBits === 5 ? 1.5 : 2) : 1;
    // Divisor 0 counts as 65536 (16-bit down-counter), as in the core's timing.
    return { divisor, baud: BASE_BAUD / (divisor === 0 ? 65536 : divisor), dataBits, parity, stopBits };
  }

  /** Nanoseconds one character takes on the wire at the current settings (addition). */
  get charTimeNs(): number {
    const v = core.uart_char_time(this.h);
    if (v < 0) this.bad(v, 'charTimeNs');
    return v;
  }

  /** Move this port's virtual clock forward (fires the character timeout when due). */
  advance(ns: number): void {
    if (!(ns >= 0 && Number.isFinite(ns))) this.bad(-2, `advance(${ns})`);
    const r = core.uart_advance(this.h, ns);
    afterCall();
    if (r < 0) this.bad(r, `advance(${ns})`);
  }

  /** ns until the next timed event, -1 if none. */
  nextDeadline(): number {
    if (this.h === 0) this.bad(-1, 'nextDeadline');
    return core.uart_next_deadline(this.h);
  }

  get irq(): boolean {
    const v = core.uart_irq(this.h);
    if (v < 0) this.bad(v, 'irq');
    return v === 1;
  }

  /** PC-board OUT2 gating of the interrupt (default off, like QEMU and mtty). Addition. */
  get out2Gate(): boolean {
    const v = core.uart_out2_gate(this.h);
    if (v < 0) this.bad(v, 'out2Gate');
    return v === 1;
  }
  set out2Gate(on: boolean) {
    const r = core.uart_set_out2_gate(this.h, on ? 1 : 0);
    afterCall();
    if (r < 0) this.bad(r, 'out2Gate');
  }

  /** Master reset (datasheet table); profile, wiring, modem inputs and gating are kept. */
  reset(): void {
    const r = core.uart_reset(this.h);
    afterCall();
    if (r < 0) this.bad(r, 'reset');
  }

  /** Full versioned snapshot (a copy; see assembly/snapshot.ts for the layout). */
  saveState(): Uint8Array {
    return withIo((buf) => {
      const n = core.uart_save(this.h);
      if (n < 0) this.bad(n, 'saveState');
      return buf.slice(0, n);
    });
  }

  restoreState(b: Uint8Array): void {
    if (!(b instanceof Uint8Array) || b.length > IO_SIZE) fail('EINVAL', 'UART snapshot must be a Uint8Array from saveState()');
    const r = withIo((buf) => {
      buf.set(b);
      return core.uart_restore(this.h, b.length);
    });
    afterCall();
    if (r === -3) fail('EINVAL', 'UART snapshot rejected (wrong magic, version, size or an out-of-range field)');
    if (r < 0) this.bad(r, 'restoreState');
  }

  /** The kernel sample's 36-byte struct serial_port for this port. */
  toMttyRecord(): Uint8Array {
    return withIo((buf) => {
      const n = core.uart_to_mtty(this.h);
      if (n < 0) this.bad(n, 'toMttyRecord');
      return buf.slice(0, n);
    });
  }

  fromMttyRecord(b: Uint8Array): void {
    if (!(b instanceof Uint8Array) || b.length !== 36) {
      fail('EINVAL', `struct serial_port is 36 bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`);
    }
    const r = withIo((buf) => {
      buf.set(b);
      return core.uart_from_mtty(this.h, b.length);
    });
    afterCall();
    if (r === -3) fail('EINVAL', 'struct serial_port rejected (count > 16, head != tail + count, or max_fifo_size not 1/16)');
    if (r < 0) this.bad(r, 'fromMttyRecord');
  }

  /** Give the slot back to the core; any later call fails with EINVAL. Idempotent. */
  dispose(): void {
    if (this.h === 0) return;
    sinks[this.h] = undefined;
    releaseHandle(this.h); // deferred while a callback runs: the core may still be on this slot
    this.h = 0;
  }
}
