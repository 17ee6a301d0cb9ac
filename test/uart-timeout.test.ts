/** Character-timeout interrupt on the port's virtual clock (no wall time anywhere). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart } from '../src/uart/index.js';
import { ManualClock } from '../src/clock/clock.js';

const CHAR_9600_8N1 = (10 * 12 * 1e9) / 115200; // 1.0417 ms

function fifoPort(fcr = 0x81): Uart {
  const u = Uart.create();
  u.write(3, 0x03); // 8N1 at the reset divisor: 9600 baud
  u.write(2, fcr); // FIFOs on, trigger 8
  u.write(1, 0x01);
  return u;
}

test('character time follows LCR and divisor (1.8432 MHz clock)', () => {
  const u = Uart.create();
  u.write(3, 0x03);
  assert.ok(Math.abs(u.charTimeNs - CHAR_9600_8N1) < 1e-6);
  u.write(3, 0x80);
  u.write(0, 0x01);
  u.write(3, 0x1e); // 7 data, even parity, 2 stop = 11 bits at 115200
  assert.ok(Math.abs(u.charTimeNs - (11 * 1e9) / 115200) < 1e-6);
  u.dispose();
});

test('no deadline while the RX FIFO is empty', () => {
  const u = fifoPort();
  assert.is(u.nextDeadline(), -1);
  u.dispose();
});

test('timeout 0xCC after exactly 4 character times below the trigger level', () => {
  const u = fifoPort();
  u.write(3, 0x03);
  u.receive(0x41);
  u.receive(0x42);
  u.receive(0x43);
  const d = u.nextDeadline();
  assert.ok(Math.abs(d - 4 * CHAR_9600_8N1) < 1e-3);
  u.advance(d - 1);
  assert.is(u.read(2), 0xc1);
  assert.not.ok(u.irq);
  u.advance(1);
  assert.ok(u.irq);
  assert.is(u.read(2), 0xcc);
  assert.is(u.nextDeadline(), -1, 'fired');
  u.dispose();
});

test('one RBR read clears the timeout and restarts the window for the remaining bytes', () => {
  const u = fifoPort();
  u.receive(0x41);
  u.receive(0x42);
  u.advance(u.nextDeadline());
  assert.is(u.read(2), 0xcc);
  assert.is(u.read(0), 0x41);
  assert.is(u.read(2), 0xc1);
  assert.ok(Math.abs(u.nextDeadline() - 4 * CHAR_9600_8N1) < 1e-3);
  u.advance(u.nextDeadline());
  assert.is(u.read(2), 0xcc);
  u.dispose();
});

test('every received byte restarts the timeout window', () => {
  const u = fifoPort();
  u.receive(0x41);
  u.advance(3 * CHAR_9600_8N1);
  u.receive(0x42);
  assert.ok(Math.abs(u.nextDeadline() - 4 * CHAR_9600_8N1) < 1e-3);
  u.advance(3 * CHAR_9600_8N1);
  assert.is(u.read(2), 0xc1);
  u.dispose();
});

test('no character timeout in 16450 mode', () => {
  const u = Uart.create();
  u.write(1, 0x01);
  u.receive(0x41);
  assert.is(u.nextDeadline(), -1);
  u.advance(1e9);
  assert.is(u.read(2), 0x04, 'plain RDA');
  u.dispose();
});

test('the timeout is gated by IER.RDI: pending but silent until enabled', () => {
  const u = Uart.create();
  u.write(2, 0x81);
  u.receive(0x41);
  u.advance(u.nextDeadline());
  assert.not.ok(u.irq);
  u.write(1, 0x01);
  assert.is(u.read(2), 0xcc);
  u.dispose();
});

test('a host drives the timeout from a ManualClock with nextDeadline()', () => {
  const clock = new ManualClock();
  const u = fifoPort();
  let last = clock.now();
  const sync = () => {
    u.advance(clock.now() - last);
    last = clock.now();
  };
  const arm = () => {
    const d = u.nextDeadline();
    if (d >= 0) clock.setTimer(d, () => { sync(); arm(); });
  };
  const fired: number[] = [];
  u.onIrqLine = (l) => l && fired.push(clock.now());
  u.receive(0x41);
  arm();
  clock.advance(10e6);
  assert.equal(fired.length, 1);
  assert.ok(Math.abs(fired[0]! - 4 * CHAR_9600_8N1) < 1);
  u.dispose();
});

test('FCR RX reset cancels a running timeout', () => {
  const u = fifoPort();
  u.receive(0x41);
  u.write(2, 0x83);
  assert.is(u.nextDeadline(), -1);
  u.dispose();
});

test('a shorter character time that puts the deadline in the past fires the timeout at once', () => {
  // Found by the device fuzzer: 9600 8N1 with bytes waiting, the guest then
  // switches to a faster divisor; the old window has already run out.
  const u = fifoPort();
  u.receive(0x41);
  u.advance(2 * CHAR_9600_8N1); // half of the 4-character window at 9600
  assert.is(u.read(2), 0xc1);
  u.write(3, 0x83);
  u.write(0, 0x01); // divisor 1: 115200 baud, the 4-character window is ~0.35 ms
  assert.is(u.nextDeadline(), -1, 'no running timeout is left with a deadline of 0');
  u.write(3, 0x03);
  assert.ok(u.irq);
  assert.is(u.read(2), 0xcc);
  u.dispose();
});

test('with IER.RDI off a due timeout is still consumed: nextDeadline() never stays 0', () => {
  const u = fifoPort();
  u.write(1, 0x00);
  u.receive(0x41);
  u.advance(3 * CHAR_9600_8N1); // 30 bit times
  u.write(3, 0x00); // 5N1: 7-bit characters, a 28-bit window, now behind us
  const d = u.nextDeadline();
  assert.ok(d === -1 || d > 0, `deadline ${d}`);
  assert.not.ok(u.irq, 'RDI disabled: no interrupt');
  u.write(1, 0x01);
  assert.is(u.read(2), 0xcc, 'enabling RDI shows the timeout that fired');
  u.dispose();
});

test.run();
