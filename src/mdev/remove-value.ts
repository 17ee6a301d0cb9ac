import { fail } from '../errors/errno.js';

/** The largest value kstrtoul accepts on a 64-bit kernel. */
const ULONG_MAX = 2n ** 64n - 1n;

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
  // kstrtoul refuses a value that does not fit in an unsigned long (ERANGE, which remove_store turns into EINVAL).
  const significant = body.replace(/^0+/, '');
  const radix = digits.source.includes('a-f') ? 16 : digits.source.includes('0-7') ? 8 : 10;
  const maxDigits = radix === 16 ? 16 : radix === 8 ? 22 : 20;
  const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : '';
  if (significant.length > maxDigits || (significant !== '' && BigInt(prefix + significant) > ULONG_MAX)) {
    fail('EINVAL', `write 1 to remove the device (0 does nothing); ${JSON.stringify(text)} does not fit in an unsigned long`);
  }
  return significant !== '';
}
