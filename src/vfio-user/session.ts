/**
 * One client's vfio-user session against one opened VfioDevice: decode each
 * command, call the device, encode the reply.
 *
 * Every failure becomes an error reply carrying the errno the device threw
 * (MttyError.errno), exactly what the kernel ioctl would have returned to
 * QEMU; nothing a client sends can throw out of `handle()`. Malformed
 * payloads answer EINVAL, unknown commands ENOTTY (the errno of an unknown
 * ioctl on a VFIO device fd, which is what a vfio-user command stands for).
 *
 * The session owns the eventfds the client passed (EventfdSink): it closes
 * the old one when an interrupt is re-pointed or disabled, and all of them
 * (plus the device handle) in dispose().
 */
import { ERRNO, fail, isMttyError } from '../errors/errno.js';
import type { IrqSet, IrqSink, VfioDevice } from '../vfio/api.js';
import {
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_OFFSET_MASK,
  regionOffset,
} from '../vfio/uapi.js';
import { EventfdSink, checkEventfd } from './eventfd-sink.js';
import { isNativeError, native } from './native.js';
import {
  CMD,
  FLAG_ERROR,
  FLAG_NO_REPLY,
  HEADER_SIZE,
  SERVER_MAX_DATA_XFER,
  SIZE,
  TYPE_REPLY,
  VERSION_MAJOR,
  VERSION_MINOR,
  commandName,
  encodeMessage,
  isReply,
  u16,
  u32,
  writeHeader,
  type Message,
} from './protocol.js';
import { decodeVersion, encodeVersion, peerLimits, serverCapabilities, type PeerLimits } from './version.js';

/** Above this many vectors a SET_IRQS is nonsense for any PCI device (MSI-X max is 2048). */
const MAX_IRQ_VECTORS = 2048;
/** Region indexes that keep index << 40 exact in a double. */
const MAX_REGION_INDEX = 4095;

export interface SessionResult {
  /** The reply to send (null for NO_REPLY commands and for stray replies). */
  reply: Buffer | null;
  /** Set when the connection must end after the reply (e.g. unusable VERSION). */
  closeReason?: string;
}

export class VfioUserSession {
  private readonly device: VfioDevice;
  private readonly log: (line: string) => void;
  private negotiated = false;
  /** What the client told us it can receive (we never send fds or DMA). */
  peer: PeerLimits | null = null;
  /** Eventfd sinks per "action:index:vector", owned by this session. */
  private readonly sinks = new Map<string, EventfdSink>();
  private disposed = false;
  /** Region sizes for quick(), filled on first use (region info is fixed while the device is open). */
  private readonly regionSizes: number[] = [];

  constructor(device: VfioDevice, log: (line: string) => void) {
    this.device = device;
    this.log = log;
  }

