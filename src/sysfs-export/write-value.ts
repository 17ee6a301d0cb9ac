/**
 * Deciding when a value written into an exported attribute file is complete.
 * A regular file has no write(2) boundary we can see: inotify tells us the
 * file changed, and we read whatever is there. O_TRUNC shows up as an empty
 * file first; a writer using several write() calls may show a prefix.
 */

/** True when `text` already reads as a whole value for attribute `name`. */
export function looksComplete(name: string, text: string): boolean {
  if (text === '') return false;
  if (text.endsWith('\n')) return true;
  // A UUID written without a newline (mdevctl does this) is 36 characters; anything longer is surely done.
  if (name === 'create') return text.length >= 36;
  // remove: "1" is whole; a bare "0" could be the start of "0x1", so wait a moment for it.
  if (name === 'remove') return text !== '0';
  return true;
}

/** How long a value that does not look complete may sit before it is used as it stands. */
export const PARTIAL_WRITE_GRACE_MS = 50;

/** At most this many characters of a written value go into a log line (a page, as kernfs takes per write). */
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
