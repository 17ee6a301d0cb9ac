/**
 * The vfio-user wire format (QEMU docs/interop/vfio-user.rst): command
 * numbers, header flags, fixed payload sizes and the 16-byte header codec.
 *
 * Kept apart from the server and client so both read the same numbers a
 * student finds in the spec's tables. All integers are little-endian
 * ("host endianness" in the spec; every host mtty targets is x86-64/arm64 LE).
 */

/** Commands (spec table "Commands"). */
export const CMD = {
  VERSION: 1,
  DMA_MAP: 2,
  DMA_UNMAP: 3,
  DEVICE_GET_INFO: 4,
  DEVICE_GET_REGION_INFO: 5,
  DEVICE_GET_REGION_IO_FDS: 6,
  DEVICE_GET_IRQ_INFO: 7,
  DEVICE_SET_IRQS: 8,
  REGION_READ: 9,
  REGION_WRITE: 10,
  DMA_READ: 11,
  DMA_WRITE: 12,
  DEVICE_RESET: 13,
  REGION_WRITE_MULTI: 15,
  DEVICE_FEATURE: 16,
  MIG_DATA_READ: 17,
  MIG_DATA_WRITE: 18,
} as const;

export type CommandName = keyof typeof CMD;

/** Name of a command number, for logs and error messages. */
export function commandName(cmd: number): string {
  for (const [name, n] of Object.entries(CMD)) if (n === cmd) return name;
  return `command ${cmd}`;
}

/** Header flags: bits 0-3 type, bit 4 no-reply, bit 5 error. */
export const FLAG_TYPE_MASK = 0xf;
export const TYPE_COMMAND = 0x0;
export const TYPE_REPLY = 0x1;
export const FLAG_NO_REPLY = 0x10;
export const FLAG_ERROR = 0x20;

export const HEADER_SIZE = 16;

/** The protocol version QEMU (>= 10.1) and libvfio-user speak: 0.0. */
export const VERSION_MAJOR = 0;
export const VERSION_MINOR = 0;

/**
 * Our limits, advertised in the VERSION reply. max_data_xfer_size is the
 * spec's default (1 MiB); mtty's regions are at most 255 bytes, so nothing
 * legitimate comes near it. max_msg_fds: QEMU's default (8) is plenty (mtty
 * takes at most one eventfd per SET_IRQS) and stays under QEMU's cap of 16.
 */
export const SERVER_MAX_DATA_XFER = 1 << 20;
export const SERVER_MAX_MSG_FDS = 8;
/** Spec defaults when a peer does not say. */
export const DEFAULT_MAX_DATA_XFER = 1 << 20;
export const DEFAULT_MAX_MSG_FDS = 1;

/**
 * Largest message we accept: a REGION_WRITE of max_data_xfer_size bytes plus
 * its 16-byte access header, plus slack for a VERSION JSON. Anything larger
 * is treated as a broken stream (error reply, then disconnect) rather than
 * buffered: a size field of 4 GiB must not make us allocate 4 GiB.
 */
export const MAX_MESSAGE_SIZE = HEADER_SIZE + 16 + SERVER_MAX_DATA_XFER + 4096;

/** Fixed payload sizes (bytes after the header). */
export const SIZE = {
  VERSION_MIN: 4, // major, minor; JSON optional
  DMA_MAP: 32,
  DMA_UNMAP: 24,
  DEVICE_INFO: 16,
  REGION_INFO: 32,
  IRQ_INFO: 16,
  IRQ_SET: 20,
  REGION_ACCESS: 16, // offset u64, region u32, count u32 (data follows)
  WRITE_MULTI_ENTRY: 24, // offset u64, region u32, count u32, data[8]
} as const;

export interface Header {
  id: number;
  command: number;
  size: number;
  flags: number;
  error: number;
}

/** Little-endian u16 at `at` (byte arithmetic: no DataView or Buffer method on the hot path). */
export function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

/** Little-endian u32 at `at`. */
export function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

export function decodeHeader(b: Uint8Array): Header {
  return { id: u16(b, 0), command: u16(b, 2), size: u32(b, 4), flags: u32(b, 8), error: u32(b, 12) };
}

/**
 * Write a 16-byte header at `out[at..]`, in place (scalars, not a Header
 * object: the hot paths build messages in reused buffers, allocating nothing).
 */
export function writeHeader(out: Uint8Array, at: number, id: number, command: number, size: number, flags: number, error: number): void {
  out[at] = id & 0xff;
  out[at + 1] = (id >>> 8) & 0xff;
  out[at + 2] = command & 0xff;
  out[at + 3] = (command >>> 8) & 0xff;
  put32(out, at + 4, size);
  put32(out, at + 8, flags);
  put32(out, at + 12, error);
}

/** A whole message: header (size filled in) followed by `payload`. */
export function encodeMessage(h: Omit<Header, 'size'>, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  writeHeader(out, 0, h.id, h.command, out.length, h.flags, h.error);
  out.set(payload, HEADER_SIZE);
  return out;
}

export function isReply(h: Header): boolean {
  return (h.flags & FLAG_TYPE_MASK) === TYPE_REPLY;
}

/** One received message: header, payload bytes and the fds that came with it. */
export interface Message {
  header: Header;
  payload: Buffer;
  fds: number[];
  /** The peer sent more fds than we accept; the kernel closed the rest. */
  fdsTruncated: boolean;
}
