/**
 * `mtty lab`'s HTTP server: hands the built page (dist/lab: HTML, bundle,
 * CSS, uart.wasm) to a browser on this machine. Everything the page does
 * (mdev, mtty, the UART) runs in the browser; the server only serves files,
 * so it has no API to protect beyond the file rules in static-files.ts.
 *
 * Bound to loopback only: the lab is a classroom tool for the machine in
 * front of the projector, and the Host check below stops a web page from
 * another origin reaching it through DNS rebinding.
 */
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { fail } from '../errors/errno.js';
import { resolveStatic } from './static-files.js';

export interface LabServerOptions {
  /** 0 = an ephemeral port (tests). */
  port?: number;
  host?: string;
  /** Directory holding index.html and the bundle; default: dist/lab next to this compiled file. */
  root?: string;
}

export interface LabServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** dist/src/lab/server.js -> dist/lab/ */
export const DEFAULT_LAB_ROOT = fileURLToPath(new URL('../../lab/', import.meta.url));

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Headers every answer carries: no caching (a rebuilt lab shows at once), a tight CSP. */
const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // 'wasm-unsafe-eval' is what WebAssembly.instantiate needs; nothing is loaded from elsewhere.
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
};

function hostAllowed(header: string | undefined, port: number): boolean {
  if (!header) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(header);
  if (!m) return false;
  const name = m[1].replace(/^\[|\]$/g, '');
  return isLoopbackHost(name) && (m[2] === undefined || Number(m[2]) === port);
}

export async function startLabServer(opts: LabServerOptions = {}): Promise<LabServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) fail('EACCES', `the lab only listens on loopback (127.0.0.1, ::1), not ${host}`);
  const root = opts.root ?? DEFAULT_LAB_ROOT;
  let boundPort = 0;

  const server = http.createServer(async (req, res) => {
    const send = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(405, 'method not allowed\n');
    }
    if (!hostAllowed(req.headers.host, boundPort)) return send(403, 'the lab answers on loopback addresses only\n');
    const r = resolveStatic(root, req.url ?? '/');
    if (!r.ok) return send(r.status, `${r.reason}\n`);
    try {
      send(200, await readFile(r.file), r.type);
    } catch {
      send(404, 'not found\n');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  boundPort = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${boundPort}/`,
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
