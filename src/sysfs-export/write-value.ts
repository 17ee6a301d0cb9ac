/**
 * Cutting the byte stream written into an exported write-only attribute
 * (a FIFO in the plain mirror, see attr-watcher.ts) into the values writers
 * meant. Each writer's write(2) of up to PIPE_BUF (4096) bytes lands in the
 * pipe whole and unmixed with others, but one read may return several writes
 * back to back: `echo UUID` ends its value with a newline, mdevctl writes the
 * bare 36-character UUID, so both are recognised.
 */

/** kernfs hands a store at most a page; a longer value is cut here too (and refused by the store). */
export const MAX_VALUE_BYTES = 4096;

/** How long a value that does not look complete (no newline) may wait for the rest. */
export const PARTIAL_WRITE_GRACE_MS = 50;

const UUID_AT_START = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/**
 * The next whole value at the start of `pending` for attribute `name`
 * ('create', 'remove'), and what is left after it; null when more bytes may
 * still belong to it (the caller waits PARTIAL_WRITE_GRACE_MS, then calls
 * again with `quiet` true, and gets whatever is there as one value).
 * `overlong` is set when the value was cut at MAX_VALUE_BYTES: the caller drops
 * the rest of that value up to its newline or until every writer has closed.
 */
export function splitValue(name: string, pending: string, quiet: boolean): { value: string; rest: string; overlong: boolean } | null {
  if (pending === '') return null;
  if (name === 'create') {
    const m = UUID_AT_START.exec(pending);
    if (m) {
      const n = m[0].length + (pending[m[0].length] === '\n' ? 1 : 0);
      return { value: pending.slice(0, n), rest: pending.slice(n), overlong: false };
    }
  }
  const nl = pending.indexOf('\n');
  if (nl >= 0 && nl < MAX_VALUE_BYTES) return { value: pending.slice(0, nl + 1), rest: pending.slice(nl + 1), overlong: false };
  if (pending.length >= MAX_VALUE_BYTES) return { value: pending.slice(0, MAX_VALUE_BYTES), rest: pending.slice(MAX_VALUE_BYTES), overlong: true };
  // remove: "1" (mdevctl writes no newline) is whole; a bare "0" could be the start of "0x1".
  if (quiet || (name === 'remove' && pending !== '0')) return { value: pending, rest: '', overlong: false };
  return null;
}

/** At most this many characters of a written value go into a log line. */
export const LOGGED_VALUE_CHARS = 80;

/**
 * A written value as it appears in the daemon's log: JSON-quoted, cut to
 * LOGGED_VALUE_CHARS with the full length noted, so a 100 MB write costs
 * one short line, not 100 MB of log.
 */
export function valueForLog(text: string): string {
  if (text.length <= LOGGED_VALUE_CHARS) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, LOGGED_VALUE_CHARS))}... (${text.length} characters)`;
}
