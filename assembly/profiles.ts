/**
 * Per-profile values the core takes from the profile definitions
 * (src/uart/profile.ts, UART_PROFILES) instead of spelling them out: the
 * wrapper hands each profile's reset values over with uart_define_profile()
 * once, when the module loads, before any port exists. The profile's
 * register behaviour itself is core code (regs.ts, mtty.ts), chosen by code.
 */
import { PROFILE_COUNT } from './layout';

/** Room for 8 profiles: divisor latch low and high byte after a master reset. */
const MAX_PROFILES: u32 = 8;
const RESET_DIVISOR: usize = memory.data(16);

/** false if the code is out of range (the wrapper checks its table against PROFILE_COUNT). */
export function defineProfile(code: u32, resetDivisor: u32): bool {
  if (code >= PROFILE_COUNT || code >= MAX_PROFILES || resetDivisor > 0xffff) return false;
  store<u16>(RESET_DIVISOR + (<usize>code << 1), <u16>resetDivisor);
  return true;
}

/** DLM:DLL after a master reset in this profile (datasheet: undefined at power-on). */
// @ts-ignore: decorator
@inline
export function resetDivisor(code: u32): u32 {
  return load<u16>(RESET_DIVISOR + (<usize>code << 1));
}
