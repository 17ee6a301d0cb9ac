/**
 * LSR reads served from the byte the core publishes in the port's slot
 * (assembly/published.ts): they must answer exactly what the core would,
 * also from inside a callback, and still clear error bits through the core.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart } from '../src/uart/index.js';
import { MttyError } from '../src/errors/errno.js';

test('LSR read inside onTransmit sees the state of that moment (THR byte gone, later bytes not yet)', () => {
  const u = Uart.create({ wiring: 'host' });
  u.write(2, 0x01);
  const seen: number[] = [];
  u.onTransmit = () => seen.push(u.read(5), u.peek(5));
  u.receive(0x41);
  u.writeMany(new Uint8Array([1, 2]));
  assert.equal(seen, [0x61, 0x61, 0x61, 0x61]);
  u.read(0);
  assert.is(u.read(5), 0x60);
  u.dispose();
});

test('an LSR with error bits is read through the core: the read returns them and clears them', () => {
  const u = Uart.create({ wiring: 'loopback' });
  u.write(0, 1);
  u.write(0, 2); // 16450 overrun
  assert.is(u.read(5), 0x63);
  assert.is(u.read(5), 0x61, 'OE cleared by the first read');
  u.dispose();
});

test('profile mtty: OE stays in LSR across reads (the sample clears it only with the next byte)', () => {
  const u = Uart.create({ profile: 'mtty', wiring: 'loopback' });
  u.write(2, 0x00); // max_fifo_size 1
  u.write(0, 1);
  u.write(0, 2); // dropped: OE
  assert.is(u.read(5), 0x03);
  assert.is(u.read(5), 0x03);
  u.read(0);
  u.write(0, 3);
  assert.is(u.read(5), 0x01);
  u.dispose();
});

test('a disposed port: LSR read fails with EINVAL like every other access', () => {
  const u = Uart.create();
  u.dispose();
  try {
    u.read(5);
    assert.unreachable('read a disposed port');
  } catch (e) {
    assert.instance(e, MttyError);
    assert.is((e as MttyError).code, 'EINVAL');
  }
});

test('SCR writes are stored in the slot without a call: the core, snapshots and both profiles see them; disposed is EINVAL', () => {
  for (const profile of ['pc16550d', 'mtty'] as const) {
    const u = Uart.create({ profile, wiring: 'loopback' });
    u.write(1, 0x0f);
    u.write(7, 0xa5);
    assert.is(u.peek(7), 0xa5, `${profile}: core's peek`);
    assert.is(u.read(7), 0xa5, `${profile}: core's read`);
    u.write(3, 0x80); // DLAB does not bank offset 7
    u.write(7, 0x5a);
    assert.is(u.read(7), 0x5a);
    u.write(3, 0x03);
    const copy = Uart.create({ profile });
    copy.restoreState(u.saveState());
    assert.is(copy.read(7), 0x5a, `${profile}: in the snapshot`);
    assert.is(u.toMttyRecord()[7], 0x5a, `${profile}: in the mtty migration record (uart_reg[7])`);
    copy.dispose();
    u.dispose();
    try {
      u.write(7, 1);
      assert.unreachable('write to a disposed port accepted');
    } catch (e) {
      assert.instance(e, MttyError);
      assert.is((e as MttyError).code, 'EINVAL');
    }
  }
});

test.run();
