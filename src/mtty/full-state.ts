import { fail } from '../errors/errno.js';
import { MTTY_CONFIG_SPACE_SIZE } from '../pci/mtty-config-image.js';

/**
 * The full saved-state container (our own format, not the kernel's): the
 * kernel stream carries only the 36-byte record per port, which cannot hold
 * everything a 16550 model keeps (timer state, THR shift register...). This
 * keeps each Uart's own versioned saveState() blob and the config space.
 *
 *   0  "MTTYSNAP"   8  u32 version (1)   12 u32 nr_ports
 *   16 config space (255 bytes)           271 per port: u32 length, blob
 */
const MAGIC = 'MTTYSNAP';
const VERSION = 1;
const FIXED = 16 + MTTY_CONFIG_SPACE_SIZE;

export function encodeFullState(config: Uint8Array, uarts: Uint8Array[]): Uint8Array {
  const size = FIXED + uarts.reduce((n, u) => n + 4 + u.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
  v.setUint32(8, VERSION, true);
  v.setUint32(12, uarts.length, true);
  out.set(config, 16);
  let at = FIXED;
  for (const u of uarts) {
    v.setUint32(at, u.length, true);
    out.set(u, at + 4);
    at += 4 + u.length;
  }
  return out;
}

export function decodeFullState(b: Uint8Array, nrPorts: number): { config: Uint8Array; uarts: Uint8Array[] } {
  if (!(b instanceof Uint8Array) || b.length < FIXED) fail('EINVAL', 'this is not an mtty full state (too short)');
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < MAGIC.length; i++) {
    if (b[i] !== MAGIC.charCodeAt(i)) fail('EINVAL', 'this is not an mtty full state (bad magic)');
  }
  if (v.getUint32(8, true) !== VERSION) fail('EINVAL', `full state version ${v.getUint32(8, true)} is not ${VERSION}`);
  const n = v.getUint32(12, true);
  if (n !== nrPorts) fail('EINVAL', `the full state has ${n} port(s) but this device has ${nrPorts}`);
  const uarts: Uint8Array[] = [];
  let at = FIXED;
  for (let i = 0; i < n; i++) {
    if (at + 4 > b.length) fail('EINVAL', 'the full state is truncated');
    const len = v.getUint32(at, true);
    if (at + 4 + len > b.length) fail('EINVAL', 'the full state is truncated');
    uarts.push(b.slice(at + 4, at + 4 + len));
    at += 4 + len;
  }
  if (at !== b.length) fail('EINVAL', 'the full state has trailing bytes');
  return { config: b.slice(16, FIXED), uarts };
}
