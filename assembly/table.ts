/**
 * The handle table: every port of the process lives in one wasm instance, in
 * fixed-size slots laid end to end after the static data. A handle is the
 * 1-based slot number, so 0 is never valid (a zeroed JS field cannot alias a
 * port). Freed slots are chained through S_NEXTFREE and reused first, so
 * create/dispose cycles do not grow memory; memory only grows (doubling) when
 * the high-water mark passes what is mapped.
 */
import { PORT_SIZE, PORT_SHIFT, S_FLAGS, S_NEXTFREE, FLAG_INUSE } from './layout';

/** Shared scratch buffer for batched calls and snapshots (JS views it through memory.buffer). */
export const IO_SIZE: u32 = 4096;
export const IO: usize = memory.data(4096, 16);

let base: usize = 0;
let highWater: u32 = 0; // handles 1..highWater have been issued at least once
let freeHead: u32 = 0; // 0 = free list empty
let liveCount: u32 = 0;

// @ts-ignore: decorator
@inline
export function slot(h: u32): usize {
  return base + (<usize>(h - 1) << PORT_SHIFT);
}

/** A handle names a live port (h - 1 wraps for 0, so one compare covers both ends). */
// @ts-ignore: decorator
@inline
export function valid(h: u32): bool {
  return h - 1 < highWater && (load<u8>(slot(h) + S_FLAGS) & FLAG_INUSE) != 0;
}

/** Reserve a zeroed slot marked in use; 0 if memory cannot grow. */
export function allocSlot(): u32 {
  if (base == 0) base = (__heap_base + 15) & ~(<usize>15);
  let h: u32;
  if (freeHead != 0) {
    h = freeHead;
    freeHead = load<u32>(slot(h) + S_NEXTFREE);
  } else {
    h = highWater + 1;
    const end = slot(h) + PORT_SIZE;
    const mapped = <usize>memory.size() << 16;
    if (end > mapped) {
      const need = <i32>((end - mapped + 0xffff) >> 16);
      // Double to keep growth (and JS view re-creation) rare; fall back to the minimum.
      const want = max(need, memory.size());
      if (memory.grow(want) < 0 && memory.grow(need) < 0) return 0;
    }
    highWater = h;
  }
  const p = slot(h);
  memory.fill(p, 0, PORT_SIZE);
  store<u8>(p + S_FLAGS, FLAG_INUSE);
  liveCount++;
  return h;
}

export function freeSlot(h: u32): void {
  const p = slot(h);
  memory.fill(p, 0, PORT_SIZE);
  store<u32>(p + S_NEXTFREE, freeHead);
  freeHead = h;
  liveCount--;
}

export function live(): u32 {
  return liveCount;
}
