/**
 * The control protocol: one JSON object per line, both directions.
 *
 *   request  {"id": 1, "op": "create", "args": {"type": "mtty-2"}}
 *   reply    {"id": 1, "ok": true, "result": {"uuid": "..."}}
 *            {"id": 1, "ok": false, "error": {"code": "ENOSPC", "errno": 28, "message": "..."}}
 *
 * Lines keep framing trivial for any client (socat, nc -U, a shell loop) and
 * make a malformed message cost exactly one line: the reply says what was
 * wrong (id null when the line could not be parsed) and the next line is read
 * as if nothing happened.
 */
import { MttyError, type ErrnoName } from '../errors/errno.js';

/** One request line: `{"id": n, "op": "create", "args": {...}}`. */
export interface ControlRequest {
  id: number | string | null;
  op: string;
  args: Record<string, unknown>;
}

/** An error as sent over the socket: errno name, number and the sentence (MttyError.toJSON). */
export interface WireError {
  code: ErrnoName;
  errno: number;
  message: string;
}

/** One reply line: `{"id", "ok": true, "result"}` or `{"id", "ok": false, "error": WireError}`. */
export type ControlReply =
  | { id: number | string | null; ok: true; result: unknown }
  | { id: number | string | null; ok: false; error: WireError };

/** A line longer than this is refused (EMSGSIZE) so one client cannot grow the daemon's memory without bound. */
export const MAX_LINE_BYTES = 1 << 20;

/** Parse one line into a request, or throw the MttyError its reply should carry. */
export function parseRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new MttyError('EINVAL', `malformed JSON request: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new MttyError('EINVAL', 'a request must be a JSON object {"id", "op", "args"}');
  const o = v as Record<string, unknown>;
  const id = o.id === undefined ? null : o.id;
  if (id !== null && typeof id !== 'number' && typeof id !== 'string') throw new MttyError('EINVAL', '"id" must be a number or a string');
  if (typeof o.op !== 'string' || o.op === '') throw new MttyError('EINVAL', '"op" must be a non-empty string');
  const args = o.args === undefined ? {} : o.args;
  if (!args || typeof args !== 'object' || Array.isArray(args)) throw new MttyError('EINVAL', '"args" must be a JSON object');
  return { id, op: o.op, args: args as Record<string, unknown> };
}

/** The id of a line that failed to parse as a request, if it is at least readable. */
export function salvageId(line: string): number | string | null {
  try {
    const v = JSON.parse(line) as { id?: unknown };
    if (v && typeof v === 'object' && (typeof v.id === 'number' || typeof v.id === 'string')) return v.id;
  } catch {
    // not JSON at all
  }
  return null;
}

export function errorReply(id: ControlRequest['id'], e: unknown): ControlReply {
  const err = e instanceof MttyError ? e : new MttyError('EIO', `internal error: ${e instanceof Error ? e.message : String(e)}`);
  return { id, ok: false, error: err.toJSON() };
}

/**
 * Splits a byte stream into lines. Oversized lines are reported once and then
 * skipped up to their newline, so the stream re-synchronises on the next line.
 */
export class LineSplitter {
  private parts: string[] = [];
  private size = 0;
  private skipping = false;

  constructor(
    private onLine: (line: string) => void,
    private onOversize: () => void,
    private max = MAX_LINE_BYTES,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      const piece = nl < 0 ? chunk.slice(start) : chunk.slice(start, nl);
      if (!this.skipping) {
        this.size += piece.length;
        if (this.size > this.max) {
          this.skipping = true;
          this.parts = [];
          this.onOversize();
        } else {
          this.parts.push(piece);
        }
      }
      if (nl < 0) return;
      if (!this.skipping) {
        const line = this.parts.join('').replace(/\r$/, '');
        if (line.trim() !== '') this.onLine(line);
      }
      this.parts = [];
      this.size = 0;
      this.skipping = false;
      start = nl + 1;
    }
  }
}
