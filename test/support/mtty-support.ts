/**
 * Helpers shared by the mdev/vfio/pci/mtty/migration tests (no tests here).
 */
import * as assert from 'uvu/assert';
import { ManualClock } from '../../src/clock/clock.js';
import { isMttyError, type ErrnoName } from '../../src/errors/errno.js';
import { loadMtty, type LoadMttyOptions } from '../../src/mtty/load.js';
import type { IrqSink } from '../../src/vfio/api.js';

/** Assert that fn throws (or its promise rejects with) an MttyError with this errno. */
export async function expectErrno(fn: () => unknown, code: ErrnoName): Promise<void> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error !== undefined, `expected ${code}, but the call succeeded`);
  assert.ok(isMttyError(error), `expected MttyError ${code}, got ${String(error)}`);
  assert.is((error as { code: string }).code, code, String((error as Error).message));
}

/** Synchronous variant for calls that must fail before returning. */
export function expectErrnoSync(fn: () => unknown, code: ErrnoName): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isMttyError(e), `expected MttyError ${code}, got ${String(e)}`);
    assert.is(e.code, code, e.message);
    return;
  }
  assert.unreachable(`expected ${code}, but the call succeeded`);
}

/** An eventfd stand-in that counts signals. */
export class CountingSink implements IrqSink {
  count = 0;
  signal(): void {
    this.count++;
  }
}

/** A fresh mtty on a ManualClock (no real timers in tests). */
export async function freshMtty(opts: LoadMttyOptions = {}) {
  const clock = new ManualClock();
  const mtty = await loadMtty({ clock, ...opts });
  const type1 = mtty.parent.type('mtty-1')!;
  const type2 = mtty.parent.type('mtty-2')!;
  return { ...mtty, clock, type1, type2 };
}

export const DOC_UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