  handle(msg: Message): SessionResult {
    const { header } = msg;
    if (isReply(header)) {
      // We never send requests, so no reply can be expected.
      this.closeFds(msg.fds);
      this.log(`ignoring an unsolicited reply (id ${header.id}, ${commandName(header.command)})`);
      return { reply: null };
    }
    let payload: Buffer = Buffer.alloc(0);
    let errno = 0;
    let closeReason: string | undefined;
    let fdsTaken = false;
    try {
      if (msg.fdsTruncated) fail('EINVAL', 'more fds were passed than max_msg_fds allows');
      if (header.command !== CMD.VERSION && !this.negotiated) {
        fail('EINVAL', `${commandName(header.command)} before VERSION: the client must negotiate first`);
      }
      switch (header.command) {
        case CMD.VERSION:
          payload = this.version(msg.payload, (reason) => (closeReason = reason));
          break;
        case CMD.DMA_MAP:
          payload = this.dmaMap(msg.payload);
          break;
        case CMD.DMA_UNMAP:
          payload = this.dmaUnmap(msg.payload);
          break;
        case CMD.DEVICE_GET_INFO:
          payload = this.getInfo(msg.payload);
          break;
        case CMD.DEVICE_GET_REGION_INFO:
          payload = this.getRegionInfo(msg.payload);
          break;
        case CMD.DEVICE_GET_IRQ_INFO:
          payload = this.getIrqInfo(msg.payload);
          break;
        case CMD.DEVICE_SET_IRQS:
          fdsTaken = true;
          this.setIrqs(msg.payload, msg.fds);
          break;
        case CMD.REGION_READ:
          payload = this.regionRead(msg.payload);
          break;
        case CMD.REGION_WRITE:
          payload = this.regionWrite(msg.payload);
          break;
        case CMD.REGION_WRITE_MULTI:
          payload = this.regionWriteMulti(msg.payload);
          break;
        case CMD.DEVICE_RESET:
          this.device.reset();
          break;
        default:
          fail('ENOTTY', `${commandName(header.command)} is not supported by this server`);
      }
    } catch (e) {
      errno = errnoOf(e);
      payload = Buffer.alloc(0);
      if (!isMttyError(e) && !isNativeError(e)) this.log(`internal error on ${commandName(header.command)}: ${(e as Error)?.stack ?? String(e)}`);
      else if (header.flags & FLAG_NO_REPLY) this.log(`${commandName(header.command)} (no reply requested) failed: ${(e as Error).message}`);
    } finally {
      // Fds are only meaningful for SET_IRQS (eventfds) and DMA_MAP (memory,
      // unused: mtty does no DMA); whatever was not kept is closed here.
      if (!fdsTaken) this.closeFds(msg.fds);
    }
    if (header.flags & FLAG_NO_REPLY) return { reply: null, closeReason };
    const reply = encodeMessage(
      { id: header.id, command: header.command, flags: TYPE_REPLY | (errno ? FLAG_ERROR : 0), error: errno },
      payload,
    );
    return { reply, closeReason };
  }

