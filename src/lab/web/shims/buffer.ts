/**
 * Browser stand-in for the Node `Buffer` global, injected by the build
 * (esbuild `inject`) into every module of the page. The shared model code uses
 * Buffer for byte counts (sysfs writes return bytes written) and small byte
 * arrays; this covers those calls with Uint8Array so no Node polyfill is
 * shipped to the page.
 */
const encoder = new TextEncoder();

function toBytes(v: string | ArrayLike<number> | ArrayBuffer, encoding?: string): Uint8Array {
  if (typeof v === 'string') {
    switch (encoding ?? 'utf8') {
      case 'utf8':
      case 'utf-8':
        return encoder.encode(v);
      case 'base64': // recordings carry UART snapshots in base64 (src/replay/trace.ts)
        return Uint8Array.from(atob(v), (c) => c.charCodeAt(0));
      case 'hex':
        return Uint8Array.from(v.match(/../g) ?? [], (h) => parseInt(h, 16));
      default:
        // Better a loud failure than bytes silently decoded the wrong way.
        throw new Error(`Buffer shim: encoding '${encoding}' is not supported in the browser`);
    }
  }
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return Uint8Array.from(v);
}

export const Buffer = {
  byteLength(v: string | ArrayBufferView | ArrayBuffer): number {
    if (typeof v === 'string') return encoder.encode(v).length;
    return v.byteLength;
  },
  from(v: string | ArrayLike<number> | ArrayBuffer, encoding?: string): Uint8Array {
    return toBytes(v, encoding);
  },
  alloc(n: number): Uint8Array {
    return new Uint8Array(n);
  },
  concat(parts: readonly Uint8Array[]): Uint8Array {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  },
  isBuffer(v: unknown): boolean {
    return v instanceof Uint8Array;
  },
};
