/**
 * Which file a lab URL maps to, or why none does. Separate from the HTTP
 * server so the traversal rules can be read (and tested) on their own: the
 * server hands out files from the build output only, and a path like
 * /../../etc/passwd or /%2e%2e/package.json must never escape it.
 */
import path from 'node:path';

export type Resolved = { ok: true; file: string; type: string } | { ok: false; status: 400 | 404; reason: string };

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.trace': 'text/plain; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

/** Map a request path ("/app.js?x=1") to a file under `root`. */
export function resolveStatic(root: string, urlPath: string): Resolved {
  const pathname = urlPath.split(/[?#]/, 1)[0] || '/';
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return { ok: false, status: 400, reason: 'bad percent-encoding' };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { ok: false, status: 400, reason: 'bad character in path' };
  // Refuse any dot-dot segment outright instead of normalising it away: a
  // request that tries to climb is never a page asset.
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return { ok: false, status: 400, reason: 'path traversal refused' };
  const rel = decoded.endsWith('/') ? decoded + 'index.html' : decoded;
  const rootAbs = path.resolve(root);
  const file = path.resolve(rootAbs, '.' + rel);
  if (file !== rootAbs && !file.startsWith(rootAbs + path.sep)) return { ok: false, status: 400, reason: 'path traversal refused' };
  const type = TYPES[path.extname(file).toLowerCase()];
  if (!type) return { ok: false, status: 404, reason: 'not a lab asset' };
  return { ok: true, file, type };
}
