/** Wiring, batched entry points, the handle table and API error handling. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart } from '../src/uart/index.js';
import { MttyError } from '../src/errors/errno.js';

function throwsEinval(fn: () => unknown, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, MttyError, what);
    assert.is((e as MttyError).code, 'EINVAL', what);
    return;
  }
  assert.unreachable(`${what}: no error`);
}

test("wiring 'host': each THR byte goes to onTransmit in order, nothing into RX", () => {
  const u = Uart.create();
  const sent: number[] = [];
  u.onTransmit = (b) => sent.push(b);
  for (const b of [0x68, 0x69, 0x0a]) u.write(0, b);
  assert.equal(sent, [0x68, 0x69, 0x0a]);
  assert.is(u.read(5), 0x60, 'THRE/TEMT back at once, no data');
  u.dispose();
});

test("wiring 'loopback': THR bytes land in this port's RBR, onTransmit is not called", () => {
  const u = Uart.create({ wiring: 'loopback' });
  const sent: number[] = [];
  u.onTransmit = (b) => sent.push(b);
  u.write(2, 0x01);
  u.write(0, 0x41);
  u.write(0, 0x42);
  assert.equal(sent, []);
  assert.is(u.read(0), 0x41);
  assert.is(u.read(0), 0x42);
  u.wiring = 'host';
  u.write(0, 0x43);
  assert.equal(sent, [0x43]);
  u.dispose();
});

test('writeMany + readMany in loopback wiring: 20 written, 16 kept, overrun flagged', () => {
  const u = Uart.create({ wiring: 'loopback' });
  u.write(2, 0x01);
  const data = new Uint8Array(20).map((_, i) => 0x40 + i);
  assert.is(u.writeMany(data), 20);
  const out = new Uint8Array(32);
  assert.is(u.readMany(out), 16);
  assert.equal([...out.subarray(0, 16)], [...data.subarray(0, 16)]);
  assert.is(u.read(5) & 0x02, 0x02);
  u.dispose();
});

test('writeMany in host wiring sends every byte (larger than the io buffer too)', () => {
  const u = Uart.create();
  const data = new Uint8Array(10000).map((_, i) => i & 0xff);
  let n = 0;
  let ok = true;
  u.onTransmit = (b) => {
    if (b !== (n & 0xff)) ok = false;
    n++;
  };
  assert.is(u.writeMany(data), 10000);
  assert.is(n, 10000);
  assert.ok(ok);
  u.dispose();
});

test('a batched call started from a callback does not corrupt the outer batch', () => {
  const a = Uart.create();
  const b = Uart.create();
  b.write(2, 0x01);
  const got: number[] = [];
  a.onTransmit = (byte) => {
    got.push(byte);
    if (b.rxSpace() === 0) b.readMany(new Uint8Array(16));
    b.receiveMany(new Uint8Array([0xee, 0xee, 0xee]));
  };
  const data = new Uint8Array(64).map((_, i) => i);
  assert.is(a.writeMany(data), 64);
  assert.equal(got, [...data]);
  a.dispose();
  b.dispose();
});

test('2500 ports live in one instance, each with its own state; handles are reused after dispose', () => {
  const before = Uart.livePorts;
  // A port made before memory grows, with a timeout running and a byte waiting:
  // what the wrapper reads from memory (LSR, armed flag, clock, due time) must follow the growth.
  const first = Uart.create({ wiring: 'loopback' });
  first.write(2, 0x01);
  first.write(1, 0x01); // RX interrupts: the timeout shows in IIR
  first.write(0, 0x41);
  assert.is(first.read(2), 0xc4);
  const due = first.nextDeadline();
  const ports = Array.from({ length: 2500 }, () => Uart.create());
  assert.is(first.read(5), 0x61, 'LSR of a port made before the growth');
  assert.is(first.timed, true);
  assert.is(first.nextDeadline(), due);
  first.advance(due);
  assert.is(first.read(2), 0xcc, 'the timeout fired at its deadline');
  first.dispose();
  assert.is(new Set(ports.map((p) => p.handle)).size, 2500);
  ports.forEach((p, i) => p.write(7, i & 0xff));
  assert.ok(ports.every((p, i) => p.read(7) === (i & 0xff)));
  assert.is(Uart.livePorts, before + 2500);
  const last = ports[ports.length - 1]!;
  last.wiring = 'loopback';
  last.write(2, 0x01);
  assert.is(last.writeMany(new Uint8Array([1, 2, 3])), 3, 'io buffer still usable after memory growth');
  const back = new Uint8Array(3);
  assert.is(last.readMany(back), 3);
  assert.equal([...back], [1, 2, 3]);
  const maxHandle = Math.max(...ports.map((p) => p.handle));
  ports.forEach((p) => p.dispose());
  assert.is(Uart.livePorts, before);
  const again = Array.from({ length: 100 }, () => Uart.create());
  assert.ok(again.every((p) => p.handle <= maxHandle), 'freed slots reused');
  assert.ok(again.every((p) => p.read(7) === 0), 'reused slots start from reset');
  again.forEach((p) => p.dispose());
});

test('a disposed Uart throws EINVAL even when its slot was reused', () => {
  const u = Uart.create();
  u.dispose();
  const v = Uart.create();
  v.write(7, 0x77);
  throwsEinval(() => u.read(7), 'read after dispose');
  throwsEinval(() => u.write(7, 1), 'write after dispose');
  assert.is(v.read(7), 0x77);
  u.dispose(); // idempotent
  v.dispose();
});

test('bad arguments throw MttyError EINVAL', () => {
  const u = Uart.create();
  throwsEinval(() => u.read(8), 'read(8)');
  throwsEinval(() => u.read(-1), 'read(-1)');
  throwsEinval(() => u.read(1.5), 'read(1.5)');
  throwsEinval(() => u.write(0, 256), 'write value 256');
  throwsEinval(() => u.write(0, -1), 'write value -1');
  throwsEinval(() => u.receive(300), 'receive(300)');
  throwsEinval(() => u.setModemInputs(0x01), 'modem bit 0');
  throwsEinval(() => u.advance(-5), 'advance(-5)');
  throwsEinval(() => Uart.create({ profile: 'x' as never }), 'profile x');
  throwsEinval(() => Uart.create({ wiring: 'y' as never }), 'wiring y');
  throwsEinval(() => { u.profile = 'z' as never; }, 'profile setter');
  u.dispose();
});

test('a throwing callback surfaces after the access, with the UART left consistent', () => {
  const u = Uart.create();
  u.onTransmit = () => {
    throw new Error('host broke');
  };
  u.write(1, 0x02);
  u.read(2);
  assert.throws(() => u.write(0, 0x41), /host broke/);
  assert.is(u.read(5), 0x60);
  assert.is(u.read(2), 0x02, 'THRE raised again after the (instant) transmission');
  u.dispose();
});

test('disposing a port from its own callback is safe: a port created meanwhile gets a different slot', () => {
  const u = Uart.create({ wiring: 'host' });
  let other: Uart | null = null;
  u.onTransmit = () => {
    if (other) return;
    u.dispose();
    other = Uart.create();
    other.write(7, 0x33);
  };
  u.write(0, 0x41);
  const o = other as unknown as Uart;
  assert.is.not(o.handle, u.handle, 'slot not reused while the core was still on it');
  assert.is(o.read(7), 0x33);
  assert.is(o.read(2), 0x01, 'untouched by the finishing THR write');
  throwsEinval(() => u.read(0), 'disposed');
  o.dispose();
});

test('profile switch at run time keeps register state and changes the rules', () => {
  const u = Uart.create();
  u.write(7, 0x5a);
  u.write(3, 0x03);
  u.write(1, 0x05);
  assert.is(u.read(2), 0x01);
  u.profile = 'mtty';
  assert.is(u.profile, 'mtty');
  assert.is(u.read(7), 0x5a);
  assert.is(u.read(3), 0x03);
  assert.is(u.read(1), 0x05);
  assert.is(u.read(2), 0xc4, "mtty: trigger level 0 -> RX 'available' even when empty, 0xC0 always");
  assert.is(u.read(6), 0xb3);
  u.profile = 'pc16550d';
  assert.is(u.read(2), 0x01);
  u.dispose();
});

test.run();
