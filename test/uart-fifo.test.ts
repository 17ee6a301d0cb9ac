/** RX/TX FIFOs, trigger levels, 16450 mode, overrun and line-status bits (pc16550d). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart } from '../src/uart/index.js';

function fill(u: Uart, n: number, start = 0x30): boolean[] {
  const r: boolean[] = [];
  for (let i = 0; i < n; i++) r.push(u.receive((start + i) & 0xff));
  return r;
}

test('toggling FIFO enable clears the RX FIFO', () => {
  const u = Uart.create();
  u.write(2, 0x01);
  fill(u, 3);
  assert.is(u.read(5) & 0x01, 0x01);
  u.write(2, 0x00);
  assert.is(u.read(5) & 0x01, 0x00);
  u.dispose();
});

test('FCR RX reset (0x03) empties the RX FIFO and keeps FIFO mode', () => {
  const u = Uart.create();
  u.write(2, 0x01);
  fill(u, 5);
  u.write(2, 0x03);
  assert.is(u.read(5), 0x60);
  assert.is(u.read(2), 0xc1);
  u.dispose();
});

test('FCR RX reset drops the PE/FE/BI of the cleared bytes (no RLS interrupt without a character); OE stays', () => {
  const u = Uart.create();
  u.write(2, 0x01);
  u.write(1, 0x04); // RLS interrupts only
  u.receiveError(0x00, 0x10); // break: BI with one 0x00 byte
  assert.is(u.peek(5), 0xf1);
  assert.is(u.peek(2), 0xc6);
  u.write(2, 0x03);
  assert.is(u.peek(2), 0xc1, 'no line-status interrupt left for a byte that is gone');
  assert.not.ok(u.irq);
  assert.is(u.read(5), 0x60);
  // An overrun is not a property of a FIFO byte: an RX reset keeps OE until LSR is read.
  fill(u, 17);
  u.write(2, 0x03);
  assert.is(u.read(2), 0xc6);
  assert.is(u.read(5), 0x62);
  assert.is(u.read(5), 0x60);
  // The same when leaving FIFO mode, which also clears the RX FIFO.
  u.receiveError(0x41, 0x04);
  u.write(2, 0x00);
  assert.is(u.read(2), 0x01);
  assert.is(u.read(5), 0x60);
  u.dispose();
});

for (const [fcr, level] of [[0x01, 1], [0x41, 4], [0x81, 8], [0xc1, 14]] as const) {
  test(`trigger level ${level} (FCR 0x${fcr.toString(16)}): RDA at ${level} bytes, not before, dropped below it`, () => {
    const u = Uart.create();
    u.write(2, fcr);
    u.write(1, 0x01);
    fill(u, level - 1);
    assert.is(u.read(2), 0xc1, 'below trigger');
    fill(u, 1);
    assert.is(u.read(2), 0xc4, 'at trigger');
    assert.ok(u.irq);
    u.read(0);
    if (level > 1) {
      assert.is(u.read(2), 0xc1, 'one below trigger: RDA drops although data remains');
      assert.is(u.read(5) & 0x01, 0x01);
    } else {
      assert.is(u.read(2), 0xc1);
    }
    u.dispose();
  });
}

test('RX FIFO holds 16 bytes; the 17th is dropped, FIFO kept, OE set', () => {
  const u = Uart.create();
  u.write(2, 0x01);
  const r = fill(u, 17);
  assert.equal(r, [...Array(16).fill(true), false]);
  assert.is(u.read(5), 0x63, 'DR|OE|THRE|TEMT');
  const got: number[] = [];
  while (u.read(5) & 1) got.push(u.read(0));
  assert.equal(got, Array.from({ length: 16 }, (_, i) => 0x30 + i));
  u.dispose();
});

test('16450 mode (FIFOs off): a second byte overwrites RBR and sets OE', () => {
  const u = Uart.create();
  assert.ok(u.receive(0x61));
  assert.not.ok(u.receive(0x62));
  assert.is(u.read(5), 0x63);
  assert.is(u.read(0), 0x62, 'previous character destroyed');
  assert.is(u.read(5), 0x60);
  u.dispose();
});

test('reading LSR clears OE', () => {
  const u = Uart.create();
  u.receive(1);
  u.receive(2);
  assert.is(u.read(5) & 0x02, 0x02);
  assert.is(u.read(5) & 0x02, 0x00);
  u.dispose();
});

test('overrun raises the RLS interrupt (IIR 0xC6), cleared by reading LSR', () => {
  const u = Uart.create();
  u.write(2, 0x01);
  u.write(1, 0x04);
  fill(u, 17);
  assert.is(u.read(2), 0xc6);
  assert.ok(u.irq);
  u.read(5);
  assert.is(u.read(2), 0xc1);
  assert.not.ok(u.irq);
  u.dispose();
});

test('LSR bit 7 in FIFO mode: set while an errored byte is in the FIFO; PE shows when it reaches the top', () => {
  const u = Uart.create();
  u.write(2, 0x01);
  u.receive(0x41);
  u.receiveError(0x42, 0x04); // parity error
  assert.is(u.read(5), 0xe1, 'bit7 + DR, PE not yet (top byte is fine)');
  assert.is(u.read(0), 0x41);
  assert.is(u.read(5), 0xe5, 'PE now belongs to the top byte');
  assert.is(u.read(5), 0xe1, 'LSR read cleared PE, bit7 stays while the byte is queued');
  assert.is(u.read(0), 0x42);
  assert.is(u.read(5), 0x60);
  u.dispose();
});

test('LSR bit 7 stays 0 in 16450 mode', () => {
  const u = Uart.create();
  u.receiveError(0x42, 0x08);
  assert.is(u.read(5), 0x69, 'FE|DR|THRE|TEMT, no bit 7');
  u.dispose();
});

test('a break puts one 0x00 byte in the FIFO with BI', () => {
  const u = Uart.create();
  u.write(2, 0x01);
  u.receiveError(0x00, 0x10);
  assert.is(u.read(5) & 0x11, 0x11);
  assert.is(u.read(0), 0x00);
  u.dispose();
});

test('rxSpace: 16 - count in FIFO mode, 1 in 16450 mode, 0 in MCR loopback', () => {
  const u = Uart.create();
  assert.is(u.rxSpace(), 1);
  u.write(2, 0x01);
  fill(u, 5);
  assert.is(u.rxSpace(), 11);
  u.write(4, 0x10);
  assert.is(u.rxSpace(), 0);
  u.dispose();
});

test('receiveMany takes only what fits: no overrun, returns the accepted count', () => {
  const u = Uart.create();
  u.write(2, 0x01);
  const n = u.receiveMany(new Uint8Array(40).map((_, i) => i));
  assert.is(n, 16);
  assert.is(u.read(5) & 0x02, 0, 'no OE');
  const out = new Uint8Array(40);
  assert.is(u.readMany(out), 16);
  assert.equal([...out.subarray(0, 16)], Array.from({ length: 16 }, (_, i) => i));
  u.dispose();
});

test('TX FIFO reset (FCR bit 2) re-raises THRE', () => {
  const u = Uart.create();
  u.write(2, 0x01);
  u.write(1, 0x02);
  assert.is(u.read(2), 0xc2);
  assert.is(u.read(2), 0xc1);
  u.write(2, 0x05);
  assert.is(u.read(2), 0xc2);
  u.dispose();
});

test.run();
