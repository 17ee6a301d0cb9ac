import { v4 as uuidv4 } from 'uuid';
import { fail } from '../errors/errno.js';

/**
 * The UUID check mdev's `create` attribute applies (create_store + guid_parse
 * + uuid_is_valid in the kernel), not RFC 4122 validation: version and
 * variant nibbles are not checked, so the kernel doc's own example
 * 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001 (variant nibble 3) is accepted, while
 * the `uuid` package's validate() would reject it.
 */

const UUID_STRING_LEN = 36;
const DASH_POSITIONS = new Set([8, 13, 18, 23]);

/**
 * Check text written to `create` and return the device name (lower case,
 * as the kernel prints it with %pUl).
 *
 * Length is counted in bytes like write(2): 36, or 37 for `echo`'s trailing
 * newline. Like the kernel, only the first 36 bytes are inspected, so the
 * 37th byte may be anything.
 */
export function parseMdevUuid(text: string): string {
  if (typeof text !== 'string') fail('EINVAL', `a UUID must be text, not ${typeof text}`);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes < UUID_STRING_LEN || bytes > UUID_STRING_LEN + 1) {
    fail('EINVAL', `a UUID is 36 characters (37 with a trailing newline); got ${bytes} bytes`);
  }
  return checkUuidChars(text);
}

/**
 * An mdev UUID used as a name (a CLI argument, a definition's file name, a
 * JSON field): exactly the 36 characters, no newline; the same character
 * check as `create`. Returns it in lower case; EINVAL otherwise.
 */
export function mdevUuid(value: unknown): string {
  if (typeof value !== 'string' || value.length !== UUID_STRING_LEN) {
    fail('EINVAL', `not a UUID (8-4-4-4-12 hex digits): ${JSON.stringify(value)}`);
  }
  return checkUuidChars(value);
}

/** True when `text` is exactly a 36-character UUID as mdevUuid() accepts it (no errors thrown). */
export function isMdevUuid(text: string): boolean {
  return text.length === UUID_STRING_LEN && UUID_SHAPE.test(text);
}

const UUID_SHAPE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** guid_parse's check of the first 36 characters; returns them in lower case. */
function checkUuidChars(text: string): string {
  for (let i = 0; i < UUID_STRING_LEN; i++) {
    const ch = text[i];
    if (DASH_POSITIONS.has(i)) {
      if (ch !== '-') fail('EINVAL', `character ${i + 1} of a UUID must be '-' (8-4-4-4-12 hex digits)`);
    } else if (!isHexDigit(text.charCodeAt(i))) {
      fail('EINVAL', `character ${i + 1} of the UUID, ${JSON.stringify(ch)}, is not a hex digit`);
    }
  }
  return text.slice(0, UUID_STRING_LEN).toLowerCase();
}

/** A fresh UUID for `create` without one (what mdevctl start does): random, version 4. */
export function generateMdevUuid(): string {
  return uuidv4();
}
