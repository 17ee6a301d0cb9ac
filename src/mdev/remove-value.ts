import { fail } from '../errors/errno.js';

/**
 * Parse what was written to an mdev's `remove` file the way the kernel does
 * (kstrtoul with base 0): optional '+', then "0x"/"0X" hex, a leading "0"
 * octal, or decimal, and at most one trailing newline. Returns true when the
 * value is non-zero (remove), false for zero (accepted, nothing happens).
 */
export function parseRemoveValue(text: string): boolean {
  if (typeof text !== 'string') fail('EINVAL', `write 1 to remove the device; got ${typeof text}`);
  let s = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (s.startsWith('+')) s = s.slice(1);
  let digits: RegExp;
  let body: string;
  if (/^0[xX][0-9a-fA-F]/.test(s)) {
    digits = /^[0-9a-fA-F]+$/;
    body = s.slice(2);
  } else if (s.startsWith('0')) {
    digits = /^[0-7]+$/;
    body = s;
  } else {
    digits = /^[0-9]+$/;
    body = s;
  }
  if (!digits.test(body)) {
    fail('EINVAL', `write 1 to remove the device (0 does nothing); ${JSON.stringify(text)} is not a number`);
  }
  // Any non-zero digit means "non-zero"; no need to build the (possibly huge) number.
  return /[1-9a-fA-F]/.test(body);
}
