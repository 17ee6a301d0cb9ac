/** Full snapshots and the kernel sample's 36-byte struct serial_port. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart } from '../src/uart/index.js';
import { MttyError } from '../src/errors/errno.js';

const view = (u: Uart) => ({
  regs: [0, 1, 2, 3, 4, 5, 6, 7].map((o) => u.peek(o)),
  deadline: u.nextDeadline(),
  irq: u.irq,
  space: u.rxSpace(),
  line: u.lineSettings,
  profile: u.profile,
  wiring: u.wiring,
});

function einval(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, MttyError);
    assert.is((e as MttyError).code, 'EINVAL');
    return;
  }
  assert.unreachable('expected EINVAL');
}

/** A port in the middle of a transfer: FIFO partly read, OE, MSR delta, timeout half elapsed. */
function midTransfer(): Uart {
  const u = Uart.create({ wiring: 'loopback' });
  u.write(2, 0x81);
  u.write(1, 0x0d);
  for (let i = 0; i < 6; i++) u.write(0, 0x61 + i);
  u.read(0);
  u.read(0);
  u.receiveError(0x00, 0x10);
  u.setModemInputs(0x30);
  u.advance(1e6);
  return u;
}

test('snapshot round-trip mid-transfer: same registers, deadline, level; the transfer continues identically', () => {
  const a = midTransfer();
  const snap = a.saveState();
  const b = Uart.create();
  b.restoreState(snap);
  assert.equal(view(b), view(a));
  const rest = (u: Uart) => {
    const out: number[] = [];
    while (u.read(5) & 1) out.push(u.read(0));
    return out;
  };
  assert.equal(rest(b), rest(a));
  assert.equal(rest(a), []);
  a.dispose();
  b.dispose();
});

test('restore re-asserts the interrupt line on the target port', () => {
  const a = Uart.create();
  a.write(1, 0x02);
  const b = Uart.create();
  const lines: boolean[] = [];
  b.onIrqLine = (l) => lines.push(l);
  b.restoreState(a.saveState());
  assert.equal(lines, [true]);
  assert.is(b.read(2), 0x02);
  a.dispose();
  b.dispose();
});

test('restoreState rejects bad input with EINVAL and leaves the port unchanged', () => {
  const a = midTransfer();
  const good = a.saveState();
  const b = Uart.create();
  b.write(7, 0x99);
  const before = view(b);
  einval(() => b.restoreState(good.subarray(0, good.length - 1)));
  const badMagic = good.slice();
  badMagic[0] = 0;
  einval(() => b.restoreState(badMagic));
  const badVersion = good.slice();
  badVersion[4] = 3;
  einval(() => b.restoreState(badVersion));
  const v1WrongLength = good.slice();
  v1WrongLength[4] = 1; // version 1 had 88 state bytes, this blob has 89
  einval(() => b.restoreState(v1WrongLength));
  const badCount = good.slice();
  badCount[8 + 17] = 17; // RX count
  einval(() => b.restoreState(badCount));
  einval(() => b.restoreState('nope' as never));
  assert.equal(view(b), before);
  a.dispose();
  b.dispose();
});

test('toMttyRecord lays our state into struct serial_port (36 bytes)', () => {
  const u = Uart.create({ wiring: 'loopback' });
  u.write(3, 0x80);
  u.write(0, 0x02);
  u.write(1, 0x01);
  u.write(3, 0x03);
  u.write(2, 0xc1);
  u.write(1, 0x05);
  u.write(4, 0x0b);
  u.write(7, 0x5a);
  u.write(0, 0x41);
  u.write(0, 0x42);
  u.write(0, 0x43);
  u.read(0);
  const r = u.toMttyRecord();
  assert.is(r.length, 36);
  assert.equal([...r.subarray(0, 8)], [0, 0x05, 0, 0x03, 0x0b, 0, 0, 0x5a], 'uart_reg');
  assert.equal([r[8], r[9], r[10]], [0x41, 0x42, 0x43], 'fifo slots keep ring positions');
  assert.equal([r[24], r[25], r[26]], [3, 1, 2], 'head, tail, count');
  assert.equal([r[27], r[28]], [0, 0], 'dlab, overrun');
  assert.equal([r[30], r[31]], [0x02, 0x01], 'divisor u16 LE');
  assert.equal([r[32], r[33], r[34]], [0xc1, 16, 1], 'fcr, max_fifo_size, intr_trigger_level');
  u.dispose();
});

test('a fresh mtty-profile port exports the sample\'s initial record (zeros, max_fifo_size 16)', () => {
  const u = Uart.create({ profile: 'mtty' });
  const expected = new Uint8Array(36);
  expected[33] = 16;
  assert.equal([...u.toMttyRecord()], [...expected]);
  u.dispose();
});

test('fromMttyRecord round-trips into another port, including overrun and DLAB', () => {
  const a = Uart.create({ profile: 'mtty', wiring: 'loopback' });
  a.write(2, 0x00);
  a.write(0, 0x31);
  a.write(0, 0x32); // overrun
  a.write(3, 0x83);
  const rec = a.toMttyRecord();
  const b = Uart.create({ profile: 'mtty', wiring: 'loopback' });
  b.fromMttyRecord(rec);
  assert.equal([...b.toMttyRecord()], [...rec]);
  assert.is(b.read(5), 0x03);
  b.write(3, 0x03);
  assert.is(b.read(0), 0x31);
  a.dispose();
  b.dispose();
});

test('fromMttyRecord: EINVAL on wrong size or an inconsistent ring', () => {
  const u = Uart.create({ profile: 'mtty' });
  einval(() => u.fromMttyRecord(new Uint8Array(35)));
  const r = u.toMttyRecord();
  r[26] = 3; // count 3 but head == tail
  einval(() => u.fromMttyRecord(r));
  const big = u.toMttyRecord();
  big[26] = 17;
  big[24] = 1;
  einval(() => u.fromMttyRecord(big));
  u.dispose();
});

test('fromMttyRecord (pc16550d): a pending THRE interrupt survives the record, so TX does not stall after migration', () => {
  // Linux start_tx: IER RLSI|RDI -> RLSI|THRI|RDI with the transmitter empty: THRE pending, line high.
  const a = Uart.create();
  a.write(3, 0x03);
  a.write(2, 0xc1);
  a.write(4, 0x0b);
  a.write(1, 0x05);
  a.write(1, 0x07);
  assert.is(a.peek(2), 0xc2);
  assert.ok(a.irq);
  const b = Uart.create();
  const lines: boolean[] = [];
  b.onIrqLine = (l) => lines.push(l);
  b.fromMttyRecord(a.toMttyRecord());
  assert.is(b.peek(2), 0xc2, 'IIR still says THRE');
  assert.ok(b.irq, 'the line is re-asserted');
  assert.equal(lines, [true]);
  // Acknowledged as usual: reading IIR clears it, and it does not come back by itself.
  assert.is(b.read(2), 0xc2);
  assert.is(b.read(2), 0xc1);
  assert.not.ok(b.irq);
  a.dispose();
  b.dispose();
});

test.run();
