/**
 * /dev/ttySn as a guest program (minicom, setserial) uses it: open with
 * termios, write bytes, read what the IRQ handler pushed into the flip
 * buffer. A read never touches the UART: it waits for the interrupt path to
 * deliver data, which is the point the walk-through's steps 6-7 demonstrate.
 */
import { MttyError } from '../errors/errno.js';
import { DEFAULT_TERMIOS, type Serial8250Port, type Termios } from './serial8250.js';

/** A port known to the serial core without a device behind it in this model (the guest's on-board COM1). */
export interface LegacyPort {
  line: number;
  iobase: number;
  irq: number;
  type: string;
}

/**
 * /dev/ttySn as a guest program uses it: `open(termios)`, `write(text | bytes)`,
 * `read(n)` resolves with bytes the interrupt handler received (it never polls the UART).
 * EIO when not open.
 */
export class Tty {
  private buf: number[] = [];
  private waiters: { want: number; resolve: (b: Uint8Array) => void }[] = [];

  constructor(readonly port: Serial8250Port) {
    port.onReceive = (bytes) => this.push(bytes);
  }

  get name(): string {
    return this.port.name;
  }

  open(termios: Partial<Termios> = {}): void {
    this.port.open({ ...DEFAULT_TERMIOS, ...termios });
  }

  close(): void {
    this.port.close();
  }

  write(data: string | Uint8Array): number {
    return this.port.write(typeof data === 'string' ? new TextEncoder().encode(data) : data);
  }

  /** Bytes already received, without waiting (O_NONBLOCK read). */
  readAvailable(): Uint8Array {
    const out = Uint8Array.from(this.buf);
    this.buf = [];
    return out;
  }

  /** Resolve once `n` bytes have arrived through interrupts (a blocking read with VMIN = n). */
  read(n: number): Promise<Uint8Array> {
    if (!this.port.isOpen) return Promise.reject(new MttyError('EIO', `${this.name} is not open`));
    if (this.buf.length >= n) return Promise.resolve(Uint8Array.from(this.buf.splice(0, n)));
    return new Promise((resolve) => this.waiters.push({ want: n, resolve }));
  }

  get buffered(): number {
    return this.buf.length;
  }

  private push(bytes: Uint8Array): void {
    for (const b of bytes) this.buf.push(b);
    while (this.waiters.length && this.buf.length >= this.waiters[0].want) {
      const w = this.waiters.shift()!;
      w.resolve(Uint8Array.from(this.buf.splice(0, w.want)));
    }
  }
}

export function legacySetserialLine(p: LegacyPort): string {
  return `/dev/ttyS${p.line}, UART: ${p.type}, Port: 0x${p.iobase.toString(16).padStart(4, '0')}, IRQ: ${p.irq}`;
}
