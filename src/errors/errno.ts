/**
 * Kernel errno values and the one error type every public entry point throws.
 *
 * Why one type: a user reproducing mtty compares what we answer with what the
 * kernel answers (`echo ... > create` prints "No space left on device"), so
 * every failure carries the errno name and number the kernel would return,
 * plus a sentence a student can act on.
 */

/** Linux x86-64 errno numbers (asm-generic/errno-base.h, errno.h). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EISDIR: 21,
  EINVAL: 22,
  ENOTTY: 25,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EPROTO: 71,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  ECONNRESET: 104,
  EDQUOT: 122,
} as const;

/** An errno name mtty can fail with ('EINVAL', 'ENOSPC', ...); a key of ERRNO. */
export type ErrnoName = keyof typeof ERRNO;

/** The name of a Linux errno number ("EINVAL" for 22), or undefined for one mtty never uses. */
export function errnoName(errno: number): ErrnoName | undefined {
  return ERRNO_NAMES.get(errno);
}

const ERRNO_NAMES = new Map<number, ErrnoName>((Object.keys(ERRNO) as ErrnoName[]).map((k) => [ERRNO[k], k]));

/** strerror(3) text, as `echo` would print it. */
export const STRERROR: Record<ErrnoName, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENOTTY: 'Inappropriate ioctl for device',
  ENOSPC: 'No space left on device',
  ESPIPE: 'Illegal seek',
  EROFS: 'Read-only file system',
  EPROTO: 'Protocol error',
  EMSGSIZE: 'Message too long',
  EOPNOTSUPP: 'Operation not supported',
  ECONNRESET: 'Connection reset by peer',
  EDQUOT: 'Disk quota exceeded',
};

/** The error thrown (or returned over a socket) by every mtty entry point. */
export class MttyError extends Error {
  readonly code: ErrnoName;
  readonly errno: number;

  constructor(code: ErrnoName, message: string) {
    super(`${code} (${STRERROR[code]}): ${message}`);
    this.name = 'MttyError';
    this.code = code;
    this.errno = ERRNO[code];
  }

  /** A plain object for JSON transports (control socket, vfio-user, lab). */
  toJSON(): { code: ErrnoName; errno: number; message: string } {
    return { code: this.code, errno: this.errno, message: this.message };
  }
}

/** Throw an MttyError; `never` lets TypeScript narrow after a failed check. */
export function fail(code: ErrnoName, message: string): never {
  throw new MttyError(code, message);
}

/** True when `e` is an MttyError (an errno-carrying failure from mtty). */
export function isMttyError(e: unknown): e is MttyError {
  return e instanceof MttyError;
}

/** Rebuild an MttyError received as JSON; anything else becomes EIO. */
export function errorFromJSON(v: unknown): MttyError {
  if (v && typeof v === 'object' && 'code' in v && typeof (v as { code: unknown }).code === 'string') {
    const code = (v as { code: string }).code;
    if (code in ERRNO) {
      const msg = String((v as { message?: unknown }).message ?? '');
      const e = new MttyError(code as ErrnoName, '');
      e.message = msg || e.message;
      return e;
    }
  }
  return new MttyError('EIO', `unexpected error: ${JSON.stringify(v)}`);
}
