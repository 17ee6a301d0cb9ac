/**
 * The register inspector of one port: every register as a row of bit cells
 * (bit 7 on the left, as datasheets draw them), set bits highlighted, and the
 * decoded meaning on the right. Values come from a RegisterView, i.e.
 * side-effect-free peeks: drawing the table never changes the UART.
 */
import { decodeRegister, hex2, type DecodedRegister, type RegName } from '../../uart/decode.js';
import type { RegisterView } from '../register-view.js';
import { h } from './dom.js';

interface Row {
  name: RegName;
  value: number | null;
  /** Why this row reads differently from the others (write-only, hidden by DLAB...). */
  note?: string;
}

function bitCells(d: DecodedRegister): HTMLTableCellElement[] {
  const parse = (bits: string) => {
    const [hi, lo] = bits.split(':').map(Number);
    return { hi, lo: lo ?? hi };
  };
  const fields = [...d.fields].map((f) => ({ f, ...parse(f.bits) })).sort((a, b) => b.hi - a.hi);
  return fields.map(({ f, hi, lo }) => {
    const width = hi - lo + 1;
    const label = f.name === '-' ? '' : f.name;
    const shown = width > 1 && f.name !== '-' ? `${label} ${f.short ?? f.value}` : label;
    return h('td', { class: `bit${f.value ? ' on' : ''}${f.name === '-' ? ' rsv' : ''}`, colspan: width > 1 ? width : undefined, title: `bit ${f.bits} ${f.name}: ${f.text}` }, shown);
  });
}

function rows(s: RegisterView, lastFcr: number | null): Row[] {
  return [
    { name: 'RBR', value: s.dlab ? null : s.regs.RBR, note: s.dlab ? 'hidden while DLAB=1' : 'next byte (peek)' },
    { name: 'IER', value: s.regs.IER, note: s.ierStale ? 'offset 1 is DLM now; last seen' : undefined },
    { name: 'IIR', value: s.regs.IIR },
    { name: 'FCR', value: lastFcr, note: 'write-only: last value written' },
    { name: 'LCR', value: s.regs.LCR },
    { name: 'MCR', value: s.regs.MCR },
    { name: 'LSR', value: s.regs.LSR },
    { name: 'MSR', value: s.regs.MSR },
    { name: 'SCR', value: s.regs.SCR },
    { name: 'DLL', value: s.regs.DLL },
    { name: 'DLM', value: s.regs.DLM },
  ];
}

export function registerTable(s: RegisterView, lastFcr: number | null, changed: Set<RegName>): HTMLTableElement {
  const divisor = s.regs.DLL | (s.regs.DLM << 8);
  const head = h('tr', {}, h('th', {}, 'reg'), h('th', {}, 'value'), ...[7, 6, 5, 4, 3, 2, 1, 0].map((b) => h('th', { class: 'bitno' }, b)), h('th', {}, 'meaning'));
  const body = rows(s, lastFcr).map((r) => {
    const cls = `reg reg-${r.name}${changed.has(r.name) ? ' changed' : ''}`;
    if (r.value === null) {
      return h('tr', { class: cls, 'data-reg': r.name }, h('th', {}, r.name), h('td', { class: 'hex' }, '--'), h('td', { class: 'bit rsv', colspan: 8 }, ''), h('td', { class: 'meaning' }, r.note ?? ''));
    }
    const d = decodeRegister(r.name, r.value, divisor);
    const meaning = r.note ? `${d.summary} (${r.note})` : d.summary;
    return h('tr', { class: cls, 'data-reg': r.name }, h('th', {}, r.name), h('td', { class: 'hex' }, hex2(r.value)), ...bitCells(d), h('td', { class: 'meaning' }, meaning));
  });
  // Fixed column widths keep the bit grid aligned across registers and leave the rest to the meaning.
  const cols = h('colgroup', {}, h('col', { class: 'c-reg' }), h('col', { class: 'c-hex' }), ...Array.from({ length: 8 }, () => h('col', { class: 'c-bit' })), h('col', { class: 'c-meaning' }));
  return h('table', { class: 'regs' }, cols, h('thead', {}, head), h('tbody', {}, ...body));
}
