/**
 * serialport back-end against @serialport/binding-mock (through
 * SerialPortMock.binding, the copy serialport itself loads) and the real
 * wasm UART: TX, RX with interrupts, line settings, back-pressure, unplug.
 * Time is a ManualClock, so the RX poll only runs when the test advances it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialPortMock } from 'serialport';
import { ManualClock } from '../src/clock/clock.js';
import { attach, hostTestPort, type Attachment } from './support/host-port.js';
import type { HostEvent } from '../src/host/backend.js';
import { createBackend } from '../src/host/create.js';
import type { SerialPortBackend } from '../src/host/serialport.js';
import { charTimeNs } from '../src/host/uart-port.js';
import { HOLD_HIGH_WATER } from '../src/host/rx-pump.js';
import { Uart } from '../src/uart/index.js';

const binding = SerialPortMock.binding;
const RBR = 0, THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6;
const LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20;

/** Let promises, nextTicks and immediates run until cond holds (bounded: a hang fails, it does not wait). */
async function until(cond: () => boolean, what: string, turns = 2000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.unreachable(`never happened: ${what}`);
}

interface MockBindingPort {
  port: { openOpt?: Record<string, unknown>; data: Buffer };
  openOptions: Record<string, unknown>;
  recording: Buffer;
  emitData(d: Buffer | string): void;
  pendingRead: ((err?: Error) => void) | null;
  update(o: { baudRate: number }): Promise<void>;
}

let n = 0;
async function setup(extra = '') {
  const path = `/dev/ttyMOCK${n++}`;
  binding.createPort(path, { record: true });
  const clock = new ManualClock();
  const { uart, port } = hostTestPort({ clock });
  // The 8N1 a Linux driver programs before using the port.
  port.write(LCR, 0x03);
  port.write(MCR, 0x0b); // DTR | RTS | OUT2
  const backend = createBackend(`serialport:${path}${extra}`, { clock, binding }) as SerialPortBackend;
  const events: HostEvent[] = [];
  backend.onEvent((e) => events.push(e));
  const att: Attachment = await attach(port, backend);
  const mock = () => (backend.device as unknown as { port: MockBindingPort }).port;
  return { path, clock, uart, port, backend, att, events, mock };
}

function readAll(port: { read(off: number): number }): number[] {
  const out: number[] = [];
  while (port.read(LSR) & LSR_DR) out.push(port.read(RBR));
  return out;
}

test.after.each(() => binding.reset());

test('guest THR bytes reach the mock port', async () => {
  const { uart, port, att, mock } = await setup();
  assert.is(uart.wiring, 'host');
  for (const c of Buffer.from('hello')) port.write(THR, c);
  await until(() => mock().recording.toString() === 'hello', 'mock recorded "hello"');
  assert.ok(port.read(LSR) & LSR_THRE);
  assert.is(att.status().txBytes, 5);
  await att.detach();
  assert.is(uart.wiring, 'loopback', 'detach returns the port to loopback');
});

test('mock port bytes arrive in RBR at the line rate and raise the RX interrupt', async () => {
  const { uart, port, att, mock, clock } = await setup();
  const levels: boolean[] = [];
  uart.onIrqLine = (l) => levels.push(l);
  port.write(FCR, 0x01); // FIFO on, trigger 1 (in 16450 mode the line delivers one byte per guest read)
  port.write(IER, 0x01); // ERBFI
  mock().emitData(Buffer.from('abc'));
  await until(() => uart.irq, 'INTR raised by received data');
  assert.equal(levels, [true]);
  // At the guest's line rate: the first byte now, then one per character time (9600 8N1: 1042 us).
  const ct = charTimeNs(uart.lineSettings);
  assert.is(ct, 1_041_667);
  assert.is(att.status().rxBytes, 1, 'one byte on an idle line');
  clock.advance(ct - 1);
  assert.is(att.status().rxBytes, 1, 'not before its wire time');
  clock.advance(1);
  assert.is(att.status().rxBytes, 2);
  clock.advance(ct);
  await until(() => att.status().rxBytes === 3, 'all 3 bytes in the FIFO');
  assert.is(port.read(IIR) & 0x0f, 0x04, 'IIR: received data available');
  assert.equal(readAll(port), [0x61, 0x62, 0x63]);
  assert.is(uart.irq, false, 'reading RBR cleared the interrupt');
  assert.equal(levels, [true, false]);
  assert.is(att.status().rxBytes, 3);
  await att.detach();
});

