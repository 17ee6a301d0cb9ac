/** Modem control/status lines and MCR.LOOP internal loopback (pc16550d). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart } from '../src/uart/index.js';

test('Linux loopback test: MCR=0x1A gives MSR & 0xF0 == 0x90 (DCD|CTS)', () => {
  const u = Uart.create();
  u.write(4, 0x1a);
  assert.is(u.read(6) & 0xf0, 0x90);
  u.dispose();
});

test('loopback maps RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD', () => {
  const u = Uart.create();
  for (const [mcr, msr] of [[0x10, 0x00], [0x12, 0x10], [0x11, 0x20], [0x14, 0x40], [0x18, 0x80], [0x1f, 0xf0]] as const) {
    u.write(4, mcr);
    assert.is(u.read(6) & 0xf0, msr, `MCR 0x${mcr.toString(16)}`);
  }
  u.dispose();
});

test('entering loopback latches delta bits for the inputs that changed; reading MSR clears them', () => {
  const u = Uart.create(); // inputs CTS|DSR|DCD
  u.write(4, 0x10); // loopback with all outputs off: CTS, DSR, DCD all fall
  assert.is(u.read(6), 0x0b, 'DCTS|DDSR|DDCD');
  assert.is(u.read(6), 0x00);
  u.dispose();
});

test('TERI latches when RI goes 1 -> 0, not 0 -> 1', () => {
  const u = Uart.create();
  u.write(4, 0x10);
  u.read(6);
  u.write(4, 0x14);
  assert.is(u.read(6), 0x40, 'RI rose: no TERI');
  u.write(4, 0x10);
  assert.is(u.read(6), 0x04, 'RI fell: TERI');
  u.dispose();
});

test('host modem inputs: default connected (0xB0), changes latch deltas', () => {
  const u = Uart.create();
  assert.is(u.read(6), 0xb0);
  u.setModemInputs(0x30);
  assert.is(u.read(6), 0x38, 'DCD dropped: DDCD');
  assert.is(u.read(6), 0x30);
  const z = Uart.create({ modemInputs: 0 });
  assert.is(z.read(6), 0x00);
  u.dispose();
  z.dispose();
});

test('modemOutputs shows DTR/RTS/OUT1/OUT2 and nothing in loopback', () => {
  const u = Uart.create();
  u.write(4, 0x0b);
  assert.is(u.modemOutputs, 0x0b);
  u.write(4, 0x1b);
  assert.is(u.modemOutputs, 0x00);
  u.dispose();
});

test('MCR.LOOP: THR bytes come back in RBR, SOUT stays idle, SIN is disconnected', () => {
  const u = Uart.create();
  const sent: number[] = [];
  u.onTransmit = (b) => sent.push(b);
  u.write(2, 0x01);
  u.write(4, 0x10);
  u.write(0, 0x41);
  u.write(0, 0x42);
  assert.equal(sent, []);
  assert.not.ok(u.receive(0x99), 'host byte not accepted');
  assert.is(u.read(0), 0x41);
  assert.is(u.read(0), 0x42);
  assert.is(u.read(5), 0x60);
  u.write(4, 0x00);
  u.write(0, 0x43);
  assert.equal(sent, [0x43]);
  u.dispose();
});

test('loopback RX raises RDA like a real receive', () => {
  const u = Uart.create();
  u.write(4, 0x10);
  u.write(1, 0x01);
  u.write(0, 0x7e);
  assert.ok(u.irq);
  assert.is(u.read(2), 0x04);
  u.dispose();
});

test.run();
