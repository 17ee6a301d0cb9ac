/** Interrupt identification, priorities, clearing rules and the INTR level (pc16550d). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart } from '../src/uart/index.js';

test('IIR reports one source in datasheet priority: RLS > RDA > THRE > MS', () => {
  const u = Uart.create();
  u.write(2, 0x01);
  u.write(1, 0x0f); // all sources; ETBEI rising makes THRE pending
  for (let i = 0; i < 17; i++) u.receive(i); // 16 in + overrun
  u.setModemInputs(0x30); // DCD drops -> DDCD
  assert.is(u.read(2), 0xc6, 'line status first');
  u.read(5);
  assert.is(u.read(2), 0xc4, 'then received data');
  while (u.read(5) & 1) u.read(0);
  assert.is(u.read(2), 0xc2, 'then THRE');
  assert.is(u.read(2), 0xc0, 'reading IIR acked THRE, modem status left');
  u.read(6);
  assert.is(u.read(2), 0xc1);
  assert.not.ok(u.irq);
  u.dispose();
});

test('an IIR read that reports something else does not clear a pending THRE', () => {
  const u = Uart.create();
  u.write(1, 0x03);
  u.receive(0x41);
  assert.is(u.read(2), 0x04);
  u.read(0);
  assert.is(u.read(2), 0x02, 'THRE survived the RDA read of IIR');
  u.dispose();
});

test('writing THR clears THRE; instant transmission re-raises it (INTR low then high)', () => {
  const u = Uart.create();
  const lines: boolean[] = [];
  u.onIrqLine = (l) => lines.push(l);
  u.write(1, 0x02);
  assert.equal(lines, [true]);
  u.write(0, 0x41);
  assert.equal(lines, [true, false, true]);
  assert.is(u.read(2), 0x02);
  u.dispose();
});

test('THRE interrupt when ETBEI rises 0->1 with THR empty; no re-raise without a new edge (no THRE storm)', () => {
  const u = Uart.create();
  u.write(1, 0x02);
  assert.is(u.read(2), 0x02);
  assert.is(u.read(2), 0x01, 'acked');
  u.write(1, 0x02); // same value again: no edge
  assert.is(u.read(2), 0x01, 'no storm');
  u.write(1, 0x03); // other bits change, ETBEI stays 1
  assert.is(u.read(2), 0x01);
  u.write(1, 0x00);
  u.write(1, 0x02); // new edge
  assert.is(u.read(2), 0x02);
  u.dispose();
});

test('Linux start-up THRE test: THRE re-asserts after IER off/on (no UART_BUG_THRE)', () => {
  const u = Uart.create();
  u.write(1, 0x02);
  const iir1 = u.read(2);
  u.write(1, 0x00);
  u.write(1, 0x02);
  const iir = u.read(2);
  u.write(1, 0x00);
  assert.is(iir1 & 0x01, 0, 'first read shows an interrupt');
  assert.is(iir & 0x01, 0, 'and it is re-asserted');
  u.dispose();
});

test('SeaBIOS detect_serial: IER=2 reads back 2 and (IIR & 0x3F) == 0x02', () => {
  const u = Uart.create();
  u.write(1, 0x02);
  assert.is(u.read(1), 0x02);
  assert.is(u.read(2) & 0x3f, 0x02);
  u.dispose();
});

test('onIrqLine fires only on level changes; irq flag follows', () => {
  const u = Uart.create();
  const lines: boolean[] = [];
  u.onIrqLine = (l) => lines.push(l);
  u.write(1, 0x0f);
  u.write(1, 0x0f);
  u.write(7, 0x11);
  assert.equal(lines, [true]);
  assert.ok(u.irq);
  u.write(1, 0x00);
  assert.equal(lines, [true, false]);
  assert.not.ok(u.irq);
  u.dispose();
});

test('the level re-asserts when RX interrupts are re-enabled with data pending (console IER masking)', () => {
  const u = Uart.create();
  u.write(1, 0x01);
  u.receive(0x41);
  assert.ok(u.irq);
  u.write(1, 0x00);
  assert.not.ok(u.irq);
  u.write(1, 0x01);
  assert.ok(u.irq);
  u.dispose();
});

test('modem-status interrupt on an input change, cleared by reading MSR', () => {
  const u = Uart.create();
  u.write(1, 0x08);
  assert.not.ok(u.irq);
  u.setModemInputs(0xb0 & ~0x10); // CTS drops
  assert.ok(u.irq);
  assert.is(u.read(2), 0x00);
  assert.is(u.read(6), 0xa1, 'DSR|DCD + DCTS');
  assert.not.ok(u.irq);
  assert.is(u.read(6), 0xa0);
  u.dispose();
});

test('OUT2 gating (optional board logic): INTR reaches the host only with MCR.OUT2 and not in loopback', () => {
  const u = Uart.create();
  assert.not.ok(u.out2Gate, 'off by default');
  u.out2Gate = true;
  u.write(1, 0x02);
  assert.not.ok(u.irq, 'gated: OUT2 is 0');
  assert.is(u.peek(2), 0x02, 'the UART itself still has THRE pending');
  u.write(4, 0x08);
  assert.ok(u.irq);
  u.write(4, 0x18);
  assert.not.ok(u.irq, 'loopback forces OUT2 inactive');
  u.out2Gate = false;
  assert.ok(u.irq);
  u.dispose();
});

test('out2Gate can be chosen at create time', () => {
  const u = Uart.create({ out2Gate: true });
  assert.ok(u.out2Gate);
  u.write(1, 0x02);
  assert.not.ok(u.irq);
  u.dispose();
});

test('without gating INTR does not depend on OUT2 (QEMU and mtty behaviour)', () => {
  const u = Uart.create();
  u.write(4, 0x00);
  u.write(1, 0x02);
  assert.ok(u.irq);
  u.dispose();
});

test.run();