test("16450 mode (FIFO off): the guest's RBR read lets the next byte in at once if its wire time has passed, never before", async () => {
  const { uart, port, att, mock, clock } = await setup();
  port.write(FCR, 0x00);
  const ct = charTimeNs(uart.lineSettings);
  mock().emitData(Buffer.from('xyz'));
  await until(() => att.status().rxBytes === 1, "'x' on an idle line");
  clock.advance(ct); // 'y' is due, but RBR is full: it waits for the guest, no poll
  assert.is(att.status().rxBytes, 1);
  assert.is(port.read(RBR), 0x78);
  assert.is(att.status().rxBytes, 2, "the RBR read kicked 'y' in, its wire time had passed");
  assert.is(port.read(RBR), 0x79);
  assert.is(port.read(LSR) & LSR_DR, 0, "'z' is not due yet");
  clock.advance(ct - 1);
  assert.is(port.read(LSR) & LSR_DR, 0);
  clock.advance(1);
  assert.is(port.read(LSR) & LSR_DR, LSR_DR);
  assert.is(port.read(RBR), 0x7a);
  await att.detach();
});

test('guest divisor/LCR changes reach the device; refusals degrade and are reported', async () => {
  const { uart, port, att, backend, mock, events } = await setup(',115200');
  assert.is(mock().port.openOpt!.baudRate, 115200, 'opened at the spec speed');
  assert.is(mock().openOptions.dataBits, 8);
  // 19200: DLAB, DLL=6, DLM=0, 8N1 (a different divisor than at attach: the guest's speed now wins)
  port.write(LCR, 0x83);
  port.write(0, 6);
  port.write(1, 0);
  port.write(LCR, 0x03);
  att.kick();
  await until(() => mock().port.openOpt?.baudRate === 19200, 'baud 19200 applied with update()');
  // 7E2 needs a reopen (serialport sets framing only at open).
  port.write(LCR, 0x1e);
  att.kick();
  await until(() => mock()?.openOptions.dataBits === 7, 'reopened with 7 data bits');
  assert.is(mock().openOptions.parity, 'even');
  assert.is(mock().openOptions.stopBits, 2);
  assert.is(mock().openOptions.baudRate, 19200);
  assert.ok(events.some((e) => e.type === 'settings' && e.settings.dataBits === 7));
  // The line still works after the reopen.
  for (const c of Buffer.from('ok')) port.write(THR, c);
  await until(() => mock().recording.toString() === 'ok', 'TX after reopen');
  // A device that refuses a speed: degrade, keep going, say so once.
  mock().update = async () => {
    throw new Error('EINVAL: speed not supported');
  };
  port.write(LCR, 0x9e);
  port.write(0, 1); // 115200
  port.write(LCR, 0x1e);
  att.kick();
  await until(() => events.some((e) => e.type === 'degraded'), 'degraded event');
  assert.match(backend.status().warnings.join('\n'), /refused 115200 baud/);
  assert.is(backend.status().state, 'connected');
  await att.detach();
});

test('back-pressure: a full FIFO holds bytes, past the receive window the mock port is paused; nothing overruns, order kept', async () => {
  const { uart, port, att, mock, clock } = await setup();
  port.write(FCR, 0x01); // FIFO on: 16 deep, trigger 1
  const total = HOLD_HIGH_WATER + 16 + 100;
  const sent = Buffer.from(Array.from({ length: total }, (_, i) => 0x20 + (i % 90)));
  mock().emitData(sent);
  await until(() => att.status().rxBytes > 0, 'the first byte at once');
  clock.advance(20 * charTimeNs(uart.lineSettings));
  await until(() => att.status().rxHeld === total - 16, '16 in the FIFO, the rest held');
  assert.ok(att.status().rxPaused, 'host stream paused past the receive window');
  assert.is(uart.rxSpace(), 0);
  const got: number[] = [];
  for (let round = 0; got.length < total && round < 1000; round++) {
    const lsr = port.read(LSR);
    assert.is(lsr & LSR_OE, 0, `no overrun in round ${round}`);
    got.push(...readAll(port));
    // The guest's RBR reads kicked the pump; the next bytes come at the line rate.
    clock.advance(16 * charTimeNs(uart.lineSettings));
    if (round === 1) assert.ok(att.status().rxPaused, 'still paused while above half the window');
  }
  assert.equal(Buffer.from(got), sent);
  assert.is(att.status().rxHeld, 0);
  assert.is(att.status().rxPaused, false, 'resumed once below half the window');
  assert.is(port.read(LSR) & LSR_OE, 0);
  await att.detach();
});

