/**
 * MttyPort keeps the UART's time only where it can be seen (issue 14): while
 * a character timeout runs, RBR/IIR reads and the writes that can move it
 * bring the core's clock up to date; LSR polls do not read the clock at all.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMtty } from '../src/mtty/load.js';
import type { Clock } from '../src/clock/clock.js';
import { regionOffset } from '../src/vfio/uapi.js';

/** A clock moved by hand whose timers never fire (as in a guest's tight loop) and which counts reads. */
class CountingClock implements Clock {
  t = 0;
  reads = 0;
  now(): number {
    this.reads++;
    return this.t;
  }
  setTimer(): () => void {
    return () => undefined;
  }
}

const BAR0 = regionOffset(0);
const RBR = 0, IER = 1, IIR = 2, FCR = 2, LSR = 5, MSR = 6, SCR = 7;

async function openPort() {
  const clock = new CountingClock();
  const mtty = await loadMtty({ ports: 1, clock });
  const mdev = mtty.parent.type('mtty-1')!.create();
  const dev = mdev.open();
  const r = (off: number) => dev.read(BAR0 + off, 1);
  const w = (off: number, v: number) => dev.write(BAR0 + off, 1, v);
  return { clock, r, w, port: mdev.vendor.ports[0]!, done: () => (dev.close(), mtty.unload()) };
}

test('no timeout running: no access reads the clock', async () => {
  const { clock, r, w, done } = await openPort();
  const before = clock.reads;
  for (const off of [RBR, IER, IIR, LSR, MSR, SCR]) r(off);
  w(SCR, 0x55);
  w(IER, 0x01);
  assert.is(clock.reads, before);
  await done();
});

test('while a byte waits: LSR, MSR and SCR accesses leave the clock alone; an IIR read sees the timeout once 4 character times passed', async () => {
  const { clock, r, w, port, done } = await openPort();
  w(FCR, 0x01);
  w(IER, 0x01);
  w(RBR, 0x41); // loops back: one byte waits, the timeout runs
  assert.is(port.uart.timed, true);
  const charNs = port.uart.charTimeNs;
  assert.is(r(IIR), 0xc4, 'data available (trigger level 1)');
  const reads = clock.reads;
  clock.t += 4 * charNs + 1;
  for (let i = 0; i < 10; i++) r(LSR);
  r(MSR);
  w(SCR, 1);
  r(SCR);
  assert.is(clock.reads, reads, 'polls did not read the clock');
  assert.is(r(IIR), 0xcc, 'IIR brings time up to date: character timeout');
  assert.ok(clock.reads > reads);
  assert.is(r(RBR), 0x41);
  assert.is(port.uart.timed, false);
  assert.is(r(IIR), 0xc1);
  await done();
});

test('an RBR read restarts the window from the time it was made, not from the last poll', async () => {
  const { clock, r, w, port, done } = await openPort();
  w(FCR, 0x01);
  w(IER, 0x01);
  w(RBR, 0x31);
  w(RBR, 0x32);
  const charNs = port.uart.charTimeNs;
  clock.t += 3 * charNs;
  r(LSR);
  assert.is(r(RBR), 0x31); // window restarts here, 3 character times in
  clock.t += 3 * charNs;
  assert.is(r(IIR), 0xc4, 'only 3 character times since the RBR read');
  clock.t += 1 * charNs + 1;
  assert.is(r(IIR), 0xcc);
  await done();
});

test.run();
