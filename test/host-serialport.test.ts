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
import { attachBackend, type Attachment } from '../src/host/attach.js';
import type { HostEvent } from '../src/host/backend.js';
import { createBackend } from '../src/host/create.js';
import type { SerialPortBackend } from '../src/host/serialport.js';
import { charTimeNs } from '../src/host/uart-port.js';
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
  const uart = Uart.create({ profile: 'pc16550d' });
  // The 8N1 a Linux driver programs before using the port.
  uart.write(LCR, 0x03);
  uart.write(MCR, 0x0b); // DTR | RTS | OUT2
  const backend = createBackend(`serialport:${path}${extra}`, { clock, binding }) as SerialPortBackend;
  const events: HostEvent[] = [];
  backend.onEvent((e) => events.push(e));
  const att: Attachment = await attachBackend(uart, backend);
  const mock = () => (backend.device as unknown as { port: MockBindingPort }).port;
  return { path, clock, uart, backend, att, events, mock };
}

function readAll(uart: Uart): number[] {
  const out: number[] = [];
  while (uart.read(LSR) & LSR_DR) out.push(uart.read(RBR));
  return out;
}

test.after.each(() => binding.reset());

test('guest THR bytes reach the mock port', async () => {
  const { uart, att, mock } = await setup();
  assert.is(uart.wiring, 'host');
  for (const c of Buffer.from('hello')) uart.write(THR, c);
  await until(() => mock().recording.toString() === 'hello', 'mock recorded "hello"');
  assert.ok(uart.read(LSR) & LSR_THRE);
  assert.is(att.status().txBytes, 5);
  await att.detach();
  assert.is(uart.wiring, 'loopback', 'detach returns the port to loopback');
});

test('mock port bytes arrive in RBR and raise the RX interrupt', async () => {
  const { uart, att, mock } = await setup();
  const levels: boolean[] = [];
  uart.onIrqLine = (l) => levels.push(l);
  uart.write(FCR, 0x01); // FIFO on, trigger 1 (in 16450 mode the line delivers one byte per guest read)
  uart.write(IER, 0x01); // ERBFI
  mock().emitData(Buffer.from('abc'));
  await until(() => uart.irq, 'INTR raised by received data');
  assert.equal(levels, [true]);
  await until(() => att.status().rxBytes === 3, 'all 3 bytes in the FIFO');
  assert.is(uart.read(IIR) & 0x0f, 0x04, 'IIR: received data available');
  assert.equal(readAll(uart), [0x61, 0x62, 0x63]);
  assert.is(uart.irq, false, 'reading RBR cleared the interrupt');
  assert.equal(levels, [true, false]);
  assert.is(att.status().rxBytes, 3);
  await att.detach();
});

test('guest divisor/LCR changes reach the device; refusals degrade and are reported', async () => {
  const { uart, att, backend, mock, events } = await setup(',115200');
  assert.is(mock().port.openOpt!.baudRate, 115200, 'opened at the spec speed');
  assert.is(mock().openOptions.dataBits, 8);
  // 19200: DLAB, DLL=6, DLM=0, 8N1 (a different divisor than at attach: the guest's speed now wins)
  uart.write(LCR, 0x83);
  uart.write(0, 6);
  uart.write(1, 0);
  uart.write(LCR, 0x03);
  att.kick();
  await until(() => mock().port.openOpt?.baudRate === 19200, 'baud 19200 applied with update()');
  // 7E2 needs a reopen (serialport sets framing only at open).
  uart.write(LCR, 0x1e);
  att.kick();
  await until(() => mock()?.openOptions.dataBits === 7, 'reopened with 7 data bits');
  assert.is(mock().openOptions.parity, 'even');
  assert.is(mock().openOptions.stopBits, 2);
  assert.is(mock().openOptions.baudRate, 19200);
  assert.ok(events.some((e) => e.type === 'settings' && e.settings.dataBits === 7));
  // The line still works after the reopen.
  for (const c of Buffer.from('ok')) uart.write(THR, c);
  await until(() => mock().recording.toString() === 'ok', 'TX after reopen');
  // A device that refuses a speed: degrade, keep going, say so once.
  mock().update = async () => {
    throw new Error('EINVAL: speed not supported');
  };
  uart.write(LCR, 0x9e);
  uart.write(0, 1); // 115200
  uart.write(LCR, 0x1e);
  att.kick();
  await until(() => events.some((e) => e.type === 'degraded'), 'degraded event');
  assert.match(backend.status().warnings.join('\n'), /refused 115200 baud/);
  assert.is(backend.status().state, 'connected');
  await att.detach();
});