test('unplug mid-transfer: events, modem inputs drop with deltas, TX counted, RX tail delivered, UART usable', async () => {
  const { uart, port, att, mock, events, clock } = await setup();
  port.write(FCR, 0x01);
  port.write(IER, 0x08); // EDSSI: modem status interrupts
  port.read(MSR); // clear deltas from set-up
  const sent = Buffer.from('0123456789abcdefghijKLMN'); // 24 bytes: 8 held back
  mock().emitData(sent);
  await until(() => att.status().rxBytes > 0, 'the first byte at once');
  clock.advance(24 * charTimeNs(uart.lineSettings));
  await until(() => att.status().rxHeld === 8, 'FIFO full, 8 held');
  // Part of a guest transmission is in flight when the cable goes.
  for (const c of Buffer.from('tx1')) port.write(THR, c);
  await until(() => mock().recording.toString() === 'tx1', 'first TX delivered');
  await until(() => mock().pendingRead !== null, 'a read is pending on the device');
  mock().pendingRead!(new Error('device unplugged'));
  await until(() => att.status().state === 'disconnected', 'state disconnected');
  const ev = events.find((e) => e.type === 'disconnected');
  assert.ok(ev, 'disconnected event');
  assert.match(ev!.message, /device unplugged/);
  // MSR: CTS/DSR/DCD low, DCTS|DDSR|DDCD set, and the MS interrupt is pending.
  assert.is(port.read(IIR) & 0x0f, 0x00, 'IIR: modem status');
  const msr = port.read(MSR);
  assert.is(msr & 0xf0, 0x00, 'inputs low');
  assert.is(msr & 0x0b, 0x0b, 'DCTS, DDSR, DDCD');
  // TX goes nowhere but is counted and reported.
  for (const c of Buffer.from('lost!')) port.write(THR, c);
  await until(() => att.status().txDiscarded === 5, '5 TX bytes discarded');
  assert.ok(events.some((e) => e.type === 'tx-discarded'));
  assert.ok(port.read(LSR) & LSR_THRE, 'THR keeps draining');
  // Bytes that arrived before the unplug are not lost.
  const got = readAll(port);
  clock.advance(8 * charTimeNs(uart.lineSettings));
  got.push(...readAll(port));
  assert.equal(Buffer.from(got), sent);
  // Still a working UART: registers respond, and loopback works after detach.
  port.write(7, 0x5a);
  assert.is(port.read(7), 0x5a);
  await att.detach();
  assert.is(uart.wiring, 'loopback');
  port.write(THR, 0x21);
  assert.equal(readAll(port), [0x21]);
});

test('opening a missing device is ENOENT and leaves the UART as it was', async () => {
  const { uart, port } = hostTestPort();
  uart.wiring = 'loopback';
  const backend = createBackend('serialport:/dev/ttyNOPE', { clock: new ManualClock(), binding });
  try {
    await attach(port, backend);
    assert.unreachable('opened a missing device');
  } catch (e) {
    assert.is((e as { code?: string }).code, 'ENOENT');
  }
  assert.is(uart.wiring, 'loopback');
  assert.is(uart.onTransmit, null);
});

test('two back-ends racing for one port: one gets the line, the other EBUSY with nothing left open', async () => {
  const { uart, port } = hostTestPort();
  const clock = new ManualClock();
  const paths = [`/dev/ttyMOCK${n++}`, `/dev/ttyMOCK${n++}`];
  for (const p of paths) binding.createPort(p, { record: true });
  const backends = paths.map((p) => createBackend(`serialport:${p}`, { clock, binding }) as SerialPortBackend);
  const results = await Promise.allSettled(backends.map((b) => attach(port, b)));
  assert.equal(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.is((lost.reason as { code?: string }).code, 'EBUSY');
  const won = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Attachment>).value;
  assert.equal(backends.map((b) => b.status().state).sort(), ['closed', 'connected']);
  await won.detach();
  assert.equal(backends.map((b) => b.status().state), ['closed', 'closed'], 'nothing left open after detach');
  assert.is(uart.wiring, 'loopback');
  assert.is(uart.onTransmit, null);
});

test.run();
