/**
 * The UART profiles: the one definition of each register model the core
 * offers, and the one place a profile name is parsed. Everything else (the
 * Uart wrapper, MttyPort's interrupt delivery, loadMtty, the daemon, the CLI's
 * --profile, replay, the lab) takes its list, names and semantics from here.
 *
 * Adding a profile (say a 16750): its register behaviour in the core
 * (assembly/, chosen by `code`; PROFILE_COUNT in assembly/layout.ts) and one
 * entry below. This module loads no wasm, so the CLI can parse --profile
 * without loading the core.
 */
import { fail } from '../errors/errno.js';

/**
 * How the port's interrupt reaches the host (src/mtty/port.ts, interrupts.ts):
 * - 'level': INTR is a line (the 16550's pin). The host is told of every level
 *   change; INTx re-signals on UNMASK while the line is still high, as
 *   vfio-pci does for a physical level-triggered device.
 * - 'pulse': one event per trigger point of the model (the kernel sample's
 *   eventfd_signal calls); events that come while INTx is masked are dropped.
 */
export type IrqStyle = 'level' | 'pulse';

/** One UART profile, the single definition of it (name, interrupt style, reset values and quirks): src/uart/profile.ts. */
export interface UartProfileDefinition {
  /** The name users type (--profile, loadMtty({ profile }), the lab's ?profile=). */
  readonly name: string;
  /** A short label for choosers (the lab's UART model buttons). */
  readonly label: string;
  /** One line for usage texts and docs. */
  readonly summary: string;
  /** The core's profile number (assembly/layout.ts PROFILE_*): the index in UART_PROFILES. */
  readonly code: number;
  readonly irq: IrqStyle;
  /** Register values after a master reset that the datasheet leaves open (handed to the core at load). */
  readonly reset: {
    /** Divisor latch DLM:DLL: 0x000C = 9600 baud at the PC's 1.8432 MHz clock. */
    readonly divisor: number;
  };
  /** Where the model knowingly departs from a datasheet 16550A (for docs, the lab, `--help`). */
  readonly quirks: readonly string[];
}

/** Every profile, in core code order. Frozen: this is data, not configuration. */
export const UART_PROFILES = Object.freeze([
  Object.freeze({
    name: 'pc16550d',
    label: 'PC16550D',
    summary: 'the datasheet PC16550D, as QEMU models it (default)',
    code: 0,
    irq: 'level',
    reset: Object.freeze({ divisor: 0x000c }),
    quirks: Object.freeze([
      'transmission is instantaneous (THRE/TEMT back before the write returns), as in QEMU',
      'divisor 0x000C (9600 baud) after reset, as QEMU and vm-superio',
      'an empty RBR read returns 0 in FIFO mode (QEMU), the last byte received in 16450 mode (chip and QEMU)',
    ]),
  }),
  Object.freeze({
    name: 'mtty',
    label: 'mtty sample',
    summary: "the kernel sample's register behaviour (samples/vfio-mdev/mtty.c)",
    code: 1,
    irq: 'pulse',
    reset: Object.freeze({ divisor: 0 }),
    quirks: Object.freeze([
      'one ring for TX and RX: with loopback wiring every THR byte lands in RBR',
      'IIR is the OR of the pending ids | 0xC0; an MS condition is invisible (id 0)',
      'trigger level 0 until the first FCR write, 1 after it',
      'divisor bytes are ORed in, and zeroed when DLAB is set',
      'MSR reads 0xB3; LSR OE is cleared only by the next accepted byte',
      'interrupts are events at six trigger points, not a level',
      'divisor 0 after reset (kzalloc)',
    ]),
  }),
] as const satisfies readonly UartProfileDefinition[]);

/** One of UART_PROFILES, with its name typed as the literal. */
export type KnownUartProfile = (typeof UART_PROFILES)[number];

/** A profile's name: 'pc16550d' | 'mtty'. */
export type UartProfile = KnownUartProfile['name'];

/** The names, for usage texts: ['pc16550d', 'mtty']. */
export const UART_PROFILE_NAMES: readonly UartProfile[] = Object.freeze(UART_PROFILES.map((p) => p.name));

/** The profile new ports get unless told otherwise. */
export const DEFAULT_UART_PROFILE: UartProfile = 'pc16550d';

/** The definition with that name, or undefined (no error: for callers with their own error type). */
export function findUartProfile(name: unknown): KnownUartProfile | undefined {
  return UART_PROFILES.find((p) => p.name === name);
}

/** The definition with that name; MttyError EINVAL naming the choices otherwise. */
export function parseUartProfile(name: unknown): KnownUartProfile {
  const p = findUartProfile(name);
  if (!p) fail('EINVAL', `unknown UART profile ${JSON.stringify(name)} (expected ${UART_PROFILE_NAMES.join(' or ')})`);
  return p;
}

/** The definition of a core profile code (what the core reports). */
export function uartProfileByCode(code: number): KnownUartProfile {
  const p = UART_PROFILES[code];
  if (!p) throw new Error(`the UART core reported profile code ${code}, which no definition has`);
  return p;
}
