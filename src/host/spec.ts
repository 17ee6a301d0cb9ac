/**
 * The text form of a host back-end, as users type it on the command line and
 * the daemon receives it in `host.attach {spec}`:
 *
 *   loopback                      every TX byte comes back on RX (mtty.c's behaviour)
 *   serialport:<path>[,<baud>]    a host serial device; <baud> is the speed it is
 *                                 opened with until the guest programs its divisor
 *   pty[:<link>]                  a new pseudo-terminal; <link> is a stable symlink to it
 *
 * Parsing is separate from opening so that a bad spec is rejected (EINVAL)
 * before anything is spawned or opened, and so the daemon can validate a
 * request without side effects.
 */
import { fail } from '../errors/errno.js';

/**
 * A parsed host back-end spec: `loopback`, `serialport:<path>[,<baud>]` (baud in bit/s), `pty[:<link>]`.
 */
export type BackendSpec =
  | { kind: 'loopback' }
  | { kind: 'serialport'; path: string; baud?: number }
  | { kind: 'pty'; link?: string };

/** The kind of a back-end: 'loopback' | 'serialport' | 'pty'. */
export type BackendKind = BackendSpec['kind'];

/** Speeds outside this range are not UART speeds any host driver accepts. */
const MIN_BAUD = 50;
const MAX_BAUD = 4_000_000;

/**
 * Parse a back-end spec (see BackendSpec) without opening anything; EINVAL names what is wrong
 * (unknown kind, empty path, baud outside 50..4000000).
 */
export function parseSpec(spec: unknown): BackendSpec {
  if (typeof spec !== 'string' || spec.trim() === '') {
    fail('EINVAL', `host spec must be a non-empty string (loopback, serialport:<path>[,baud], pty[:<link>]); got ${JSON.stringify(spec)}`);
  }
  const text = spec.trim();
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? undefined : text.slice(colon + 1);

  switch (kind) {
    case 'loopback':
      if (rest !== undefined) fail('EINVAL', `'loopback' takes no argument (got '${text}')`);
      return { kind: 'loopback' };

    case 'serialport': {
      if (!rest) fail('EINVAL', `'serialport' needs a device path: serialport:/dev/ttyUSB0[,115200]`);
      // The path is everything before the last comma only when what follows is a number:
      // device paths may legitimately contain commas (by-id names rarely do, but be exact).
      const comma = rest.lastIndexOf(',');
      let path = rest;
      let baud: number | undefined;
      if (comma >= 0) {
        const tail = rest.slice(comma + 1);
        if (!/^\d+$/.test(tail)) fail('EINVAL', `serialport baud must be a decimal number, got '${tail}' in '${text}'`);
        baud = Number(tail);
        path = rest.slice(0, comma);
        if (baud < MIN_BAUD || baud > MAX_BAUD) fail('EINVAL', `serialport baud ${baud} is outside ${MIN_BAUD}..${MAX_BAUD}`);
      }
      if (path === '') fail('EINVAL', `'serialport' needs a device path before the baud in '${text}'`);
      return baud === undefined ? { kind: 'serialport', path } : { kind: 'serialport', path, baud };
    }

    case 'pty':
      if (rest === undefined) return { kind: 'pty' };
      // A relative link would depend on the daemon's cwd, which the user cannot see.
      if (!rest.startsWith('/')) fail('EINVAL', `pty link must be an absolute path (pty:/tmp/ttyMTTY0), got '${rest}'`);
      if (rest.endsWith('/')) fail('EINVAL', `pty link must name a file, not a directory: '${rest}'`);
      // The link is passed inside a socat address, where , : ! " ' \ and spaces are syntax.
      if (!/^\/[\w.\/+@-]+$/.test(rest)) fail('EINVAL', `pty link may only use letters, digits and . / _ + @ - (got '${rest}')`);
      return { kind: 'pty', link: rest };

    default:
      fail('EINVAL', `unknown host back-end '${kind}' in '${text}' (expected loopback, serialport:<path>[,baud] or pty[:<link>])`);
  }
}

/** The canonical text of a parsed spec (status output, idempotent re-attach checks). */
export function formatSpec(s: BackendSpec): string {
  switch (s.kind) {
    case 'loopback':
      return 'loopback';
    case 'serialport':
      return `serialport:${s.path}${s.baud === undefined ? '' : `,${s.baud}`}`;
    case 'pty':
      return s.link ? `pty:${s.link}` : 'pty';
  }
}
