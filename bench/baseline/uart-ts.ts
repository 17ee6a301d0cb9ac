/**
 * Plain-TypeScript PC16550D with the same behaviour as the wasm core's
 * 'pc16550d' profile (FIFOs, trigger levels, IIR priority and THRE rules,
 * instantaneous TX, host/loopback wiring, MCR.LOOP, modem deltas). It exists
 * only so `npm run bench` can compare the wasm core against the obvious
 * alternative in the same run; run.ts checks it answers the shared Linux
 * trace identically before timing it. Not used by the product.
 * It keeps time like the core: advance(ns) moves a virtual clock, the
 * character timeout (4 character times after the last byte in or RBR read,
 * FIFO mode, data waiting) fires as IIR 0xCC, nextDeadline() says when, and
 * an LCR/divisor write that makes it due fires it; so a device built on it
 * reads the clock exactly when one built on the core does (bench fairness).
 * Left out (no workload needs them): PE/FE/BI, OUT2 gating, snapshots,
 * profile 'mtty'.
 */

export class TsUart {
  onIrqLine: ((level: boolean) => void) | null = null;
  onTransmit: ((byte: number) => void) | null = null;
  loopbackWiring: boolean;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErr = 0;
  private msrDelta = 0;
  private scr = 0;
  private fcr = 0;
  private dll = 0x0c;
  private dlm = 0;
  private thrp = false;
  private ctip = false;
  private level = false;
  private modemIn: number;
  // Character timeout, as the core keeps it (assembly/timing.ts).
  private now = 0;
  private lastAct = 0;
  private ctiArmed = false;
  private readonly rx = new Uint8Array(16);
  private rxHead = 0;
  private rxCount = 0;

  constructor(opts: { loopback?: boolean; modemInputs?: number } = {}) {
    this.loopbackWiring = opts.loopback ?? false;
    this.modemIn = opts.modemInputs ?? 0xb0;
  }

  private get fifoOn(): boolean {
    return (this.fcr & 1) !== 0;
  }

  private trigger(): number {
    return [1, 4, 8, 14][this.fcr >> 6]!;
  }

  private pendingId(): number {
    const ier = this.ier;
    if (ier & 4 && this.lsrErr & 0x1e) return 0x06;
    if (ier & 1) {
      if (this.ctip) return 0x0c;
      if (this.fifoOn ? this.rxCount >= this.trigger() : this.rxCount !== 0) return 0x04;
    }
    if (ier & 2 && this.thrp) return 0x02;
    if (ier & 8 && this.msrDelta) return 0x00;
    return 0x01;
  }

  private update(): void {
    const l = this.pendingId() !== 0x01;
    if (l !== this.level) {
      this.level = l;
      this.onIrqLine?.(l);
    }
  }

  get irq(): boolean {
    return this.level;
  }

  private msrInputs(): number {
    const m = this.mcr;
    if (!(m & 0x10)) return this.modemIn;
    return ((m & 2) << 3) | ((m & 1) << 5) | ((m & 4) << 4) | ((m & 8) << 4);
  }

  private latch(before: number, after: number): void {
    const c = before ^ after;
    let d = (c & 0xb0) >> 4;
    if (before & 0x40 && !(after & 0x40)) d |= 0x04;
    this.msrDelta |= d;
  }

  private accept(b: number): boolean {
    const cap = this.fifoOn ? 16 : 1;
    let ok = true;
    if (this.rxCount < cap) {
      this.rx[(this.rxHead + this.rxCount++) & 15] = b;
    } else {
      ok = false;
      if (!this.fifoOn) this.rx[this.rxHead] = b;
      this.lsrErr |= 0x02;
    }
    this.restartTimeout();
    this.update();
    return ok;
  }

  private restartTimeout(): void {
    this.lastAct = this.now;
    this.ctiArmed = this.fifoOn && this.rxCount !== 0;
  }

  /**
   * ns per character at the current LCR and divisor (divisor 0 = 65536), as
   * the core computes it, and cached as the core caches it (assembly/timing.ts
   * charTimeCached): the port asks twice per received byte while a timeout runs.
   */
  get charTimeNs(): number {
    const lcr = this.lcr;
    const key = (lcr & 0x0f) | ((this.dll | (this.dlm << 8)) << 8);
    if (key === this.ctKey) return this.ctNs;
    const data = 5 + (lcr & 3);
    const bits = 1 + data + (lcr & 0x08 ? 1 : 0) + (lcr & 0x04 ? (data === 5 ? 1.5 : 2) : 1);
    this.ctKey = key;
    this.ctNs = (bits * ((this.dll | (this.dlm << 8)) || 65536) * 1e9) / 115200;
    return this.ctNs;
  }
  private ctKey = -1;
  private ctNs = 0;

