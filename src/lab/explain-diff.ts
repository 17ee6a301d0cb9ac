/**
 * "What changed" after one step, in words: the step mode's explanation.
 * Compares two register snapshots field by field (src/uart/decode.ts) so a
 * student reads "LSR 0x60 -> 0x01: DR set (data ready in RBR/FIFO); THRE
 * cleared (THR full)" instead of two hex numbers.
 */
import { decodeRegister, hex2, type RegName } from '../uart/decode.js';
import type { RegisterView, RegisterViewRegs } from './register-view.js';

/** Registers in the order the inspector lists them; RBR is covered by the access line itself. */
const ORDER: (keyof RegisterViewRegs)[] = ['IER', 'IIR', 'LCR', 'MCR', 'LSR', 'MSR', 'SCR', 'DLL', 'DLM'];

function explainRegister(name: RegName, before: number, after: number, divisor: number): string {
  const a = decodeRegister(name, before, divisor);
  const b = decodeRegister(name, after, divisor);
  const parts: string[] = [];
  b.fields.forEach((f, i) => {
    const old = a.fields[i];
    if (!old || old.value === f.value || f.name === '-') return;
    if (f.bits.length === 1) parts.push(`${f.name} ${f.value ? 'set' : 'cleared'} (${f.text})`);
    else parts.push(`${f.name}: ${old.text} -> ${f.text}`);
  });
  return `${name} ${hex2(before)} -> ${hex2(after)}: ${parts.join('; ') || b.summary}`;
}

export function explainDiff(before: RegisterView, after: RegisterView): string[] {
  const lines: string[] = [];
  const divisor = after.regs.DLL | (after.regs.DLM << 8);
  for (const name of ORDER) {
    if (name === 'IER' && (before.ierStale || after.ierStale)) continue;
    const x = before.regs[name];
    const y = after.regs[name];
    if (x !== y) lines.push(explainRegister(name, x, y, divisor));
  }
  if (before.irq !== after.irq) {
    lines.push(after.irq ? 'INTR line raised: the UART asks for the CPU' : 'INTR line lowered: nothing left to report');
  }
  return lines;
}
