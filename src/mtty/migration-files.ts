import { fail } from '../errors/errno.js';
import type { MigrationDataFile } from '../vfio/api.js';

/**
 * The two kinds of migration data fd mtty hands out. Both are streams
 * (explicit offsets fail ESPIPE) and both go dead (ENODEV) when the device
 * leaves the state that opened them, is reset, or is closed.
 */
abstract class DataFile implements MigrationDataFile {
  disabled = false;

  protected alive(offset: number | undefined): void {
    if (offset !== undefined) fail('ESPIPE', 'migration data fds are streams; read/write them without an offset');
    if (this.disabled) fail('ENODEV', 'this migration data fd has been disabled (the device left the state that opened it)');
  }

  abstract read(length: number, offset?: number): Uint8Array;
  abstract write(data: Uint8Array, offset?: number): number;
  abstract precopyInfo(): { initialBytes: number; dirtyBytes: number };

  close(): void {
    this.disabled = true;
  }
}

/**
 * The saving fd: starts with what is known when it opens (the header in
 * PRE_COPY, everything in STOP_COPY) and grows when STOP_COPY appends the
 * port records to a PRE_COPY fd.
 */
export class SaveFile extends DataFile {
  private data: Uint8Array;
  private pos = 0;

  constructor(
    initial: Uint8Array,
    /** Whether GET_PRECOPY_INFO is allowed now (PRE_COPY / PRE_COPY_P2P). */
    private readonly inPrecopy: () => boolean,
  ) {
    super();
    this.data = initial.slice();
  }

  append(bytes: Uint8Array): void {
    const grown = new Uint8Array(this.data.length + bytes.length);
    grown.set(this.data, 0);
    grown.set(bytes, this.data.length);
    this.data = grown;
  }

  read(length: number, offset?: number): Uint8Array {
    this.alive(offset);
    if (!Number.isSafeInteger(length) || length < 0) fail('EINVAL', 'read length must be a non-negative integer');
    const out = this.data.slice(this.pos, this.pos + length);
    this.pos += out.length;
    return out;
  }

  write(): number {
    fail('EBADF', 'the saving migration fd is read-only');
  }

  precopyInfo(): { initialBytes: number; dirtyBytes: number } {
    if (!this.inPrecopy()) fail('EINVAL', 'GET_PRECOPY_INFO is only valid in PRE_COPY or PRE_COPY_P2P');
    if (this.disabled) fail('ENODEV', 'this migration data fd has been disabled');
    return { initialBytes: Math.max(0, this.data.length - this.pos), dirtyBytes: 0 };
  }
}

/**
 * The resuming fd: collects exactly `size` bytes. Writing past `size` is
 * ENOMEM; when the header is complete it is checked and a bad one makes that
 * write fail EFAULT (the bytes still count, as in the kernel sample).
 */
export class ResumeFile extends DataFile {
  readonly buffer: Uint8Array;
  filled = 0;

  constructor(
    readonly size: number,
    private readonly headerSize: number,
    /** Reason the header is unacceptable, or null. */
    private readonly checkHeader: (header: Uint8Array) => string | null,
  ) {
    super();
    this.buffer = new Uint8Array(size);
  }

  read(): Uint8Array {
    fail('EBADF', 'the resuming migration fd is write-only');
  }

  write(data: Uint8Array, offset?: number): number {
    if (offset !== undefined) this.alive(offset); // ESPIPE
    if (!(data instanceof Uint8Array)) fail('EFAULT', 'migration data must be a Uint8Array');
    // The sample checks the size before it looks at the fd's state: too much data is ENOMEM even on a disabled fd.
    if (this.filled + data.length > this.size) {
      fail('ENOMEM', `this device's migration stream is ${this.size} bytes; ${this.filled + data.length} would not fit`);
    }
    this.alive(undefined); // ENODEV
    const before = this.filled;
    this.buffer.set(data, this.filled);
    this.filled += data.length;
    if (before < this.headerSize && this.filled >= this.headerSize) {
      const why = this.checkHeader(this.buffer.subarray(0, this.headerSize));
      if (why) fail('EFAULT', `the migration stream header is not for this device: ${why}`);
    }
    return data.length;
  }

  precopyInfo(): { initialBytes: number; dirtyBytes: number } {
    // The sample's resuming fd has no ioctl handler at all: every ioctl on it is ENOTTY.
    fail('ENOTTY', 'the resuming migration fd takes no ioctls (GET_PRECOPY_INFO is for a saving fd in PRE_COPY)');
  }
}