  /** A character timeout is running. */
  get timed(): boolean {
    return this.ctiArmed;
  }

  private checkTimeout(): void {
    if (!this.ctiArmed || this.now < this.lastAct + 4 * this.charTimeNs) return;
    this.ctiArmed = false;
    this.ctip = true;
    this.update();
  }

  advance(ns: number): void {
    this.now += ns;
    this.checkTimeout();
  }

  nextDeadline(): number {
    if (!this.ctiArmed) return -1;
    const left = this.lastAct + 4 * this.charTimeNs - this.now;
    return left >= 1 ? left : 1;
  }

  receive(b: number): boolean {
    if (this.mcr & 0x10) return false;
    return this.accept(b);
  }

  rxSpace(): number {
    if (this.mcr & 0x10) return 0;
    return (this.fifoOn ? 16 : 1) - this.rxCount;
  }

  receiveMany(bytes: Uint8Array): number {
    let i = 0;
    while (i < bytes.length && this.rxSpace() > 0) this.accept(bytes[i++]!);
    return i;
  }

  setModemInputs(bits: number): void {
    const before = this.msrInputs();
    this.modemIn = bits & 0xf0;
    this.latch(before, this.msrInputs());
    this.update();
  }

  get modemOutputs(): number {
    return this.mcr & 0x10 ? 0 : this.mcr & 0x0f;
  }

  get lineSettings(): { divisor: number; baud: number; dataBits: 5 | 6 | 7 | 8; parity: 'none' | 'odd' | 'even' | 'mark' | 'space'; stopBits: 1 | 1.5 | 2 } {
    const divisor = this.dll | (this.dlm << 8);
    const lcr = this.lcr;
    const dataBits = (5 + (lcr & 3)) as 5 | 6 | 7 | 8;
    const parity = !(lcr & 0x08) ? 'none' : lcr & 0x20 ? (lcr & 0x10 ? 'space' : 'mark') : lcr & 0x10 ? 'even' : 'odd';
    const stopBits = lcr & 0x04 ? (dataBits === 5 ? 1.5 : 2) : 1;
    return { divisor, baud: 115200 / (divisor || 65536), dataBits, parity, stopBits };
  }

  private lsr(): number {
    return (this.lsrErr & 0x1e) | (this.rxCount ? 1 : 0) | 0x60;
  }

