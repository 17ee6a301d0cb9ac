/**
 * Where each piece of one port's state lives inside its slot of linear memory.
 *
 * Why a flat byte record instead of AssemblyScript classes: the runtime is
 * `stub` (no GC), 2000+ ports must fit in one instance, and snapshots are a
 * plain copy of the slot. Every field is one byte unless noted.
 */

/** Bytes per port slot (a power of two keeps handle -> address a shift). */
export const PORT_SIZE: u32 = 128;
export const PORT_SHIFT: u32 = 7;

// Register file (as stored; some bits are derived on read).
export const S_IER: u32 = 0; // pc16550d stores &0x0F; mtty stores the raw byte and reads &0x0F
export const S_LCR: u32 = 1;
export const S_MCR: u32 = 2; // pc16550d stores &0x1F; mtty stores the raw byte
export const S_LSRERR: u32 = 3; // sticky LSR bits 1-4 (OE PE FE BI); DR/THRE/TEMT/bit7 are derived
export const S_MSRDELTA: u32 = 4; // MSR bits 0-3 (DCTS DDSR TERI DDCD); bits 4-7 are derived
export const S_SCR: u32 = 5;
export const S_FCR: u32 = 6; // FIFO enable, DMA mode, trigger bits (as programmed)
export const S_DLL: u32 = 7;
export const S_DLM: u32 = 8;
export const S_THRP: u32 = 9; // THRE interrupt pending (QEMU's thr_ipending)
export const S_CTIP: u32 = 10; // character-timeout interrupt pending
export const S_IRQ: u32 = 11; // last INTR level reported to the host
export const S_PROFILE: u32 = 12; // PROFILE_*
export const S_WIRING: u32 = 13; // WIRING_*
export const S_MODEMIN: u32 = 14; // host modem input pins in MSR high-nibble form
export const S_FLAGS: u32 = 15; // FLAG_*
export const S_RXHEAD: u32 = 16; // index of the oldest RX byte
export const S_RXCOUNT: u32 = 17;
export const S_TXHEAD: u32 = 18;
export const S_TXCOUNT: u32 = 19;
export const S_RXERRS: u32 = 20; // RX entries carrying PE/FE/BI (LSR bit 7 in FIFO mode)
export const S_MTTYTRIG: u32 = 21; // the sample's intr_trigger_level: 0 until the first FCR write, then 1
export const S_MTTYMAX: u32 = 22; // the sample's max_fifo_size: 16 at create, FCR0 ? 16 : 1 after
export const S_CTIARMED: u32 = 23; // a character-timeout deadline is running
export const S_NOW: u32 = 24; // f64: this port's virtual time, ns
export const S_LASTACT: u32 = 32; // f64: virtual time of the last RX byte in / RBR read, ns
export const S_RXDATA: u32 = 40; // 16 bytes ring
export const S_RXFLAGS: u32 = 56; // 16 bytes: per RX entry LSR error bits (PE FE BI)
export const S_TXDATA: u32 = 72; // 16 bytes ring
export const S_RBR: u32 = 88; // the last byte received: what RBR shows when read empty in 16450 mode
/** Bytes of the slot that make up the device state (snapshot payload). */
export const STATE_BYTES: u32 = 89;
/** Bytes 0-87 of the state as snapshot version 1 had them (no S_RBR). */
export const STATE_BYTES_V1: u32 = 88;
export const S_LSRFAST: u32 = 89; // derived, not state: LSR for a read without side effects (published.ts)
export const S_NEXTFREE: u32 = 92; // u32: free-list link while the slot is unused
export const S_DEADLINE: u32 = 96; // f64, derived, not state: virtual time the running timeout falls due (timing.ts)
export const S_CTKEY: u32 = 104; // u32, derived: the LCR/divisor S_CHARTIME was computed for (timing.ts)
export const S_CHARTIME: u32 = 112; // f64, derived: charTimeNs() for S_CTKEY

export const FIFO_SIZE: u32 = 16;
export const FIFO_MASK: u32 = 15;

export const FLAG_INUSE: u8 = 1;
export const FLAG_OUT2GATE: u8 = 2; // PC-board logic: INTR reaches the host only while MCR.OUT2

// Profile codes: the index of the profile in src/uart/profile.ts's UART_PROFILES,
// which also supplies each one's reset values (uart_define_profile).
export const PROFILE_PC16550D: u8 = 0;
export const PROFILE_MTTY: u8 = 1;
export const PROFILE_COUNT: u32 = 2;
export const WIRING_HOST: u8 = 0;
export const WIRING_LOOPBACK: u8 = 1;

/** Negative return codes of the exports (the TS wrapper turns them into MttyError EINVAL). */
export const E_HANDLE: i32 = -1; // not a live handle
export const E_ARG: i32 = -2; // offset/value/length out of range
export const E_STATE: i32 = -3; // snapshot/record rejected
