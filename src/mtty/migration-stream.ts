import { fail } from '../errors/errno.js';

/**
 * The kernel sample's migration stream (struct mtty_data, little-endian as
 * on x86): a 24-byte header, then one 36-byte struct serial_port per port.
 * Byte-exact, so a stream saved here could be fed to a real mtty and back.
 */
export const MTTY_MAGIC = 0x7e9d09898c3e2c4en;
export const MTTY_MAJOR = 1;
export const MTTY_MINOR = 0;
export const MTTY_HEADER_SIZE = 24;
export const MTTY_PORT_RECORD_SIZE = 36;

export interface MttyStreamHeader {
  magic: bigint;
  major: number;
  minor: number;
  nrPorts: number;
  flags: number;
}

export function mttyStreamSize(nrPorts: number): number {
  return MTTY_HEADER_SIZE + MTTY_PORT_RECORD_SIZE * nrPorts;
}

export function encodeMttyHeader(nrPorts: number): Uint8Array {
  const b = new Uint8Array(MTTY_HEADER_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, MTTY_MAGIC, true);
  v.setUint32(8, MTTY_MAJOR, true);
  v.setUint32(12, MTTY_MINOR, true);
  v.setUint32(16, nrPorts, true);
  v.setUint32(20, 0, true);
  return b;
}

export function decodeMttyHeader(b: Uint8Array): MttyStreamHeader {
  if (b.length < MTTY_HEADER_SIZE) fail('EINVAL', `an mtty stream header is ${MTTY_HEADER_SIZE} bytes; got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, MTTY_HEADER_SIZE);
  return {
    magic: v.getBigUint64(0, true),
    major: v.getUint32(8, true),
    minor: v.getUint32(12, true),
    nrPorts: v.getUint32(16, true),
    flags: v.getUint32(20, true),
  };
}

/** Why a header cannot be loaded into a device with `nrPorts` ports, or null if it can. */
export function headerMismatch(h: MttyStreamHeader, nrPorts: number): string | null {
  if (h.magic !== MTTY_MAGIC) return `the stream does not start with mtty's magic 0x${MTTY_MAGIC.toString(16)}`;
  if (h.major !== MTTY_MAJOR || h.minor !== MTTY_MINOR) {
    return `stream version ${h.major}.${h.minor} is not ${MTTY_MAJOR}.${MTTY_MINOR}`;
  }
  if (h.flags !== 0) return `stream flags 0x${h.flags.toString(16)} are not 0`;
  if (h.nrPorts !== nrPorts) return `the stream has ${h.nrPorts} port(s) but this device has ${nrPorts}`;
  return null;
}

/** A whole stream: header + records. */
export function encodeMttyStream(records: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(mttyStreamSize(records.length));
  out.set(encodeMttyHeader(records.length), 0);
  records.forEach((r, i) => {
    if (r.length !== MTTY_PORT_RECORD_SIZE) fail('EIO', `a port record must be ${MTTY_PORT_RECORD_SIZE} bytes, the UART gave ${r.length}`);
    out.set(r, MTTY_HEADER_SIZE + i * MTTY_PORT_RECORD_SIZE);
  });
  return out;
}

/** Split a whole stream for a device with `nrPorts` ports; EINVAL with the reason when it does not fit. */
export function decodeMttyStream(b: Uint8Array, nrPorts: number): Uint8Array[] {
  if (!(b instanceof Uint8Array)) fail('EINVAL', 'an mtty stream must be a Uint8Array');
  if (b.length !== mttyStreamSize(nrPorts)) {
    fail('EINVAL', `an mtty stream for ${nrPorts} port(s) is ${mttyStreamSize(nrPorts)} bytes; got ${b.length}`);
  }
  const why = headerMismatch(decodeMttyHeader(b), nrPorts);
  if (why) fail('EINVAL', why);
  const records: Uint8Array[] = [];
  for (let i = 0; i < nrPorts; i++) {
    const at = MTTY_HEADER_SIZE + i * MTTY_PORT_RECORD_SIZE;
    records.push(b.slice(at, at + MTTY_PORT_RECORD_SIZE));
  }
  return records;
}
