/**
 * A vfio-user client: the project's stand-in for QEMU's hw/vfio-user proxy.
 * Used by the tests, by `mtty vfio-user-lspci`, and by anyone who wants to
 * drive an mtty over the socket from JavaScript.
 *
 * Requests may be pipelined; replies are matched by message id. An error
 * reply rejects with an MttyError carrying the server's errno, so callers
 * compare `e.code`/`e.errno` with what the kernel ioctl would have returned.
 * Eventfds are passed by number (`fds`); the addon sends them as SCM_RIGHTS
 * and the caller keeps its own copy (e.g. to read the interrupt counter).
 */
import { EventEmitter } from 'node:events';
import { ERRNO, MttyError, errnoName, isMttyError, type ErrnoName } from '../errors/errno.js';
import type { DeviceInfo, IrqInfo, RegionInfo } from '../vfio/api.js';
import { Channel } from './channel.js';
import { isNativeError, native } from './native.js';
import {
  CMD,
  FLAG_ERROR,
  FLAG_NO_REPLY,
  FLAG_TYPE_MASK,
  HEADER_SIZE,
  MAX_MESSAGE_SIZE,
  SIZE,
  TYPE_COMMAND,
  TYPE_REPLY,
  commandName,
  encodeMessage,
  isReply,
  u16,
  u32,
  writeHeader,
  type Message,
} from './protocol.js';
import { decodeVersion, encodeVersion, qemuCapabilities, type Capabilities, type VersionPayload } from './version.js';

/** Per-request options of VfioUserClient: fds to pass with the message (SCM_RIGHTS), no-reply flag. */
export interface RequestOptions {
  fds?: readonly number[];
  /** Set the no-reply flag; the promise resolves once the message is queued. */
  noReply?: boolean;
}

/** VFIO_USER_DEVICE_GET_REGION_INFO's reply: the VFIO region info plus the capability chain offset. */
export interface RegionInfoReply extends RegionInfo {
  argsz: number;
  capOffset: number;
}

/** A VFIO_USER_DEVICE_SET_IRQS request: flags, index, start, count, and eventfds or booleans. */
export interface SetIrqsRequest {
  flags: number;
  index: number;
  start: number;
  count: number;
  /** DATA_EVENTFD: one fd per vector; omit (or []) to send none ("fd -1"). */
  fds?: readonly number[];
  /** DATA_BOOL: one boolean per vector. */
  bools?: readonly boolean[];
}

interface Pending {
  command: number;
  resolve: (m: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
  reject: (e: Error) => void;
  /**
   * Decodes a successful reply straight from the channel's scratch buffer
   * (no Message built); what it returns resolves the request. Throw to
   * reject. Error replies always take the general path.
   */
  quick?: (m: Buffer, size: number) => unknown;
}

/** An errno from a reply (or a socket error) as the MttyError a caller can test. */
export function errnoError(errno: number, what: string): MttyError {
  const name = errnoName(errno);
  if (name) return new MttyError(name, what);
  const e = new MttyError('EIO', `${what} (errno ${errno})`);
  Object.defineProperty(e, 'errno', { value: errno });
  return e;
}

/**
 * A vfio-user client (the QEMU side of the protocol, docs/vfio-user.md): `connect(path)`, version
 * negotiation, device/region/IRQ info, region reads/writes (bytes), SET_IRQS with eventfds. A reply
 * with an error becomes the MttyError of that errno. Needs the native addon.
 */
export class VfioUserClient extends EventEmitter {
  private readonly channel: Channel;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closeReason: string | null | undefined = undefined;
  /** Resolves with the close reason (null = orderly EOF) once the connection is gone. */
  readonly closed: Promise<string | null>;
  /** The server's VERSION answer, after version(). */
  serverVersion: VersionPayload | null = null;

  private constructor(fd: number) {
    super();
    let done!: (r: string | null) => void;
    this.closed = new Promise((r) => (done = r));
    this.channel = new Channel(
      fd,
      {
        onMessage: (m) => this.onMessage(m),
        onQuick: (m, size) => this.onQuick(m, size),
        onBadFrame: (_h, reason) => this.emit('protocol-error', reason),
        onClose: (reason) => {
          this.closeReason = reason;
          const err = new MttyError('ECONNRESET', `the vfio-user connection closed${reason ? `: ${reason}` : ''}`);
          for (const p of this.pending.values()) p.reject(err);
          this.pending.clear();
          this.emit('close', reason);
          done(reason);
        },
      },
      // A server sends no fds (mtty has no mmap regions); accept what we advertise.
      { maxMessageSize: MAX_MESSAGE_SIZE, maxFds: qemuCapabilities().max_msg_fds ?? 16 },
    );
  }

