/** Profile 'mtty': the kernel sample's observable register quirks and interrupt events. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart } from '../src/uart/index.js';

function mtty(): { u: Uart; pulses: () => number } {
  const u = Uart.create({ profile: 'mtty', wiring: 'loopback' });
  let n = 0;
  u.onIrqPulse = () => n++;
  return {
    u,
    pulses: () => {
      const r = n;
      n = 0;
      return r;
    },
  };
}

test('fresh mtty port reads IER 0x00, IIR 0xC1, LCR 0, MCR 0, LSR 0x60, MSR 0xB3, SCR 0', () => {
  const { u } = mtty();
  assert.equal([1, 2, 3, 4, 5, 6, 7].map((o) => u.read(o)), [0x00, 0xc1, 0x00, 0x00, 0x60, 0xb3, 0x00]);
  u.dispose();
});

test('every THR byte loops back into RBR; LSR shows THRE/TEMT only while the ring is empty', () => {
  const { u } = mtty();
  u.write(0, 0x41);
  assert.is(u.read(5), 0x01);
  assert.is(u.read(0), 0x41);
  assert.is(u.read(5), 0x60);
  u.dispose();
});

test('IIR ORs condition ids and always has 0xC0 (trigger level 0 before any FCR write)', () => {
  const { u } = mtty();
  u.write(1, 0x03);
  assert.is(u.read(2), 0xc6, 'RX (count >= 0) | THRE (empty) = 0x06');
  u.write(2, 0x00); // any FCR write: trigger 1, FIFO size 1
  assert.is(u.read(2), 0xc2, 'empty: THRE only');
  u.write(0, 0x41);
  assert.is(u.read(2), 0xc4, 'one byte: RX only');
  u.dispose();
});

test('trigger level is forced to 1 after FCR (0xC1 would be 14 on a 16550)', () => {
  const { u, pulses } = mtty();
  u.write(2, 0xc1);
  u.write(1, 0x01);
  pulses();
  u.write(0, 0x41);
  assert.is(pulses(), 1, 'interrupt at the first byte');
  u.write(0, 0x42);
  assert.is(pulses(), 0, 'count == level only once');
  assert.is(u.toMttyRecord()[34], 1);
  u.dispose();
});

test('divisor quirk: DLAB bytes are ORed in and setting DLAB zeroes the divisor', () => {
  const { u } = mtty();
  u.write(3, 0x80);
  u.write(0, 0x03);
  u.write(0, 0x0c);
  u.write(1, 0x01);
  assert.is(u.read(0), 0x0f);
  assert.is(u.read(1), 0x01);
  u.write(3, 0x03);
  u.write(3, 0x83);
  assert.is(u.read(0), 0x00);
  assert.is(u.read(1), 0x00);
  u.dispose();
});

test('IER is stored whole but reads & 0x0F', () => {
  const { u } = mtty();
  u.write(1, 0xf0);
  assert.is(u.read(1), 0x00);
  assert.is(u.toMttyRecord()[1], 0xf0);
  u.dispose();
});

test('MSR is the constant 0xB3: reading does not clear the deltas, host inputs do not show', () => {
  const { u } = mtty();
  assert.is(u.read(6), 0xb3);
  assert.is(u.read(6), 0xb3);
  u.setModemInputs(0x00);
  assert.is(u.read(6), 0xb3);
  u.write(4, 0x10);
  assert.is(u.read(6), 0xb3, 'no loopback mapping');
  u.dispose();
});

test('OE is cleared only by the next accepted THR byte, not by reading LSR', () => {
  const { u } = mtty();
  u.write(2, 0x00); // FIFO off: ring of 1
  u.write(0, 0x61);
  u.write(0, 0x62);
  assert.is(u.read(5), 0x03);
  assert.is(u.read(5), 0x03, 'LSR read does not clear OE');
  assert.is(u.read(0), 0x61);
  assert.is(u.read(5), 0x62);
  u.write(0, 0x63);
  assert.is(u.read(5), 0x01, 'accepted write cleared OE');
  u.dispose();
});

test('interrupt events at the six trigger points', () => {
  const { u, pulses } = mtty();
  u.write(2, 0x00);
  u.write(1, 0x02);
  assert.is(pulses(), 1, '(3) IER with THRI while empty');
  u.write(1, 0x01);
  assert.is(pulses(), 0);
  u.write(0, 0x41);
  assert.is(pulses(), 1, '(1) count reached trigger level');
  u.write(1, 0x04);
  u.write(0, 0x42);
  assert.is(pulses(), 1, '(2) overrun with RLSI');
  u.write(1, 0x02);
  pulses();
  u.read(0);
  assert.is(pulses(), 1, '(4) RBR read left the ring empty with THRI');
  u.read(0);
  assert.is(pulses(), 1, '(4) ... or found it empty');
  u.write(1, 0x08);
  u.write(4, 0x0b);
  assert.is(pulses(), 2, '(5)+(6) MCR with OUT2 and with RTS/DTR');
  u.write(4, 0x08);
  assert.is(pulses(), 1, '(5) OUT2 only');
  u.write(1, 0x00);
  u.write(4, 0x0b);
  assert.is(pulses(), 0, 'no MSI, no event');
  u.dispose();
});

test('mtty MCR is stored raw (bits 5-7 read back)', () => {
  const { u } = mtty();
  u.write(4, 0xff);
  assert.is(u.read(4), 0xff);
  u.dispose();
});

test('not reproduced (memory-unsafe in the sample): empty RBR reads 0, and 16 queued bytes are not a lock-up', () => {
  const { u } = mtty();
  assert.is(u.read(0), 0x00);
  u.write(2, 0x01);
  for (let i = 0; i < 16; i++) u.write(0, 0x30 + i);
  assert.is(u.read(5), 0x01, 'full ring reads as data ready (the sample would show 0x60)');
  u.write(0, 0x99);
  assert.is(u.read(5), 0x03, '17th byte overruns');
  const got: number[] = [];
  while (u.read(5) & 1) got.push(u.read(0));
  assert.equal(got, Array.from({ length: 16 }, (_, i) => 0x30 + i));
  u.dispose();
});

test("host wiring under profile 'mtty': THR goes to onTransmit, host bytes enter the ring", () => {
  const u = Uart.create({ profile: 'mtty' });
  const sent: number[] = [];
  u.onTransmit = (b) => sent.push(b);
  u.write(0, 0x41);
  assert.equal(sent, [0x41]);
  assert.ok(u.receive(0x42));
  assert.is(u.read(0), 0x42);
  u.dispose();
});

test("mtty profile's level mirrors its IIR (no-interrupt bit)", () => {
  const { u } = mtty();
  u.write(2, 0x01);
  assert.not.ok(u.irq);
  u.write(1, 0x02);
  assert.ok(u.irq);
  u.write(0, 0x41);
  assert.not.ok(u.irq, 'ring not empty: no THRE condition');
  u.dispose();
});

test.run();