  peek(off: number): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (off) {
      case 0: return dlab ? this.dll : this.rxCount ? this.rx[this.rxHead]! : 0;
      case 1: return dlab ? this.dlm : this.ier;
      case 2: return this.pendingId() | (this.fifoOn ? 0xc0 : 0);
      case 3: return this.lcr;
      case 4: return this.mcr;
      case 5: return this.lsr();
      case 6: return this.msrDelta | this.msrInputs();
      default: return this.scr;
    }
  }

  read(off: number): number {
    if ((off & 7) !== off) throw new RangeError('offset');
    const v = this.peek(off);
    if (off === 0 && !(this.lcr & 0x80) && this.rxCount) {
      this.rxHead = (this.rxHead + 1) & 15;
      this.rxCount--;
      this.ctip = false;
      this.restartTimeout();
      this.update();
    } else if (off === 2 && (v & 0x0f) === 0x02) {
      this.thrp = false;
      this.update();
    } else if (off === 5 && v & 0x1e) {
      this.lsrErr = 0;
      this.update();
    } else if (off === 6 && v & 0x0f) {
      this.msrDelta = 0;
      this.update();
    }
    return v;
  }

  write(off: number, v: number): void {
    if ((off & 7) !== off || (v & 0xff) !== v) throw new RangeError('write');
    const dlab = (this.lcr & 0x80) !== 0;
    switch (off) {
      case 0:
        if (dlab) {
          this.dll = v;
          this.checkTimeout();
        } else {
          this.thrp = false;
          this.update();
          if (this.mcr & 0x10 || this.loopbackWiring) this.accept(v);
          else this.onTransmit?.(v);
          this.thrp = true;
          this.update();
        }
        break;
      case 1: {
        if (dlab) {
          this.dlm = v;
          this.checkTimeout();
          break;
        }
        const old = this.ier;
        this.ier = v & 0x0f;
        if (!(old & 2) && v & 2) this.thrp = true;
        this.update();
        break;
      }
      case 2: {
        if ((this.fcr ^ v) & 1) {
          this.rxCount = 0;
          this.ctip = false;
          this.ctiArmed = false;
          this.thrp = true;
        }
        if (v & 1) {
          if (v & 2) {
            this.rxCount = 0;
            this.ctip = false;
            this.ctiArmed = false;
          }
          if (v & 4) this.thrp = true;
          this.fcr = v & 0xc9;
        } else this.fcr = 0;
        this.update();
        break;
      }
      case 3:
        this.lcr = v;
        this.checkTimeout();
        break;
      case 4: {
        const before = this.msrInputs();
        this.mcr = v & 0x1f;
        this.latch(before, this.msrInputs());
        this.update();
        break;
      }
      case 7:
        this.scr = v;
        break;
      default:
        break;
    }
  }

  /** Same bulk shortcut as the core: a port with IER = 0 looping back in FIFO mode. */
  private get quietLoop(): boolean {
    return (this.ier & 0x0f) === 0 && (this.lcr & 0x80) === 0 && this.fifoOn && (this.loopbackWiring || (this.mcr & 0x10) !== 0);
  }

  writeMany(bytes: Uint8Array): number {
    return this.writeFrom(bytes, 0, bytes.length);
  }

  /** The staged API of src/uart's Uart, in plain TS: its own buffer, the same two steps, no copies. */
  /** One buffer shared by all ports, as the core's io buffer is (a 4 KiB array per port made create + remove 2x slower). */
  private static readonly ioBuffer = new Uint8Array(4096);
  readonly stage: Uint8Array = TsUart.ioBuffer;
  stagedWritten = 0;
  writeReadStaged(n: number, max: number): number {
    this.stagedWritten = this.writeFrom(this.stage, 0, n);
    return this.readInto(this.stage, 0, max);
  }

  /**
   * Uart.exchangeStaged in plain TS: the same rounds (one burst out, read while
   * DR) over its own buffer. The quiet loopback round is written out with its
   * state in locals (as fast as this model gets it: helper calls per round
   * cost it 1.5-2x here); other rounds take the general steps.
   */
  exchangeStaged(n: number): number {
    const st = this.stage;
    const rx = this.rx;
    const cap = st.length - n;
    let written = 0;
    let got = 0;
    while (written < n && got < cap) {
      const burst = Math.min(n - written, this.fifoOn ? 16 : 1);
      if (this.quietLoop) {
        const c = this.rxCount;
        const k = Math.min(burst, 16 - c);
        const tail = this.rxHead + c;
        for (let i = 0; i < k; i++) rx[(tail + i) & 15] = st[written + i]!;
        if (burst > k) this.lsrErr |= 0x02;
        this.thrp = true;
        written += burst;
        const head = this.rxHead;
        const m = Math.min(cap - got, c + k);
        for (let i = 0; i < m; i++) st[n + got + i] = rx[(head + i) & 15]!;
        this.rxHead = (head + m) & 15;
        this.rxCount = c + k - m;
        if (m) this.ctip = false;
        this.restartTimeout();
        got += m;
        continue;
      }
      const w = this.writeFrom(st, written, burst);
      written += w;
      const r = this.readInto(st, n + got, cap - got);
      got += r;
      if (w === 0 && r === 0) break;
    }
    this.stagedWritten = written;
    return got;
  }

  private writeFrom(bytes: Uint8Array, from: number, n: number): number {
    if (this.quietLoop) {
      // Locals hoisted as the core's bulk path has them (assembly/batch.ts): the JIT keeps them in registers.
      const rx = this.rx;
      const c = this.rxCount;
      const k = Math.min(n, 16 - c);
      const tail = this.rxHead + c;
      for (let i = 0; i < k; i++) rx[(tail + i) & 15] = bytes[from + i]!;
      this.rxCount = c + k;
      if (n > k) this.lsrErr |= 0x02;
      this.thrp = true;
      if (n) this.restartTimeout();
      return n;
    }
    let i = 0;
    while (i < n) {
      if (!(this.peek(5) & 0x20)) break;
      const burst = this.fifoOn ? 16 : 1;
      for (let j = 0; j < burst && i < n; j++) this.write(0, bytes[from + i++]!);
    }
    return i;
  }

  readMany(out: Uint8Array): number {
    return this.readInto(out, 0, out.length);
  }

  private readInto(out: Uint8Array, at: number, max: number): number {
    if ((this.ier & 0x0f) === 0 && (this.lcr & 0x80) === 0) {
      const rx = this.rx;
      const head = this.rxHead;
      const k = Math.min(max, this.rxCount);
      for (let i = 0; i < k; i++) out[at + i] = rx[(head + i) & 15]!;
      this.rxHead = (head + k) & 15;
      this.rxCount -= k;
      if (k) {
        this.ctip = false;
        this.restartTimeout();
      }
      return k;
    }
    let i = 0;
    while (i < max && this.peek(5) & 1) out[at + i++] = this.read(0);
    return i;
  }
}
