import { test } from 'uvu';
import { UART_PROFILE_NAMES, type UartProfile } from '../src/uart/profile.js';
import * as assert from 'uvu/assert';
import { loadMtty, ManualClock } from '../src/index.js';
import { GuestCpu, GuestMachine } from '../src/guest/index.js';

async function openPort(profile: UartProfile) {
  // Virtual time: the pc16550d model hands over a tail below the RX trigger level only after
  // the character timeout, which then fires inside clock.advance() instead of a wall-clock timer.
  const clock = new ManualClock();
  const mtty = await loadMtty({ profile, clock });
  const dev = mtty.parent.type('mtty-2')!.create().open();
  const guest = new GuestMachine();
  const a = guest.attach(dev);
  const done = async () => {
    guest.detach(dev);
    dev.close();
    await mtty.unload();
  };
  return { guest, a, done, settle: () => clock.advance(50_000_000) };
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

// Every profile the core defines (src/uart/profile.ts): a new one is covered here at once.
for (const profile of UART_PROFILE_NAMES) {
  test(`${profile}: typed text comes back by loopback through INTx`, async () => {
    const { guest, a, done, settle } = await openPort(profile);
    const tty = a.ttys[0];
    tty.open({ crtscts: false });
    const before = guest.irqs.count(10);
    const reading = tty.read(5);
    tty.write('hello');
    settle();
    assert.is(dec(await reading), 'hello');
    assert.ok(guest.irqs.count(10) > before, 'interrupts were taken');
    // Every INTx the device signalled was followed by an UNMASK (QEMU's EOI path).
    assert.is(a.intx.unmasks, guest.irqs.count(10));
    assert.equal(a.ports[0].counters.overrun, 0);
    await done();
  });

  test(`${profile}: reads are interrupt-driven — nothing arrives while IRQ 10 is disabled`, async () => {
    const { guest, a, done, settle } = await openPort(profile);
    const tty = a.ttys[0];
    tty.open();
    guest.irqs.disable(10);
    tty.write('abc');
    settle();
    // The start of transmission itself needs the THRE interrupt: nothing moved, nothing read.
    assert.is(tty.buffered, 0);
    assert.is(a.ports[0].counters.rx, 0);
    guest.irqs.enable(10);
    settle();
    await Promise.resolve();
    assert.is(dec(tty.readAvailable()), 'abc');
    await done();
  });

  test(`${profile}: 200 bytes go out 16 per THRE and all come back in order`, async () => {
    const { a, done, settle } = await openPort(profile);
    const tty = a.ttys[0];
    tty.open();
    const text = Array.from({ length: 200 }, (_, i) => String.fromCharCode(0x21 + (i % 90))).join('');
    const reading = tty.read(200);
    tty.write(enc(text));
    settle();
    assert.is(dec(await reading), text);
    assert.is(a.ports[0].counters.tx, 200);
    assert.is(a.ports[0].counters.overrun, 0);
    await done();
  });

  test(`${profile}: ttyS1 and ttyS2 share IRQ 10 and stay independent`, async () => {
    const { guest, a, done, settle } = await openPort(profile);
    const [s1, s2] = a.ttys;
    s1.open();
    s2.open();
    assert.equal(guest.irqs.handlerNames(10), ['serial']);
    const r1 = s1.read(3);
    const r2 = s2.read(4);
    s2.write('two!');
    s1.write('one');
    settle();
    assert.is(dec(await r1), 'one');
    assert.is(dec(await r2), 'two!');
    s1.close();
    s2.close();
    assert.equal(guest.irqs.handlerNames(10), []);
    await done();
  });
}

test('closing a tty leaves the UART quiet (IER 0, MCR 0)', async () => {
  const { guest, a, done } = await openPort('mtty');
  a.ttys[0].open();
  a.ttys[0].close();
  assert.is(guest.io.inb(0xc151), 0x00);
  assert.is(guest.io.inb(0xc154), 0x00);
  await done();
});

test('a line that keeps firing for nobody is disabled, not spun on', () => {
  const cpu = new GuestCpu();
  const irqs = cpu.irqs;
  let eois = 0;
  const told: number[] = [];
  irqs.onNobodyCared = (n) => told.push(n);
  irqs.request(7, 'deaf', () => false);
  // An EOI that re-asserts at once: a stuck level that no handler clears.
  irqs.addEoi(7, () => {
    eois++;
    irqs.raise(7);
  });
  // Raised by guest code inside an interrupts-off section: taken when the section ends.
  cpu.run((function* () {
    yield { kind: 'irq-save' as const };
    irqs.raise(7);
    yield { kind: 'irq-restore' as const };
  })());
  assert.is(eois, 1000);
  assert.equal(told, [7]);
  assert.is(irqs.unhandled(7), 1000);
});

test.run();