  /** Connect to a server socket (ENOENT / ECONNREFUSED-style errors as MttyError). */
  static connect(path: string): VfioUserClient {
    let fd: number;
    try {
      fd = native().connect(path);
    } catch (e) {
      if (isMttyError(e)) throw e;
      if (isNativeError(e) && e.code in ERRNO) throw new MttyError(e.code as ErrnoName, `cannot connect to ${path}: ${e.message}`);
      throw new MttyError('EIO', `cannot connect to ${path}: ${(e as Error).message}`);
    }
    return new VfioUserClient(fd);
  }

  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  /** Send one command and wait for its reply (unless noReply). */
  request(command: number, payload: Uint8Array = new Uint8Array(0), opts: RequestOptions = {}): Promise<Message> {
    const msg = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
    msg.set(payload, HEADER_SIZE);
    return this.call(command, msg, opts);
  }

  /**
   * Send `msg` (a whole message whose header this fills in: id, command,
   * size, flags, error 0) and wait for its reply; `quick` decodes a
   * successful reply without building a Message (see Pending).
   */
  private call<T = Message>(command: number, msg: Buffer, opts: RequestOptions = {}, quick?: (m: Buffer, size: number) => T): Promise<T> {
    if (this.isClosed) return Promise.reject(new MttyError('ECONNRESET', 'the vfio-user connection is closed'));
    // Message ids are 16 bits: skip ids still waiting for a reply, so a
    // reply can never resolve the wrong request.
    if (this.pending.size >= 0x10000) {
      return Promise.reject(new MttyError('EAGAIN', '65536 requests are already waiting for replies'));
    }
    while (this.pending.has(this.nextId)) this.nextId = (this.nextId + 1) & 0xffff;
    const id = this.nextId;
    this.nextId = (this.nextId + 1) & 0xffff;
    const flags = TYPE_COMMAND | (opts.noReply ? FLAG_NO_REPLY : 0);
    writeHeader(msg, 0, id, command, msg.length, flags, 0);
    if (opts.noReply) {
      this.channel.send(msg, opts.fds ?? []);
      const m: Message = { header: { id, command, size: msg.length, flags, error: 0 }, payload: Buffer.alloc(0), fds: [], fdsTruncated: false };
      return Promise.resolve(m as T);
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve, reject, quick });
      this.channel.send(msg, opts.fds ?? []);
    });
  }

  /**
   * Send raw bytes (no framing), for malformed-message tests. Replies that
   * come back are still matched by id: register the id you expect with
   * `expectReply`.
   */
  sendRaw(bytes: Uint8Array, fds: readonly number[] = []): void {
    this.channel.send(Buffer.from(bytes), fds);
  }

  /** Wait for the reply to a message sent with sendRaw (by its id). */
  expectReply(id: number, command: number): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      if (this.isClosed) reject(new MttyError('ECONNRESET', 'the vfio-user connection is closed'));
      else this.pending.set(id, { command, resolve, reject });
    });
  }

  /** Close our end and wait until the connection is gone. */
  async close(): Promise<void> {
    this.channel.end(null);
    await this.closed;
  }

  // ----------------------------------------------------------- commands

  async version(capabilities: Capabilities = qemuCapabilities(), major = 0, minor = 0): Promise<VersionPayload> {
    const reply = await this.request(CMD.VERSION, encodeVersion({ major, minor, capabilities }));
    const p = reply.payload;
    if (p.length > 0 && p[p.length - 1] !== 0) throw new MttyError('EPROTO', 'the VERSION reply JSON is not NUL-terminated');
    const v = decodeVersion(p);
    if (v.major !== major || v.minor > minor) throw new MttyError('EPROTO', `incompatible server version ${v.major}.${v.minor}`);
    this.serverVersion = v;
    return v;
  }

  async dmaMap(m: { addr: number; size: number; flags?: number; offset?: number }, fd?: number): Promise<void> {
    const p = Buffer.alloc(SIZE.DMA_MAP);
    p.writeUInt32LE(SIZE.DMA_MAP, 0);
    p.writeUInt32LE(m.flags ?? 0x3, 4); // READ | WRITE, as QEMU maps guest RAM
    p.writeBigUInt64LE(BigInt(m.offset ?? 0), 8);
    p.writeBigUInt64LE(BigInt(m.addr), 16);
    p.writeBigUInt64LE(BigInt(m.size), 24);
    await this.request(CMD.DMA_MAP, p, { fds: fd === undefined ? [] : [fd] });
  }

  async dmaUnmap(m: { addr: number; size: number; flags?: number }): Promise<void> {
    const p = Buffer.alloc(SIZE.DMA_UNMAP);
    p.writeUInt32LE(SIZE.DMA_UNMAP, 0);
    p.writeUInt32LE(m.flags ?? 0, 4);
    p.writeBigUInt64LE(BigInt(m.addr), 8);
    p.writeBigUInt64LE(BigInt(m.size), 16);
    await this.request(CMD.DMA_UNMAP, p);
  }

  async getInfo(): Promise<DeviceInfo> {
    const p = Buffer.alloc(SIZE.DEVICE_INFO);
    p.writeUInt32LE(SIZE.DEVICE_INFO, 0);
    const r = need(await this.request(CMD.DEVICE_GET_INFO, p), SIZE.DEVICE_INFO);
    return { flags: r.readUInt32LE(4), numRegions: r.readUInt32LE(8), numIrqs: r.readUInt32LE(12) };
  }

  async getRegionInfo(index: number, argsz: number = SIZE.REGION_INFO): Promise<RegionInfoReply> {
    const p = Buffer.alloc(SIZE.REGION_INFO);
    p.writeUInt32LE(argsz, 0);
    p.writeUInt32LE(index, 8);
    const r = need(await this.request(CMD.DEVICE_GET_REGION_INFO, p), SIZE.REGION_INFO);
    return {
      argsz: r.readUInt32LE(0),
      flags: r.readUInt32LE(4),
      index: r.readUInt32LE(8),
      capOffset: r.readUInt32LE(12),
      size: Number(r.readBigUInt64LE(16)),
      offset: Number(r.readBigUInt64LE(24)),
    };
  }

  async getIrqInfo(index: number): Promise<IrqInfo> {
    const p = Buffer.alloc(SIZE.IRQ_INFO);
    p.writeUInt32LE(SIZE.IRQ_INFO, 0);
    p.writeUInt32LE(index, 8);
    const r = need(await this.request(CMD.DEVICE_GET_IRQ_INFO, p), SIZE.IRQ_INFO);
    return { flags: r.readUInt32LE(4), index: r.readUInt32LE(8), count: r.readUInt32LE(12) };
  }

  /** SET_IRQS the way QEMU sends it: argsz 20 and the eventfds as SCM_RIGHTS. */
  async setIrqs(s: SetIrqsRequest): Promise<void> {
    const bools = s.bools ?? [];
    const p = Buffer.alloc(SIZE.IRQ_SET + bools.length);
    p.writeUInt32LE(SIZE.IRQ_SET + bools.length, 0);
    p.writeUInt32LE(s.flags, 4);
    p.writeUInt32LE(s.index, 8);
    p.writeUInt32LE(s.start, 12);
    p.writeUInt32LE(s.count, 16);
    bools.forEach((b, i) => (p[SIZE.IRQ_SET + i] = b ? 1 : 0));
    await this.request(CMD.DEVICE_SET_IRQS, p, { fds: s.fds ?? [] });
  }

  regionRead(region: number, offset: number, count: number): Promise<Uint8Array> {
    // Built in place and decoded from the reply in place (no Message, no
    // extra promise): this is the call a polling loop makes millions of times.
    const msg = Buffer.allocUnsafe(HEADER_SIZE + SIZE.REGION_ACCESS);
    try {
      writeU64(msg, HEADER_SIZE, offset);
      msg.writeUInt32LE(region, HEADER_SIZE + 8);
      msg.writeUInt32LE(count, HEADER_SIZE + 12);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.call(CMD.REGION_READ, msg, {}, (r: Uint8Array, size: number): Uint8Array => {
      const base = HEADER_SIZE + SIZE.REGION_ACCESS;
      if (size < base) throw new MttyError('EPROTO', `REGION_READ reply is ${size - HEADER_SIZE} bytes, expected ${SIZE.REGION_ACCESS}`);
      const n = u32(r, HEADER_SIZE + 12);
      if (n > count || size !== base + n) throw new MttyError('EPROTO', `REGION_READ reply carries ${size - base} bytes for count ${n}`);
      return r.slice(base, size);
    });
  }

  /** Returns the count the server reports written (0 when sent with noReply). */
  async regionWrite(region: number, offset: number, data: Uint8Array, opts: { noReply?: boolean } = {}): Promise<number> {
    const p = Buffer.alloc(SIZE.REGION_ACCESS + data.length);
    p.writeBigUInt64LE(BigInt(offset), 0);
    p.writeUInt32LE(region, 8);
    p.writeUInt32LE(data.length, 12);
    p.set(data, SIZE.REGION_ACCESS);
    const r = await this.request(CMD.REGION_WRITE, p, { noReply: opts.noReply });
    if (opts.noReply) return 0;
    return need(r, SIZE.REGION_ACCESS).readUInt32LE(12);
  }

  /** REGION_WRITE_MULTI (QEMU's coalesced posted writes); returns the completed count. */
  async regionWriteMulti(writes: readonly { region: number; offset: number; data: Uint8Array }[]): Promise<number> {
    const p = Buffer.alloc(8 + writes.length * SIZE.WRITE_MULTI_ENTRY);
    p.writeBigUInt64LE(BigInt(writes.length), 0);
    writes.forEach((w, i) => {
      const o = 8 + i * SIZE.WRITE_MULTI_ENTRY;
      p.writeBigUInt64LE(BigInt(w.offset), o);
      p.writeUInt32LE(w.region, o + 8);
      p.writeUInt32LE(w.data.length, o + 12);
      p.set(w.data.subarray(0, 8), o + 16);
    });
    return Number(need(await this.request(CMD.REGION_WRITE_MULTI, p), 8).readBigUInt64LE(0));
  }

  async reset(): Promise<void> {
    await this.request(CMD.DEVICE_RESET);
  }

  // ----------------------------------------------------------- internals

  /** A small reply, in the channel's scratch buffer: resolve it without building a Message. */
  private onQuick(m: Buffer, size: number): number {
    if ((u32(m, 8) & (FLAG_TYPE_MASK | FLAG_ERROR)) !== TYPE_REPLY) return 0; // requests, errors: general path
    const id = u16(m, 0);
    const p = this.pending.get(id);
    if (!p?.quick || u16(m, 2) !== p.command) return 0;
    this.pending.delete(id);
    try {
      p.resolve(p.quick(m, size));
    } catch (e) {
      p.reject(e as Error);
    }
    return -1; // taken; nothing to send
  }

  private onMessage(m: Message): void {
    // A server never legitimately sends us fds (mtty has no mmap regions).
    for (const fd of m.fds) {
      try {
        native().close(fd);
      } catch {
        /* gone */
      }
    }
    if (!isReply(m.header)) {
      this.emit('request', m);
      return;
    }
    const p = this.pending.get(m.header.id);
    if (!p) {
      this.emit('protocol-error', `unexpected reply id ${m.header.id} (${commandName(m.header.command)})`);
      return;
    }
    this.pending.delete(m.header.id);
    if (m.header.flags & FLAG_ERROR) {
      p.reject(errnoError(m.header.error, `${commandName(p.command)} failed on the server`));
    } else if (m.header.command !== p.command) {
      p.reject(new MttyError('EPROTO', `reply to ${commandName(p.command)} came back as ${commandName(m.header.command)}`));
    } else if (p.quick) {
      // A reply too big for the quick path: the same decoder, on the rebuilt raw message.
      try {
        p.resolve(p.quick(encodeMessage(m.header, m.payload), HEADER_SIZE + m.payload.length));
      } catch (e) {
        p.reject(e as Error);
      }
    } else {
      p.resolve(m);
    }
  }
}

/** A u64 that fits a double (offsets below 2^53), little-endian, without BigInt. */
function writeU64(b: Buffer, at: number, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`offset ${v} is not a non-negative safe integer`);
  b.writeUInt32LE(v % 0x1_0000_0000, at);
  b.writeUInt32LE(Math.floor(v / 0x1_0000_0000), at + 4);
}

function need(m: Message, size: number): Buffer {
  if (m.payload.length < size) {
    throw new MttyError('EPROTO', `${commandName(m.header.command)} reply is ${m.payload.length} bytes, expected ${size}`);
  }
  return m.payload;
}
