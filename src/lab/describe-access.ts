/**
 * One register access as a line of the lab's access log:
 *   "W THR 0x41 'A'", "R IIR 0xc4 = RX data available", "W LCR 0x83 = 8N1, DLAB on".
 * The log is what a student reads to follow the driver, so each line names
 * the register the access reached (DLAB decides offsets 0 and 1) and says what
 * the value means, in the words of the one decoder (src/uart/decode.ts).
 */
import { charLabel, decodeRegister, hex2, type RegName } from '../uart/decode.js';
import { registerName } from '../uart/registers.js';

export interface RegisterAccess {
  dir: 'R' | 'W';
  /** Register offset inside the port's BAR (0..7). */
  offset: number;
  value: number;
  /** LCR.DLAB at the time of the access (decides DLL/DLM vs RBR/THR/IER). */
  dlab: boolean;
  /** Divisor latch after the access, so DLL/DLM lines can state the baud rate. */
  divisor?: number;
}

export function accessRegister(a: RegisterAccess): RegName {
  return registerName(a.offset & 7, a.dir === 'R' ? 'r' : 'w', a.dlab) as RegName;
}

export function describeAccess(a: RegisterAccess): string {
  const name = accessRegister(a);
  const head = `${a.dir} ${name} ${hex2(a.value)}`;
  if (name === 'RBR' || name === 'THR') {
    const c = charLabel(a.value);
    return c ? `${head} ${c}` : head;
  }
  const d = decodeRegister(name, a.value, a.divisor);
  return `${head} = ${d.summary}`;
}