test('back-pressure: a full FIFO pauses the mock port, nothing overruns, order kept (LSR.OE stays 0)', async () => {
  const { uart, att, mock, clock } = await setup();
  uart.write(FCR, 0x01); // FIFO on: 16 deep, trigger 1
  const sent = Buffer.from(Array.from({ length: 40 }, (_, i) => 0x30 + i));
  mock().emitData(sent);
  await until(() => att.status().rxHeld === 24, '16 in the FIFO, 24 held');
  assert.ok(att.status().rxPaused, 'host stream paused');
  assert.is(uart.rxSpace(), 0);
  const got: number[] = [];
  for (let round = 0; round < 3; round++) {
    const lsr = uart.read(LSR);
    assert.is(lsr & LSR_OE, 0, `no overrun in round ${round}`);
    got.push(...readAll(uart));
    // The guest read RBR; the pump notices at its next poll (one character time).
    clock.advance(charTimeNs(uart.lineSettings));
  }
  assert.equal(Buffer.from(got), sent);
  assert.is(att.status().rxHeld, 0);
  assert.is(att.status().rxPaused, false, 'resumed once everything was delivered');
  assert.is(uart.read(LSR) & LSR_OE, 0);
  await att.detach();
});

test('unplug mid-transfer: events, modem inputs drop with deltas, TX counted, RX tail delivered, UART usable', async () => {
  const { uart, att, mock, events, clock } = await setup();
  uart.write(FCR, 0x01);
  uart.write(IER, 0x08); // EDSSI: modem status interrupts
  uart.read(MSR); // clear deltas from set-up
  const sent = Buffer.from('0123456789abcdefghijKLMN'); // 24 bytes: 8 held back
  mock().emitData(sent);
  await until(() => att.status().rxHeld === 8, 'FIFO full, 8 held');
  // Part of a guest transmission is in flight when the cable goes.
  for (const c of Buffer.from('tx1')) uart.write(THR, c);
  await until(() => mock().recording.toString() === 'tx1', 'first TX delivered');
  await until(() => mock().pendingRead !== null, 'a read is pending on the device');
  mock().pendingRead!(new Error('device unplugged'));
  await until(() => att.status().state === 'disconnected', 'state disconnected');
  const ev = events.find((e) => e.type === 'disconnected');
  assert.ok(ev, 'disconnected event');
  assert.match(ev!.message, /device unplugged/);
  // MSR: CTS/DSR/DCD low, DCTS|DDSR|DDCD set, and the MS interrupt is pending.
  assert.is(uart.read(IIR) & 0x0f, 0x00, 'IIR: modem status');
  const msr = uart.read(MSR);
  assert.is(msr & 0xf0, 0x00, 'inputs low');
  assert.is(msr & 0x0b, 0x0b, 'DCTS, DDSR, DDCD');
  // TX goes nowhere but is counted and reported.
  for (const c of Buffer.from('lost!')) uart.write(THR, c);
  await until(() => att.status().txDiscarded === 5, '5 TX bytes discarded');
  assert.ok(events.some((e) => e.type === 'tx-discarded'));
  assert.ok(uart.read(LSR) & LSR_THRE, 'THR keeps draining');
  // Bytes that arrived before the unplug are not lost.
  const got = readAll(uart);
  clock.advance(charTimeNs(uart.lineSettings));
  got.push(...readAll(uart));
  assert.equal(Buffer.from(got), sent);
  // Still a working UART: registers respond, and loopback works after detach.
  uart.write(7, 0x5a);
  assert.is(uart.read(7), 0x5a);
  await att.detach();
  assert.is(uart.wiring, 'loopback');
  uart.write(THR, 0x21);
  assert.equal(readAll(uart), [0x21]);
});

test('opening a missing device is ENOENT and leaves the UART as it was', async () => {
  const uart = Uart.create({ profile: 'pc16550d' });
  uart.wiring = 'loopback';
  const backend = createBackend('serialport:/dev/ttyNOPE', { clock: new ManualClock(), binding });
  try {
    await attachBackend(uart, backend);
    assert.unreachable('opened a missing device');
  } catch (e) {
    assert.is((e as { code?: string }).code, 'ENOENT');
  }
  assert.is(uart.wiring, 'loopback');
  assert.is(uart.onTransmit, null);
});

test('two attaches racing on one UART: the loser is closed, not left feeding RX after detach', async () => {
  const uart = Uart.create({ profile: 'pc16550d' });
  uart.wiring = 'loopback';
  const clock = new ManualClock();
  const paths = [`/dev/ttyMOCK${n++}`, `/dev/ttyMOCK${n++}`];
  for (const p of paths) binding.createPort(p, { record: true });
  const backends = paths.map((p) => createBackend(`serialport:${p}`, { clock, binding }) as SerialPortBackend);
  // Two control requests for the same port in flight at once (two consoles, a script and a user).
  const atts = await Promise.all(backends.map((b) => attachBackend(uart, b)));
  const states = backends.map((b) => b.status().state);
  assert.equal(states.filter((s) => s === 'connected').length, 1, `exactly one line on the port, got ${states.join(', ')}`);
  const last = atts[atts.length - 1]!;
  assert.is(last.backend.status().state, 'connected', 'the later request wins');
  await last.detach();
  assert.equal(backends.map((b) => b.status().state), ['closed', 'closed'], 'nothing left open after detach');
  assert.is(uart.wiring, 'loopback');
  assert.is(uart.onTransmit, null);
});

test.run();
