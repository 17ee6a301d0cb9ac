/**
 * The slice of drivers/tty/serial/8250/8250_pci.c that claims mtty: its IDs
 * 4348:3253 are the WCH CH352 2S card, board pbn_b0_bt_2_115200 (two ports,
 * one per BAR starting at BAR0, base baud 115200), and the WCH quirk fixes the
 * type to 16550A so no autoconfig probe runs at boot: only the start-up tests
 * on open touch the registers, then configure drops MCR to DTR-only (0x00).
 */
import type { PciFunction } from './pci-function.js';
import { pciName } from './pci-function.js';
import { Serial8250Port } from './serial8250.js';
import type { GuestCpu, GuestRoutine } from './cpu.js';

export interface PciSerialBoard {
  name: string;
  numPorts: number;
  baseBaud: number;
  /** FL_BASE_BARS: port i lives at BAR (firstBar + i). */
  firstBar: number;
}

export const BOARDS: Record<string, PciSerialBoard> = {
  pbn_b0_bt_2_115200: { name: 'pbn_b0_bt_2_115200', numPorts: 2, baseBaud: 115200, firstBar: 0 },
};

export interface PciSerialId {
  vendor: number;
  device: number;
  board: string;
  /** What the card is, for messages. */
  card: string;
}

export const PCI_SERIAL_IDS: PciSerialId[] = [{ vendor: 0x4348, device: 0x3253, board: 'pbn_b0_bt_2_115200', card: 'WCH CH352 2S' }];

export function matchPciSerial(fn: PciFunction): PciSerialId | undefined {
  return PCI_SERIAL_IDS.find((id) => id.vendor === fn.vendorId && id.device === fn.deviceId);
}

export interface ProbeOptions {
  /** Line numbers already taken (ttyS0 is the on-board COM1). */
  takenLines: Set<number>;
  /** 'doc': the kernel doc's era of messages; 'current': with base_baud (Linux >= 5.x). */
  style?: 'current' | 'doc';
  /**
   * false: register the ports without uart_configure_port's MCR write. The
   * daemon's inspection sessions use it so that `mtty lspci` never drops DTR
   * on a line a host back-end is watching.
   */
  configure?: boolean;
}

/**
 * pciserial_init_one() for a matched function: register one port per BAR.
 * A port whose BAR is not implemented (mtty-1 has no BAR1) ends the loop, as
 * a failed registration does in pciserial_init_ports().
 */
export function probePciSerial(cpu: GuestCpu, fn: PciFunction, opts: ProbeOptions): Serial8250Port[] {
  return cpu.run(probePciSerialRoutine(cpu, fn, opts), `8250_pci: probe ${pciName(fn)}`);
}

/** probePciSerial() as a routine (the lab steps it). */
export function* probePciSerialRoutine(cpu: GuestCpu, fn: PciFunction, opts: ProbeOptions): GuestRoutine<Serial8250Port[]> {
  const id = matchPciSerial(fn);
  if (!id) return [];
  const board = BOARDS[id.board];
  const devName = pciName(fn);
  if ((opts.style ?? 'current') === 'doc' && fn.pin) {
    const link = 'LNK' + String.fromCharCode(0x40 + ((fn.slot + fn.pin - 2) % 4) + 1);
    cpu.log(`serial ${devName}: PCI INT ${String.fromCharCode(0x40 + fn.pin)} -> Link[${link}] -> GSI ${fn.irq} (level, high) -> IRQ ${fn.irq}`);
  }
  const ports: Serial8250Port[] = [];
  for (let i = 0; i < board.numPorts; i++) {
    const bar = fn.bars.find((b) => b.index === board.firstBar + i);
    if (!bar || !bar.io) {
      cpu.log(`serial ${devName}: Couldn't register serial port ${i}: BAR${board.firstBar + i} not implemented`);
      break;
    }
    let line = 0;
    while (opts.takenLines.has(line)) line++;
    opts.takenLines.add(line);
    const port = new Serial8250Port(cpu, { line, iobase: bar.address, irq: fn.irq, baseBaud: board.baseBaud, devName, shareIrq: true });
    if (opts.configure ?? true) yield* port.configureRoutine(opts.style);
    else cpu.log(port.reportLine(opts.style));
    ports.push(port);
  }
  if (ports.length) fn.driver = 'serial';
  return ports;
}
