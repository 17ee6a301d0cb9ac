/**
 * class Uart: the TypeScript face of one 16550A port of the wasm core
 * (contract in docs/ARCHITECTURE.md). Thin by design: one wasm call per
 * register access; the core returns a negative code for a bad argument or a
 * disposed port, which becomes MttyError EINVAL here.
 */
import { fail } from '../errors/errno.js';
import { core, sinks, afterCall, releaseHandle, withIo, claimIo, releaseIo, ioState, createPort, heap, heapF64, ARMED_OFFSET, LSR_OFFSET, SCR_OFFSET, NOW_OFFSET, DEADLINE_OFFSET, IO_SIZE, type PortSink } from './core.js';
import { BASE_BAUD, MODEM_CONNECTED } from './registers.js';
import { parseUartProfile, uartProfileByCode, DEFAULT_UART_PROFILE, type UartProfile, type UartProfileDefinition, type KnownUartProfile } from './profile.js';

export type { UartProfile, UartProfileDefinition };
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
  /**
   * ns one character takes on the wire (start + data + parity + stop bits at
   * this baud): the core's own figure (assembly/timing.ts charTimeNs, the one
   * character-time function), the unit of the character timeout.
   */
  charTimeNs: number;
}

const WIRINGS: readonly Wiring[] = ['host', 'loopback'];

// Direct references to the raw exports: the hot path skips a prototype lookup.
const rawRead = core.uart_read;
const rawWrite = core.uart_write;
const rawPeek = core.uart_peek;
const rawReceive = core.uart_receive;
const rawWriteMany = core.uart_write_many;
const rawReadMany = core.uart_read_many;
const rawReceiveMany = core.uart_receive_many;
const rawWriteReadMany = core.uart_write_read_many;
const rawExchange = core.uart_exchange;

