/**
 * The words the lab prints: access-log lines, bit fields, and the step
 * explanation. These strings are what students read, so they are pinned.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeRegister, frameText, iirSource } from '../src/uart/decode.js';
import { describeRegister, registerName } from '../src/uart/registers.js';
import { describeAccess } from '../src/lab/describe-access.js';
import { explainDiff } from '../src/lab/explain-diff.js';
import { takeRegisterView, type PeekableUart } from '../src/lab/register-view.js';

test('access-log lines name the register DLAB selects and decode the value', () => {
  assert.is(describeAccess({ dir: 'W', offset: 0, value: 0x41, dlab: false }), "W THR 0x41 'A'");
  assert.is(describeAccess({ dir: 'R', offset: 0, value: 0x0d, dlab: false }), "R RBR 0x0d '\\r'");
  assert.is(describeAccess({ dir: 'R', offset: 2, value: 0xc4, dlab: false }), 'R IIR 0xc4 = RX data available, FIFOs on');
  assert.is(describeAccess({ dir: 'R', offset: 2, value: 0xcc, dlab: false }), 'R IIR 0xcc = character timeout, FIFOs on');
  assert.is(describeAccess({ dir: 'R', offset: 2, value: 0xc1, dlab: true }), 'R IIR 0xc1 = no interrupt pending, FIFOs on');
  assert.is(describeAccess({ dir: 'W', offset: 0, value: 0x0c, dlab: true, divisor: 12 }), 'W DLL 0x0c = divisor 12 = 9600 baud');
  assert.is(describeAccess({ dir: 'W', offset: 1, value: 0x01, dlab: false }), 'W IER 0x01 = enable RX data');
  assert.is(describeAccess({ dir: 'W', offset: 2, value: 0xc7, dlab: false }), 'W FCR 0xc7 = FIFOs on, RX trigger 14, clear RX, clear TX');
  assert.is(describeAccess({ dir: 'W', offset: 3, value: 0x83, dlab: false }), 'W LCR 0x83 = 8N1, DLAB on');
  assert.is(describeAccess({ dir: 'W', offset: 4, value: 0x0b, dlab: false }), 'W MCR 0x0b = DTR RTS OUT2');
  assert.is(describeAccess({ dir: 'R', offset: 5, value: 0x61, dlab: false }), 'R LSR 0x61 = DR THRE TEMT');
  assert.is(describeAccess({ dir: 'R', offset: 6, value: 0xb3, dlab: false }), 'R MSR 0xb3 = DCTS DDSR CTS DSR DCD');
});

test('register names follow DLAB and direction', () => {
  // One table (src/uart/registers.ts) names registers for the lab, replay and the CLI.
  assert.is(registerName(0, 'r', false), 'RBR');
  assert.is(registerName(0, 'w', false), 'THR');
  assert.is(registerName(0, 'w', true), 'DLL');
  assert.is(registerName(1, 'r', true), 'DLM');
  assert.is(registerName(2, 'w', true), 'FCR');
});

test('every register decodes into fields covering all 8 bits', () => {
  for (const name of ['RBR', 'IER', 'IIR', 'FCR', 'LCR', 'MCR', 'LSR', 'MSR', 'SCR', 'DLL', 'DLM'] as const) {
    const d = decodeRegister(name, 0xa5, 1);
    let covered = 0;
    for (const f of d.fields) {
      const [hi, lo = hi] = f.bits.split(':').map(Number);
      for (let b = lo; b <= hi; b++) {
        assert.not.ok(covered & (1 << b), `${name} bit ${b} decoded twice`);
        covered |= 1 << b;
      }
    }
    assert.is(covered, 0xff, `${name} covers bits 7..0`);
  }
  const lsr = decodeRegister('LSR', 0x61);
  assert.equal(lsr.fields.filter((f) => f.value).map((f) => f.name), ['DR', 'THRE', 'TEMT']);
  assert.is(iirSource(0xc6), 'receiver line status');
  assert.is(frameText(0x1f), '8E2');
  assert.is(frameText(0x04), '5N1.5');
});

/** A UART stand-in: registers as an array, peek only. */
function fakeUart(regs: number[], irq = false): PeekableUart {
  return { peek: (o) => regs[o], irq, lineSettings: { divisor: 1 } };
}

test('the step explanation names the bits that changed', () => {
  const before = takeRegisterView(fakeUart([0, 0x01, 0xc1, 0x03, 0x0b, 0x60, 0xb3, 0]));
  const after = takeRegisterView(fakeUart([0x41, 0x01, 0xc4, 0x03, 0x0b, 0x01, 0xb3, 0], true));
  const lines = explainDiff(before, after);
  assert.equal(lines, [
    'IIR 0xc1 -> 0xc4: nINT cleared (interrupt pending); ID: no interrupt pending -> RX data available',
    'LSR 0x60 -> 0x01: DR set (data ready in RBR/FIFO); THRE cleared (THR full); TEMT cleared (transmitter busy)',
    'INTR line raised: the UART asks for the CPU',
  ]);
});

test('while DLAB=1 the snapshot keeps the IER it saw last (offset 1 is DLM)', () => {
  const s0 = takeRegisterView(fakeUart([0, 0x05, 0xc1, 0x03, 0, 0x60, 0, 0]));
  const s1 = takeRegisterView(fakeUart([0x0c, 0x00, 0xc1, 0x83, 0, 0x60, 0, 0]), s0);
  assert.is(s1.regs.IER, 0x05);
  assert.ok(s1.ierStale);
  assert.is(s1.regs.DLL, 0x0c);
  assert.equal(explainDiff(s0, s1).map((l) => l.split(':')[0]), ['LCR 0x03 -> 0x83', 'DLL 0x01 -> 0x0c']);
});

test('mtty replay and the lab read the same decoder: one summary for one value', () => {
  for (const [off, v, dir, name] of [[5, 0x61, 'r', 'LSR'], [2, 0xcc, 'r', 'IIR'], [2, 0x81, 'w', 'FCR'], [6, 0x92, 'r', 'MSR']] as const) {
    assert.is(describeRegister(off, v, dir), `${name} 0x${v.toString(16)}: ${decodeRegister(name, v).summary}`);
  }
  assert.is(describeRegister(2, 0x81, 'w'), 'FCR 0x81: FIFOs on, RX trigger 8');
});

test.run();
