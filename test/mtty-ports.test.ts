import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { regionOffset } from '../src/vfio/uapi.js';
import { VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD } from '../src/vfio/uapi.js';
import { CountingSink, expectErrnoSync, freshMtty } from './support/mtty-support.js';

const BAR0 = regionOffset(0);
const BAR1 = regionOffset(1);
const [RBR, IER, IIR, FCR, LCR, MCR, LSR] = [0, 1, 2, 2, 3, 4, 5];

for (const profile of ['pc16550d', 'mtty'] as const) {
  test(`${profile}: a byte written to THR loops back into RBR (mtty's host loopback)`, async () => {
    const { type2 } = await freshMtty({ profile });
    const dev = type2.create().open();
    dev.write(BAR0 + FCR, 1, 0x07);
    dev.write(BAR0 + RBR, 1, 0x41);
    assert.is(dev.read(BAR0 + LSR, 1) & 0x01, 0x01, 'data ready');
    assert.is(dev.read(BAR1 + LSR, 1) & 0x01, 0x00, 'the other port is independent');
    assert.is(dev.read(BAR0 + RBR, 1), 0x41);
    assert.is(dev.read(BAR0 + LSR, 1) & 0x61, 0x60, 'empty again');
  });
}

test('VFIO_DEVICE_RESET resets the UARTs (the sample does not), keeps config space and IRQ set-up', async () => {
  const { type2 } = await freshMtty();
  const mdev = type2.create();
  const dev = mdev.open();
  dev.getInfo();
  const sink = new CountingSink();
  dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 0, start: 0, count: 1, data: [sink] });
  const CFG = regionOffset(7);
  dev.write(CFG + 0x10, 4, 0xc150);
  dev.write(BAR0 + 7, 1, 0x99);
  dev.write(BAR0 + LCR, 1, 0x03);
  dev.write(BAR0 + MCR, 1, 0x0b);
  dev.write(BAR0 + RBR, 1, 0x42);
  dev.write(BAR1 + IER, 1, 0x05);
  dev.reset();
  assert.is(dev.read(BAR0 + LCR, 1), 0);
  assert.is(dev.read(BAR0 + MCR, 1), 0);
  assert.is(dev.read(BAR0 + LSR, 1), 0x60);
  assert.is(dev.read(BAR1 + IER, 1), 0);
  assert.is(dev.read(CFG + 0x10, 4), 0xc151);
  assert.is(mdev.vendor.interrupts.mode, 'intx');
  dev.write(BAR0 + IER, 1, 0x02);
  assert.is(sink.count, 1);
});

test('char timeout runs on the plugged-in clock: one timer while data waits, none when idle, none after remove', async () => {
  const { type1, clock } = await freshMtty({ profile: 'pc16550d' });
  const mdev = type1.create();
  const dev = mdev.open();
  dev.getInfo();
  const sink = new CountingSink();
  dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 0, start: 0, count: 1, data: [sink] });
  assert.is(clock.pending, 0, 'idle: no timer');
  dev.write(BAR0 + FCR, 1, 0xc7); // FIFO on, trigger level 14: one byte alone waits for the timeout
  dev.write(BAR0 + IER, 1, 0x01);
  dev.write(BAR0 + RBR, 1, 0x41);
  assert.is(sink.count, 0, 'below the trigger level');
  assert.is(clock.pending, 1, 'a timer for the character timeout');
  dev.write(BAR0 + 7, 1, 0x00);
  assert.is(clock.pending, 1, 'still exactly one timer');
  clock.advance(1e9);
  assert.is(sink.count, 1, 'the timeout raised the interrupt');
  assert.is(dev.read(BAR0 + IIR, 1) & 0x0f, 0x0c, 'IIR says character timeout');
  assert.is(dev.read(BAR0 + RBR, 1), 0x41);
  assert.is(clock.pending, 0, 'idle again');
  dev.write(BAR0 + RBR, 1, 0x42);
  assert.is(clock.pending, 1);
  dev.close();
  await mdev.remove();
  assert.is(clock.pending, 0, 'removal cancels the timer');
});

test('a host back-end takes a port: TX goes to the host, host bytes arrive in RBR; release restores loopback', async () => {
  const { type2, clock } = await freshMtty();
  const mdev = type2.create();
  const dev = mdev.open();
  const port = mdev.vendor.ports[1];
  const sent: number[] = [];
  const link = port.takeForHost((b) => sent.push(b));
  expectErrnoSync(() => port.takeForHost(() => {}), 'EBUSY');
  assert.is(port.uart.wiring, 'host');
  dev.write(BAR1 + FCR, 1, 0x07);
  dev.write(BAR1 + RBR, 1, 0x68);
  dev.write(BAR1 + RBR, 1, 0x69);
  // The host sees the bytes when the transmitter shifts them out, in virtual time.
  clock.advance(1e8);
  assert.equal(sent, [0x68, 0x69]);
  assert.is(clock.pending, 0);
  assert.is(dev.read(BAR1 + LSR, 1) & 0x01, 0, 'nothing looped back');
  assert.is(link.receive(Uint8Array.of(0x4f, 0x4b)), 2);
  assert.is(dev.read(BAR1 + RBR, 1), 0x4f);
  assert.is(dev.read(BAR1 + RBR, 1), 0x4b);
  link.release();
  assert.is(port.uart.wiring, 'loopback');
  expectErrnoSync(() => link.receive(Uint8Array.of(1)), 'ENODEV');
  dev.write(BAR1 + RBR, 1, 0x21);
  assert.is(dev.read(BAR1 + RBR, 1), 0x21);
});

test('restoring a snapshot taken in loopback keeps an attached host line: TX still reaches the host', async () => {
  const { type2, clock } = await freshMtty();
  const mdev = type2.create();
  const dev = mdev.open();
  dev.write(BAR1 + 7, 1, 0x5a); // SCR: chip state the snapshot carries
  const snap = mdev.vendor.saveFullState(); // both ports in loopback here
  const port = mdev.vendor.ports[1];
  const sent: number[] = [];
  const link = port.takeForHost((b) => sent.push(b));
  link.setModemInputs(0); // the host line: nothing asserted
  dev.write(BAR1 + 7, 1, 0x00);
  mdev.vendor.restoreFullState(snap);
  assert.is(dev.read(BAR1 + 7, 1), 0x5a, 'chip state restored');
  assert.is(port.uart.wiring, 'host', 'the board wiring is not part of the chip state');
  assert.is(dev.read(BAR1 + 6, 1) & 0xf0, 0x00, 'MSR shows the line as it is now, not as it was');
  dev.write(BAR1 + RBR, 1, 0x68);
  clock.advance(1e8);
  assert.equal(sent, [0x68], 'TX goes to the host back-end');
  assert.is(dev.read(BAR1 + LSR, 1) & 0x01, 0, 'nothing looped back');
  link.release();
  dev.close();
  await mdev.remove();
});

test.run();