/** Which batched entry point feed() calls (a direct call each: V8 inlines a known wasm callee, not one passed around). */
const enum Feed {
  Write,
  Receive,
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
  /** Address of this port's "character timeout armed" byte in linear memory; -1 after dispose. */
  private armedAt: number;
  /** Address of its published LSR byte (assembly/published.ts); -1 after dispose. */
  private lsrAt: number;
  /** heap index of its SCR byte (scratch: no side effect in either profile, so no call). */
  private scrAt: number;
  /**
   * The profile's definition, kept here: the core's profile changes only in
   * the profile setter and restoreState, which refresh it, so interrupt
   * delivery (MttyPort asks per delivery) costs no call.
   */
  private def: KnownUartProfile;
  /** heapF64 indexes of its virtual time and its timeout's due time. */
  private nowIx: number;
  private deadlineIx: number;
  private lastStagedWritten = 0;

  onIrqLine: ((level: boolean) => void) | null = null;
  onIrqPulse: (() => void) | null = null;
  onTransmit: ((byte: number) => void) | null = null;

  private constructor(handle: number, def: KnownUartProfile) {
    this.handle = handle;
    this.h = handle;
    this.def = def;
    const slot = core.uart_slot(handle);
    this.armedAt = slot + ARMED_OFFSET;
    this.lsrAt = slot + LSR_OFFSET;
    this.scrAt = slot + SCR_OFFSET;
    this.nowIx = (slot + NOW_OFFSET) / 8;
    this.deadlineIx = (slot + DEADLINE_OFFSET) / 8;
  }

  /** A new port after master reset. Defaults: pc16550d, host wiring, modem inputs CTS|DSR|DCD. */
  static create(opts: UartOptions = {}): Uart {
    const def = parseUartProfile(opts.profile ?? DEFAULT_UART_PROFILE);
    const wiring = wiringCode(opts.wiring ?? 'host');
    const modem = opts.modemInputs ?? MODEM_CONNECTED;
    checkModemBits(modem);
    const h = createPort(def.code, wiring, modem);
    if (h === 0) fail('ENOMEM', 'the UART core could not grow its port table');
    const u = new Uart(h, def);
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

  /** The profile's name; switchable at run time (register state is kept). */
  get profile(): UartProfile {
    return this.profileDefinition.name;
  }
  set profile(p: UartProfile) {
    const def = parseUartProfile(p);
    const r = core.uart_set_profile(this.h, def.code);
    if (r === 0) this.def = def; // before afterCall(), which may rethrow a callback's error
    afterCall();
    if (r < 0) this.bad(r, 'profile');
  }

  /** The current profile's definition (irq style, reset values, quirks). */
  get profileDefinition(): KnownUartProfile {
    if (this.h === 0) this.bad(-1, 'profile');
    return this.def;
  }

  /**
   * A character timeout is running: the only time this port's virtual clock
   * is observable. One byte read from the core's memory, no call: the device
   * asks on every register access whether it must keep time (src/mtty/port.ts).
   */
  get timed(): boolean {
    return heap[this.armedAt] === 1;
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
    if (offset === 5) {
      // LSR polling, a driver's most frequent access: while reading it has no
      // side effect the core keeps its value in the slot (assembly/published.ts),
      // so it costs a load, not a call. 0xFF, or undefined after dispose: call.
      const lsr = heap[this.lsrAt]!;
      if (lsr < 0xff) return lsr;
    }
    if ((offset & 7) !== offset) this.bad(-2, `read offset ${offset}`);
    const v = rawRead(this.h, offset);
    afterCall();
    if (v < 0) this.bad(v, `read offset ${offset}`);
    return v;
  }

  write(offset: number, value: number): void {
    if ((offset & 7) !== offset || (value & 0xff) !== value) this.bad(-2, `write ${offset}=${value}`);
    if (offset === 7 && this.h !== 0) {
      // SCR is plain storage in both profiles (assembly/regs.ts, mtty.ts): no
      // side effect, no callback, nothing published changes, so no call.
      heap[this.scrAt] = value;
      return;
    }
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
    return this.feed(bytes, Feed.Receive);
  }

  rxSpace(): number {
    const v = core.uart_rx_space(this.h);
    if (v < 0) this.bad(v, 'rxSpace');
    return v;
  }

  /** THR writes as a driver does them (up to a FIFO's worth per THRE); returns bytes written. */
  writeMany(bytes: Uint8Array): number {
    // A FIFO's worth or so (the common case), spelled out: no helper calls around the one wasm call.
    const n = bytes.length;
    if (n <= SMALL_COPY && !ioState.busy) {
      const buf = ioState.view;
      for (let i = 0; i < n; i++) buf[i] = bytes[i]!;
      ioState.busy = true;
      let got: number;
      try {
        got = rawWriteMany(this.h, n);
      } finally {
        ioState.busy = false;
      }
      afterCall();
      if (got < 0) this.bad(got, 'writeMany');
      return got;
    }
    return this.feed(bytes, Feed.Write);
  }

  /**
   * Bytes into a batched core entry point through the io buffer: one wasm call
   * when they fit (the common case, no closure allocated), else chunked.
   */
  private feed(bytes: Uint8Array, op: Feed): number {
    if (bytes.length <= IO_SIZE) {
      const buf = claimIo();
      if (buf !== null) {
        let got: number;
        try {
          copyIn(buf, bytes);
          got = op === Feed.Write ? rawWriteMany(this.h, bytes.length) : rawReceiveMany(this.h, bytes.length);
        } finally {
          releaseIo();
        }
        return this.batchDone(got);
      }
    }
    return this.batch(bytes.length, (buf, off, n) => {
      buf.set(bytes.subarray(off, off + n));
      return op === Feed.Write ? rawWriteMany(this.h, n) : rawReceiveMany(this.h, n);
    });
  }

  /** RBR reads while LSR.DR into out; returns bytes read. */
  readMany(out: Uint8Array): number {
    const max = out.length;
    if (max <= SMALL_COPY && !ioState.busy) {
      const buf = ioState.view;
      ioState.busy = true;
      let got: number;
      try {
        got = rawReadMany(this.h, max);
      } finally {
        ioState.busy = false;
      }
      // Straight after the call, before anything else can run and reuse the buffer.
      for (let i = 0; i < got; i++) out[i] = buf[i]!;
      afterCall();
      if (got < 0) this.bad(got, 'readMany');
      return got;
    }
    if (out.length <= IO_SIZE) {
      const buf = claimIo();
      if (buf !== null) {
        let got: number;
        try {
          got = rawReadMany(this.h, out.length);
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

  /**
   * The staging buffer for writeReadStaged and exchangeStaged: a view of the
   * core's io buffer (IO_SIZE = 4096 bytes of wasm linear memory), so bytes
   * put here reach the core without a copy. One buffer shared by all ports:
   * fill it right before the staged call and take the bytes read right after;
   * any other batched call (writeMany, readMany, receiveMany on any port)
   * reuses it. Re-read this getter after Uart.create (a new port may grow
   * memory, which replaces the view). EBUSY inside a callback of a running
   * batched call, whose bytes the buffer holds.
   */
  get stage(): Uint8Array {
    if (ioState.busy) fail('EBUSY', `UART ${this.handle}: the staging buffer is held by a batched call in progress (called from its callback?)`);
    return ioState.view;
  }

  /** Bytes written by the last writeReadStaged or exchangeStaged on this port. */
  get stagedWritten(): number {
    return this.lastStagedWritten;
  }

  /**
   * writeMany(stage[0..n)) then readMany(up to max bytes into stage[0..)) in
   * one core call, with exactly the effects of the two calls in sequence
   * (THR writes as a driver does them, then RBR reads while LSR.DR). For a
   * loopback-wired port (or MCR.LOOP) this moves a FIFO's worth out and back
   * without copying through JS. Returns the bytes read (now at stage[0..));
   * the bytes written are in stagedWritten. n, max: 0..4096, else EINVAL;
   * EBUSY from inside a running batched call's callback; EINVAL after dispose.
   */
  writeReadStaged(n: number, max: number): number {
    if (!(n >= 0 && n <= IO_SIZE && max >= 0 && max <= IO_SIZE) || (n | 0) !== n || (max | 0) !== max) this.bad(-2, `writeReadStaged(${n}, ${max})`);
    this.holdStage('writeReadStaged');
    let r: number;
    try {
      r = rawWriteReadMany(this.h, n, max);
    } finally {
      ioState.busy = false;
    }
    return this.stagedDone(r, 'writeReadStaged');
  }

  /**
   * Both directions kept going in one core call, as an interrupt-driven
   * driver services a busy port: rounds of one burst of THR writes (up to a
   * FIFO's worth: 16 with FIFOs on, else 1; the mtty sample's max_fifo_size)
   * from stage[0..n), each followed by RBR reads while LSR.DR into
   * stage[n..). Stops when all n bytes are written, when the read area
   * (4096 - n bytes) is full, or when a round moves nothing. Exactly the
   * effects of those writeMany/readMany calls in sequence; on a looped-back
   * port (wiring 'loopback' or MCR.LOOP) every byte comes back, so up to 2048
   * bytes, 128 FIFOs' worth, go out and back per call without copying
   * through JS (with n > 2048 the read area fills first: the call stops with
   * bytes unsent and up to a FIFO's worth left in the receiver; n = 4096 leaves
   * no read area and sends nothing). A loopback tool: on a host-wired port
   * the reads only collect what the host delivered meanwhile. Returns the
   * bytes read (at stage[n..n+read)); the bytes written are in stagedWritten.
   * n: 0..4096, else EINVAL; EBUSY from inside a running batched call's
   * callback; EINVAL after dispose.
   */
  exchangeStaged(n: number): number {
    if (!(n >= 0 && n <= IO_SIZE) || (n | 0) !== n) this.bad(-2, `exchangeStaged(${n})`);
    this.holdStage('exchangeStaged');
    let r: number;
    try {
      r = rawExchange(this.h, n);
    } finally {
      ioState.busy = false;
    }
    return this.stagedDone(r, 'exchangeStaged');
  }

  /** The staged calls' start: the io buffer to this call (EBUSY inside a running batched call's callback). Release it in a finally. */
  private holdStage(what: string): void {
    if (ioState.busy) fail('EBUSY', `UART ${this.handle}: ${what} from a callback of a running batched call`);
    ioState.busy = true;
  }

  /** The staged calls' end: a callback's error, then a dead handle; (written << 16) | read -> read, written kept. */
  private stagedDone(r: number, what: string): number {
    afterCall();
    if (r < 0) this.bad(r, what);
    this.lastStagedWritten = r >>> 16;
    return r & 0xffff;
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
    return { divisor, baud: BASE_BAUD / (divisor === 0 ? 65536 : divisor), dataBits, parity, stopBits, charTimeNs: this.charTimeNs };
  }

  /** Nanoseconds one character takes on the wire at the current settings (addition; the core's figure). */
  get charTimeNs(): number {
    const v = core.uart_char_time(this.h);
    if (v < 0) this.bad(v, 'charTimeNs');
    return v;
  }

  /**
   * Move this port's virtual clock forward (fires the character timeout when due).
   * The clock is an f64 in the port's slot that only this moves; the core is
   * called only when a running timeout falls due (its checkTimeout fires it),
   * so keeping time costs no call while it does not.
   */
  advance(ns: number): void {
    if (!(ns >= 0 && Number.isFinite(ns))) this.bad(-2, `advance(${ns})`);
    if (this.h === 0) this.bad(-1, `advance(${ns})`);
    const now = (heapF64[this.nowIx]! += ns);
    if (heap[this.armedAt] !== 1 || now < heapF64[this.deadlineIx]!) return;
    const r = core.uart_advance(this.h, 0);
    afterCall();
    if (r < 0) this.bad(r, `advance(${ns})`);
  }

  /**
   * ns until the next timed event (the character timeout), -1 if none. Read
   * from the slot, no call. Never below 1 ns while one runs: a host computes
   * "now" as lastSync + delay, and float rounding can make the time it then
   * hands to advance() a hair short of the deadline; a remainder under 1 ns is
   * answered with 1 ns, so every timer the host arms moves time forward and
   * the next one fires the timeout.
   */
  nextDeadline(): number {
    if (this.h === 0) this.bad(-1, 'nextDeadline');
    if (heap[this.armedAt] !== 1) return -1;
    const left = heapF64[this.deadlineIx]! - heapF64[this.nowIx]!;
    return left >= 1 ? left : 1;
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
    if (r === 0) this.def = uartProfileByCode(core.uart_profile(this.h)); // the snapshot's profile
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
    this.armedAt = -1;
    this.lsrAt = -1;
  }
}
