/**
 * The unit of the lab's step mode: one access the guest makes to the device.
 *
 * The lab's guest driver is written as generators that yield these and get the
 * read value back. That is what lets a lesson pause between any two register
 * accesses (a plain synchronous driver would run to its end in one call): the
 * CPU model (guest-cpu.ts) decides when the next one happens.
 */

export type GuestOp =
  /** A byte read of UART register `offset` in BAR<port>. */
  | { kind: 'read'; port: number; offset: number; why: string }
  /** A byte write of UART register `offset` in BAR<port>. */
  | { kind: 'write'; port: number; offset: number; value: number; why: string }
  /** A config-space read (the BIOS's enumeration). */
  | { kind: 'cfg-read'; offset: number; size: 1 | 2 | 4; why: string }
  | { kind: 'cfg-write'; offset: number; size: 1 | 2 | 4; value: number; why: string }
  /** VFIO_DEVICE_SET_IRQS INTx UNMASK: what the VMM does on the guest's EOI. */
  | { kind: 'unmask'; why: string }
  /** The driver waits: virtual time moves to the port's next UART event (if any). */
  | { kind: 'wait'; port: number; why: string };

/** A driver routine: yields accesses, receives each read's value (0 for writes). */
export type GuestRoutine = Generator<GuestOp, void, number>;

export interface GuestTask {
  /** Shown in the step queue: "open ttyS1", "write 'A' to ttyS1", "interrupt handler". */
  title: string;
  routine: GuestRoutine;
  /** True for the interrupt handler (it preempts other tasks). */
  isr?: boolean;
}
