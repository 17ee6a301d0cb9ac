/**
 * VFIO_USER_VERSION payloads: major/minor plus an optional NUL-terminated
 * UTF-8 JSON object {"capabilities": {...}}.
 *
 * Both sides use this file: the server parses what the client proposes and
 * builds its answer; the client builds its proposal (QEMU's, by default) and
 * parses the answer. QEMU rejects a reply whose JSON is not NUL-terminated,
 * so `encodeVersion` always appends the NUL.
 */
import { fail } from '../errors/errno.js';
import {
  DEFAULT_MAX_DATA_XFER,
  DEFAULT_MAX_MSG_FDS,
  SERVER_MAX_DATA_XFER,
  SERVER_MAX_MSG_FDS,
  SIZE,
} from './protocol.js';

export interface Capabilities {
  max_msg_fds?: number;
  max_data_xfer_size?: number;
  max_dma_maps?: number;
  pgsizes?: number;
  write_multiple?: boolean;
  twin_socket?: { supported?: boolean; fd_index?: number };
  migration?: Record<string, unknown>;
  [other: string]: unknown;
}

export interface VersionPayload {
  major: number;
  minor: number;
  capabilities: Capabilities;
}

export function encodeVersion(v: VersionPayload): Buffer {
  const json = Buffer.from(JSON.stringify({ capabilities: v.capabilities }) + '\0', 'utf8');
  const out = Buffer.alloc(SIZE.VERSION_MIN + json.length);
  out.writeUInt16LE(v.major, 0);
  out.writeUInt16LE(v.minor, 2);
  json.copy(out, SIZE.VERSION_MIN);
  return out;
}

/** Parse a VERSION payload; EINVAL for a short payload or malformed JSON. */
export function decodeVersion(p: Uint8Array): VersionPayload {
  if (p.length < SIZE.VERSION_MIN) fail('EINVAL', `VERSION payload is ${p.length} bytes, needs at least ${SIZE.VERSION_MIN}`);
  const b = Buffer.from(p.buffer, p.byteOffset, p.length);
  const major = b.readUInt16LE(0);
  const minor = b.readUInt16LE(2);
  let text = b.subarray(SIZE.VERSION_MIN).toString('utf8');
  const nul = text.indexOf('\0');
  if (nul >= 0) text = text.slice(0, nul);
  if (text.trim() === '') return { major, minor, capabilities: {} };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail('EINVAL', `VERSION capabilities are not valid JSON (${(e as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) fail('EINVAL', 'VERSION data must be a JSON object');
  const caps = (doc as { capabilities?: unknown }).capabilities ?? {};
  if (!caps || typeof caps !== 'object' || Array.isArray(caps)) fail('EINVAL', '"capabilities" must be a JSON object');
  const c = caps as Capabilities;
  for (const k of ['max_msg_fds', 'max_data_xfer_size', 'max_dma_maps', 'pgsizes'] as const) {
    if (c[k] !== undefined && (typeof c[k] !== 'number' || !Number.isSafeInteger(c[k]) || (c[k] as number) < 0)) {
      fail('EINVAL', `capability ${k} must be a non-negative integer`);
    }
  }
  if (c.write_multiple !== undefined && typeof c.write_multiple !== 'boolean') fail('EINVAL', 'capability write_multiple must be a boolean');
  return { major, minor, capabilities: c };
}

/** What a peer's capabilities mean for us, with the spec's defaults filled in. */
export interface PeerLimits {
  maxMsgFds: number;
  maxDataXfer: number;
  writeMultiple: boolean;
}

export function peerLimits(c: Capabilities): PeerLimits {
  return {
    maxMsgFds: c.max_msg_fds ?? DEFAULT_MAX_MSG_FDS,
    maxDataXfer: c.max_data_xfer_size ?? DEFAULT_MAX_DATA_XFER,
    writeMultiple: c.write_multiple === true,
  };
}

/**
 * The server's answer: our own receive limits; no migration (mtty's
 * migration stream is reachable through the library, not over vfio-user yet)
 * and no twin socket (the server never sends requests, since mtty does no DMA).
 *
 * write_multiple is never announced, even when the client offers it (we still
 * serve REGION_WRITE_MULTI if a client sends one). QEMU 10.1/10.2 turn that
 * capability into `proxy->flags |= VFIO_PROXY_USE_MULTI`, defined as 0x16 in
 * hw/vfio-user/proxy.h: the bits 0x2 and 0x4 come with it, and 0x4 is
 * VFIO_PROXY_FORCE_QUEUED, so every request the vCPU thread makes is queued
 * and sent by QEMU's "VFIO user" iothread instead of inline: a thread wake-up
 * more per guest access (strace: no sendmsg on the vCPU thread, an eventfd kick
 * of the iothread, a ppoll for POLLOUT, then sendmsg). libvfio-user does not
 * announce it either. QEMU only coalesces posted writes into WRITE_MULTI past
 * 1024 queued messages (VFIO_USER_OUT_HIGH), so nothing is lost by not
 * announcing it. Measured in docs/vfio-user.md section 7.
 * `proposed` is the client's VERSION capabilities (kept for the signature;
 * nothing it offers is echoed today).
 */
export function serverCapabilities(_proposed: Capabilities): Capabilities {
  return { max_msg_fds: SERVER_MAX_MSG_FDS, max_data_xfer_size: SERVER_MAX_DATA_XFER };
}

/**
 * What QEMU (hw/vfio-user/proxy.c caps_json) proposes, so our client
 * exercises the server exactly as QEMU's first message does.
 */
export function qemuCapabilities(): Capabilities {
  return {
    migration: { pgsize: 4096, max_bitmap_size: 256 * 1024 * 1024 },
    max_msg_fds: 16,
    max_data_xfer_size: 1 << 20,
    pgsizes: 4096,
    max_dma_maps: 65535,
    write_multiple: true,
  };
}