  /** Client gone: drop its eventfds and close the device handle (the kernel's last close). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.sinks.values()) s.close();
    this.sinks.clear();
    try {
      this.device.close();
    } catch (e) {
      this.log(`closing the device failed: ${(e as Error).message}`);
    }
  }

  // ---------------------------------------------------------------- commands

  private version(p: Buffer, closeAfterReply: (reason: string) => void): Buffer {
    if (this.negotiated) fail('EINVAL', 'VERSION was already negotiated on this connection');
    const v = decodeVersion(p);
    if (v.major !== VERSION_MAJOR) {
      // The spec: the server closes the connection if it cannot support the
      // proposed major. Answer with an error first so the client can log why.
      const reason = `unsupported protocol major version ${v.major} (this server speaks ${VERSION_MAJOR}.${VERSION_MINOR})`;
      closeAfterReply(reason);
      fail('EINVAL', reason);
    }
    this.negotiated = true;
    this.peer = peerLimits(v.capabilities);
    return encodeVersion({
      major: VERSION_MAJOR,
      minor: Math.min(v.minor, VERSION_MINOR),
      capabilities: serverCapabilities(v.capabilities),
    });
  }

  private dmaMap(p: Buffer): Buffer {
    need(p, SIZE.DMA_MAP, 'DMA_MAP');
    // Accepted and forgotten: mtty never touches guest memory.
    return Buffer.alloc(0);
  }

  private dmaUnmap(p: Buffer): Buffer {
    need(p, SIZE.DMA_UNMAP, 'DMA_UNMAP');
    const flags = p.readUInt32LE(4);
    if (flags & 1) fail('EINVAL', 'DMA_UNMAP with GET_DIRTY_BITMAP: mtty does no DMA and tracks no dirty pages');
    // The spec: the reply carries the original DMA entry.
    return Buffer.from(p.subarray(0, SIZE.DMA_UNMAP));
  }

  private getInfo(p: Buffer): Buffer {
    need(p, SIZE.DEVICE_INFO, 'DEVICE_GET_INFO');
    if (p.readUInt32LE(0) < SIZE.DEVICE_INFO) fail('EINVAL', `argsz ${p.readUInt32LE(0)} is below vfio_device_info's 16 bytes`);
    const info = this.device.getInfo();
    const out = Buffer.alloc(SIZE.DEVICE_INFO);
    out.writeUInt32LE(SIZE.DEVICE_INFO, 0);
    out.writeUInt32LE(info.flags >>> 0, 4);
    out.writeUInt32LE(info.numRegions >>> 0, 8);
    out.writeUInt32LE(info.numIrqs >>> 0, 12);
    return out;
  }

  private getRegionInfo(p: Buffer): Buffer {
    need(p, SIZE.REGION_INFO, 'DEVICE_GET_REGION_INFO');
    if (p.readUInt32LE(0) < SIZE.REGION_INFO) fail('EINVAL', `argsz ${p.readUInt32LE(0)} is below vfio_region_info's 32 bytes`);
    const r = this.device.getRegionInfo(p.readUInt32LE(8));
    const out = Buffer.alloc(SIZE.REGION_INFO);
    out.writeUInt32LE(SIZE.REGION_INFO, 0); // argsz: no capability chain follows
    out.writeUInt32LE(r.flags >>> 0, 4);
    out.writeUInt32LE(r.index >>> 0, 8);
    out.writeUInt32LE(0, 12); // cap_offset
    out.writeBigUInt64LE(BigInt(r.size), 16);
    out.writeBigUInt64LE(BigInt(r.offset), 24);
    return out;
  }

  private getIrqInfo(p: Buffer): Buffer {
    need(p, SIZE.IRQ_INFO, 'DEVICE_GET_IRQ_INFO');
    if (p.readUInt32LE(0) < SIZE.IRQ_INFO) fail('EINVAL', `argsz ${p.readUInt32LE(0)} is below vfio_irq_info's 16 bytes`);
    const i = this.device.getIrqInfo(p.readUInt32LE(8));
    const out = Buffer.alloc(SIZE.IRQ_INFO);
    out.writeUInt32LE(SIZE.IRQ_INFO, 0);
    out.writeUInt32LE(i.flags >>> 0, 4);
    out.writeUInt32LE(i.index >>> 0, 8);
    out.writeUInt32LE(i.count >>> 0, 12);
    return out;
  }

  /**
   * SET_IRQS. Eventfds arrive as SCM_RIGHTS fds, one per vector; QEMU sends
   * none at all to mean "fd -1 for every vector" (de-assign). The device
   * applies the kernel's rules (mode checks, UNMASK+EVENTFD -> ENOTTY, ...).
   */
  private setIrqs(p: Buffer, fds: number[]): void {
    const fresh: EventfdSink[] = [];
    let ok = false;
    try {
      need(p, SIZE.IRQ_SET, 'DEVICE_SET_IRQS');
      const argsz = p.readUInt32LE(0);
      if (argsz < SIZE.IRQ_SET) fail('EINVAL', `argsz ${argsz} is below vfio_irq_set's 20 bytes`);
      const flags = p.readUInt32LE(4);
      const index = p.readUInt32LE(8);
      const start = p.readUInt32LE(12);
      const count = p.readUInt32LE(16);
      if (count > MAX_IRQ_VECTORS) fail('EINVAL', `count ${count} is more vectors than any PCI device has`);
      const set: IrqSet = { flags, index, start, count };
      if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        if (fds.length !== 0 && fds.length !== count) {
          fail('EINVAL', `SET_IRQS with count ${count} carried ${fds.length} fds (expected ${count}, or none for "fd -1")`);
        }
        for (const fd of fds) checkEventfd(fd);
        const data: (IrqSink | null)[] = [];
        for (let i = 0; i < count; i++) {
          if (fds.length === 0) data.push(null);
          else {
            const s = new EventfdSink(fds[i]!);
            fresh.push(s);
            data.push(s);
          }
        }
        set.data = data;
      } else {
        if (fds.length > 0) fail('EINVAL', 'fds were passed with a SET_IRQS that is not DATA_EVENTFD');
        if (flags & VFIO_IRQ_SET_DATA_BOOL) {
          if (p.length < SIZE.IRQ_SET + count) fail('EINVAL', `DATA_BOOL needs ${count} bytes of data, ${p.length - SIZE.IRQ_SET} were sent`);
          set.data = Array.from(p.subarray(SIZE.IRQ_SET, SIZE.IRQ_SET + count), (b) => b !== 0);
        }
      }
      this.device.setIrqs(set);
      ok = true;
      this.track(set, flags);
    } finally {
      if (!ok) {
        for (const s of fresh) s.close();
        // fds not yet wrapped (a failure before wrapping) are closed here.
        if (fresh.length === 0) this.closeFds(fds);
      }
    }
  }

  /** After a successful SET_IRQS, replace/close the sinks it superseded. */
  private track(set: IrqSet, flags: number): void {
    const action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
    if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
      for (let i = 0; i < set.count; i++) {
        const key = `${action}:${set.index}:${set.start + i}`;
        this.sinks.get(key)?.close();
        this.sinks.delete(key);
        const s = set.data?.[i];
        if (s instanceof EventfdSink) this.sinks.set(key, s);
      }
    } else if (action === VFIO_IRQ_SET_ACTION_TRIGGER && flags & VFIO_IRQ_SET_DATA_NONE && set.count === 0) {
      // count 0 + DATA_NONE + TRIGGER disables the whole index.
      for (const [key, s] of this.sinks) {
        if (key.split(':')[1] === String(set.index)) {
          s.close();
          this.sinks.delete(key);
        }
      }
    }
  }

  private access(p: Buffer, name: string): { pos: number; region: number; offset: bigint; count: number } {
    need(p, SIZE.REGION_ACCESS, name);
    const offset = p.readBigUInt64LE(0);
    const region = p.readUInt32LE(8);
    const count = p.readUInt32LE(12);
    if (region > MAX_REGION_INDEX) fail('EINVAL', `region index ${region} does not exist`);
    if (offset > BigInt(VFIO_PCI_OFFSET_MASK)) fail('EINVAL', `offset 0x${offset.toString(16)} is beyond any region`);
    if (count > SERVER_MAX_DATA_XFER) fail('EINVAL', `count ${count} exceeds max_data_xfer_size ${SERVER_MAX_DATA_XFER}`);
    return { pos: regionOffset(region) + Number(offset), region, offset, count };
  }

  /**
   * The hot path, for what a guest's inb/outb becomes: a REGION_READ or
   * REGION_WRITE (also posted: NO_REPLY) of 1, 2 or 4 naturally aligned
   * bytes in the first 4 GiB of a region. `m[0..size)` is the whole raw
   * message (header first); the reply is written at `out[at..]` and its
   * length returned (-1 for a posted write: done, nothing to send).
   * Nothing is allocated. Returns 0, having done nothing, for
   * anything else or if the device refuses the access: handle() then answers
   * it, with the usual errno and log line. The device sees one read()/write()
   * where handle() would call readBytes()/writeBytes() for the same bytes.
   */
  quick(m: Uint8Array, size: number, out: Uint8Array, at: number): number {
    if (!this.negotiated || size < HEADER_SIZE + SIZE.REGION_ACCESS) return 0;
    const command = u16(m, 2);
    const read = command === CMD.REGION_READ;
    if (!read && command !== CMD.REGION_WRITE) return 0;
    // Flags: a plain command, or (a write only) a posted one: QEMU posts BAR
    // writes with NO_REPLY unless x-no-posted-writes is set.
    const flags = u32(m, 8);
    const posted = flags === FLAG_NO_REPLY && !read;
    if (flags !== 0 && !posted) return 0;
    const p = HEADER_SIZE; // the access header: offset u64, region u32, count u32, then data
    if (u32(m, p + 4) !== 0) return 0; // offset >= 4 GiB
    const offset = u32(m, p);
    const region = u32(m, p + 8);
    const count = u32(m, p + 12);
    if (region > MAX_REGION_INDEX || (count !== 1 && count !== 2 && count !== 4) || offset % count !== 0) return 0;
    if (size !== p + SIZE.REGION_ACCESS + (read ? 0 : count)) return 0;
    // Only accesses inside the region as GET_REGION_INFO reports it: then the
    // device call does not fail, and a failure is handled once, by handle()
    // (a VfioDevice decorator such as the recorder sees one failed call).
    if (offset + count > this.regionSize(region)) return 0;
    const pos = regionOffset(region) + offset;
    const data = p + SIZE.REGION_ACCESS;
    let value = 0;
    try {
      if (read) value = this.device.read(pos, count);
      else this.device.write(pos, count, count === 1 ? m[data]! : count === 2 ? u16(m, data) : u32(m, data));
    } catch {
      return 0;
    }
    if (posted) return -1; // done, nothing to send
    const len = data + (read ? count : 0);
    writeHeader(out, at, u16(m, 0), command, len, TYPE_REPLY, 0);
    for (let i = p; i < data; i++) out[at + i] = m[i]!; // offset, region, count echoed
    if (read) for (let i = 0; i < count; i++) out[at + data + i] = (value >>> (8 * i)) & 0xff;
    return len;
  }

  /** The region's size from GET_REGION_INFO, asked once per region (0 if the device refuses). */
  private regionSize(index: number): number {
    let n = this.regionSizes[index];
    if (n === undefined) {
      try {
        n = this.device.getRegionInfo(index).size;
      } catch {
        n = 0;
      }
      this.regionSizes[index] = n;
    }
    return n;
  }

  private regionRead(p: Buffer): Buffer {
    const a = this.access(p, 'REGION_READ');
    if (p.length !== SIZE.REGION_ACCESS) fail('EINVAL', `REGION_READ payload is ${p.length} bytes, expected ${SIZE.REGION_ACCESS}`);
    const data = a.count === 0 ? new Uint8Array(0) : this.device.readBytes(a.pos, a.count);
    const out = Buffer.alloc(SIZE.REGION_ACCESS + data.length);
    out.writeBigUInt64LE(a.offset, 0);
    out.writeUInt32LE(a.region, 8);
    out.writeUInt32LE(data.length, 12);
    out.set(data, SIZE.REGION_ACCESS);
    return out;
  }

  private regionWrite(p: Buffer): Buffer {
    const a = this.access(p, 'REGION_WRITE');
    if (p.length !== SIZE.REGION_ACCESS + a.count) {
      fail('EINVAL', `REGION_WRITE of ${a.count} bytes carried ${p.length - SIZE.REGION_ACCESS} data bytes`);
    }
    const n = a.count === 0 ? 0 : this.device.writeBytes(a.pos, p.subarray(SIZE.REGION_ACCESS));
    const out = Buffer.alloc(SIZE.REGION_ACCESS);
    out.writeBigUInt64LE(a.offset, 0);
    out.writeUInt32LE(a.region, 8);
    out.writeUInt32LE(n >>> 0, 12);
    return out;
  }

  /** REGION_WRITE_MULTI: up to 8 bytes per write, applied in order, stop at the first failure. */
  private regionWriteMulti(p: Buffer): Buffer {
    need(p, 8, 'REGION_WRITE_MULTI');
    const n = p.readBigUInt64LE(0);
    if (BigInt(p.length) !== 8n + n * BigInt(SIZE.WRITE_MULTI_ENTRY)) {
      fail('EINVAL', `REGION_WRITE_MULTI announces ${n} writes but carries ${p.length - 8} bytes`);
    }
    let done = 0;
    for (let i = 0; i < Number(n); i++) {
      const e = p.subarray(8 + i * SIZE.WRITE_MULTI_ENTRY, 8 + (i + 1) * SIZE.WRITE_MULTI_ENTRY);
      const a = this.access(e, 'REGION_WRITE_MULTI');
      if (a.count > 8) fail('EINVAL', `a REGION_WRITE_MULTI entry carries at most 8 bytes, not ${a.count}`);
      if (a.count > 0) this.device.writeBytes(a.pos, e.subarray(16, 16 + a.count));
      done++;
    }
    const out = Buffer.alloc(8);
    out.writeBigUInt64LE(BigInt(done), 0);
    return out;
  }

  private closeFds(fds: readonly number[]): void {
    const n = fds.length ? native() : null;
    for (const fd of fds) {
      try {
        n!.close(fd);
      } catch {
        /* nothing to release */
      }
    }
  }
}

function need(p: Uint8Array, size: number, what: string): void {
  if (p.length < size) fail('EINVAL', `${what} payload is ${p.length} bytes, needs at least ${size}`);
}

function errnoOf(e: unknown): number {
  if (isMttyError(e)) return e.errno;
  if (isNativeError(e) && e.errno > 0) return e.errno;
  return ERRNO.EIO;
}
