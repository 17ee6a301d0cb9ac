/**
 * An RBR read with nothing received since the last one (issue 14, fidelity):
 * 16450 mode shows the last byte received again, as the chip's plain RBR
 * register and QEMU's `s->rbr` do; FIFO mode reads 0 (QEMU). The kernel
 * sample returns uninitialised stack there, so profile 'mtty' does the same.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart } from '../src/uart/index.js';

const RBR = 0;
const FCR = 2;
const MCR = 4;
const LSR = 5;

test('pc16550d, 16450 mode: W MCR=10, W THR=41, R RBR, R RBR gives 41 then 41 (LSR.DR clear)', () => {
  const u = Uart.create();
  u.write(MCR, 0x10);
  u.write(RBR, 0x41);
  assert.is(u.read(RBR), 0x41);
  assert.is(u.read(LSR) & 0x01, 0, 'nothing left to read');
  assert.is(u.peek(RBR), 0x41, 'peek agrees with the read');
  assert.is(u.read(RBR), 0x41);
  assert.is(u.read(RBR), 0x41, 'and keeps showing it');
  u.write(RBR, 0x42);
  assert.is(u.read(RBR), 0x42);
  assert.is(u.read(RBR), 0x42, 'the newest byte replaces it');
  u.dispose();
});

test('pc16550d, 16450 overrun: RBR shows the byte that overwrote the holding register', () => {
  const u = Uart.create({ wiring: 'loopback' });
  u.write(RBR, 0x31);
  u.write(RBR, 0x32); // overruns, destroying 0x31
  assert.is(u.read(LSR) & 0x03, 0x03, 'DR and OE');
  assert.is(u.read(RBR), 0x32);
  assert.is(u.read(RBR), 0x32);
  u.dispose();
});

test('pc16550d, FIFO mode: an empty RBR reads 0, as in QEMU', () => {
  const u = Uart.create({ wiring: 'loopback' });
  u.write(FCR, 0x01);
  u.writeMany(new Uint8Array([0x41, 0x42]));
  assert.is(u.read(RBR), 0x41);
  assert.is(u.read(RBR), 0x42);
  assert.is(u.read(RBR), 0x00);
  assert.is(u.peek(RBR), 0x00);
  // Back to 16450 mode (clears the FIFO): RBR shows the last byte received in
  // 16450 mode, none here (QEMU's s->rbr ignores FIFO-mode bytes).
  u.write(FCR, 0x00);
  assert.is(u.read(RBR), 0x00);
  u.write(RBR, 0x43);
  assert.is(u.read(RBR), 0x43);
  assert.is(u.read(RBR), 0x43);
  u.dispose();
});

test('master reset clears the remembered byte', () => {
  const u = Uart.create({ wiring: 'loopback' });
  u.write(RBR, 0x41);
  u.read(RBR);
  u.reset();
  assert.is(u.read(RBR), 0x00);
  u.dispose();
});

test('profile mtty (loopback wiring, FCR bit 0 clear): the empty read repeats the last byte too', () => {
  const u = Uart.create({ profile: 'mtty', wiring: 'loopback' });
  u.write(RBR, 0x41);
  assert.is(u.read(RBR), 0x41);
  assert.is(u.read(LSR), 0x60, 'the ring is empty');
  assert.is(u.read(RBR), 0x41);
  u.write(FCR, 0x01); // FIFO mode: the empty read is 0
  u.write(RBR, 0x43);
  assert.is(u.read(RBR), 0x43);
  assert.is(u.read(RBR), 0x00);
  u.dispose();
});

test('the remembered byte travels in saveState; a version 1 snapshot restores with it 0', () => {
  const a = Uart.create({ wiring: 'loopback' });
  a.write(RBR, 0x5a);
  a.read(RBR);
  const snap = a.saveState();
  const b = Uart.create();
  b.restoreState(snap);
  assert.is(b.read(RBR), 0x5a);
  // Version 1 (before the byte existed): 88 state bytes after the 8-byte header.
  const v1 = snap.slice(0, snap.length - 1);
  v1[4] = 1;
  v1[6] = 88;
  const c = Uart.create();
  c.restoreState(v1);
  assert.is(c.read(RBR), 0x00);
  assert.is(c.peek(7), a.peek(7));
  for (const u of [a, b, c]) u.dispose();
});

test.run();
