/** Register file of profile pc16550d: reset values, reserved bits, DLAB, detection probes. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart, describeRegister, registerName, REG, LSR } from '../src/uart/index.js';

const regs = (u: Uart) => [0, 1, 2, 3, 4, 5, 6, 7].map((o) => u.read(o));

test('master-reset values: IER 0, IIR 0x01, LCR 0, MCR 0, LSR 0x60, MSR 0xB0 (connected line), SCR 0', () => {
  const u = Uart.create();
  assert.equal(regs(u), [0x00, 0x00, 0x01, 0x00, 0x00, 0x60, 0xb0, 0x00]);
  u.dispose();
});

test('divisor latch is 0x000C (9600 baud) after reset, reached with DLAB', () => {
  const u = Uart.create();
  u.write(3, 0x80);
  assert.is(u.read(0), 0x0c);
  assert.is(u.read(1), 0x00);
  assert.is(u.lineSettings.baud, 9600);
  u.dispose();
});

test('DLAB remaps only offsets 0 and 1: THR/IER writes land in DLL/DLM, offset 2 stays IIR/FCR', () => {
  const u = Uart.create();
  const sent: number[] = [];
  u.onTransmit = (b) => sent.push(b);
  u.write(3, 0x80);
  u.write(0, 0x01);
  u.write(1, 0x02);
  assert.equal(sent, [], 'nothing transmitted');
  u.write(2, 0x01); // FCR still reachable with DLAB set
  assert.is(u.read(2), 0xc1);
  u.write(3, 0x03);
  assert.is(u.read(1), 0x00, 'IER untouched');
  assert.is(u.lineSettings.divisor, 0x0201);
  u.dispose();
});

test('IER bits 4-7 read as 0', () => {
  const u = Uart.create();
  u.write(1, 0xff);
  assert.is(u.read(1), 0x0f);
  u.dispose();
});

test('MCR bits 5-7 read as 0', () => {
  const u = Uart.create();
  u.write(4, 0xff);
  assert.is(u.read(4), 0x1f);
  u.dispose();
});

test('MCR bits 5-7 read as 0 also for state that came from the mtty profile (switch, or a sample record)', () => {
  const u = Uart.create({ profile: 'mtty' });
  u.write(4, 0xeb); // the sample stores MCR raw (AFE 0x20 and bits 6-7 included)
  assert.is(u.read(4), 0xeb);
  u.profile = 'pc16550d';
  assert.is(u.read(4), 0x0b);
  assert.is(u.peek(4), 0x0b);
  const v = Uart.create();
  const rec = Uart.create({ profile: 'mtty' });
  rec.write(4, 0xe3);
  v.fromMttyRecord(rec.toMttyRecord());
  assert.is(v.read(4), 0x03);
  u.dispose();
  v.dispose();
  rec.dispose();
});

test('IIR bit 5 is never set (Linux TI16750 probe concludes "not a 16750")', () => {
  const u = Uart.create();
  u.write(3, 0x00);
  u.write(2, 0x21);
  const s1 = u.read(2) & 0xe0;
  u.write(2, 0x01);
  u.write(3, 0x80);
  u.write(2, 0x21);
  const s2 = u.read(2) & 0xe0;
  assert.is(s1, 0xc0);
  assert.is(s2, 0xc0);
  assert.ok(!(s1 === 0xc0 && s2 === 0xe0));
  u.dispose();
});

test('SCR round-trips 0xA5 and 0x5A (Linux tells 16450 from 8250 by it)', () => {
  const u = Uart.create();
  u.write(7, 0xa5);
  assert.is(u.read(7), 0xa5);
  u.write(7, 0x5a);
  assert.is(u.read(7), 0x5a);
  u.dispose();
});

test('Linux autoconfig concludes 16550A: IER test, loop test, then IIR & 0xC0 == 0xC0 after FCR=1', () => {
  const u = Uart.create();
  u.write(1, 0x00);
  assert.is(u.read(1) & 0x0f, 0x00);
  u.write(1, 0x0f);
  assert.is(u.read(1) & 0x0f, 0x0f);
  u.write(1, 0x00);
  const mcr = u.read(4);
  u.write(4, 0x1a);
  assert.is(u.read(6) & 0xf0, 0x90, 'loopback test');
  u.write(4, mcr);
  u.write(3, 0xbf);
  u.write(2, 0x00);
  u.write(3, 0x00);
  u.write(2, 0x01);
  assert.is(u.read(2) & 0xc0, 0xc0);
  u.dispose();
});

test('IIR bits 6-7 are clear again once FIFOs are disabled (FCR=0)', () => {
  const u = Uart.create();
  u.write(2, 0x01);
  assert.is(u.read(2) & 0xc0, 0xc0);
  u.write(2, 0x00);
  assert.is(u.read(2) & 0xc0, 0x00);
  u.dispose();
});

test('LSR and MSR writes are ignored', () => {
  const u = Uart.create();
  u.write(5, 0xff);
  u.write(6, 0x0f);
  assert.is(u.read(5), 0x60);
  assert.is(u.read(6), 0xb0);
  u.dispose();
});

test('lineSettings decodes LCR and divisor', () => {
  const u = Uart.create();
  u.write(3, 0x80);
  u.write(0, 0x01);
  u.write(3, 0x1b); // 8 data, even parity, 1 stop
  // 8E1 = 11 bits per character at 115200 baud.
  assert.equal(u.lineSettings, { divisor: 1, baud: 115200, dataBits: 8, parity: 'even', stopBits: 1, charTimeNs: (11 * 1e9) / 115200 });
  u.write(3, 0x0c); // 5 data, odd parity, 1.5 stop
  assert.equal(u.lineSettings, { divisor: 1, baud: 115200, dataBits: 5, parity: 'odd', stopBits: 1.5, charTimeNs: (8.5 * 1e9) / 115200 });
  u.write(3, 0x2e); // 7 data, stick parity with EPS=0 -> mark, 2 stop
  assert.equal(u.lineSettings.parity, 'mark');
  assert.equal(u.lineSettings.stopBits, 2);
  u.write(3, 0x3a);
  assert.equal(u.lineSettings.parity, 'space');
  u.dispose();
});

test('reset() restores the datasheet table and keeps profile, wiring and modem inputs', () => {
  const u = Uart.create({ wiring: 'loopback', modemInputs: 0x30 });
  u.write(1, 0x0f);
  u.write(2, 0xc7);
  u.write(3, 0x9b);
  u.write(0, 0x55); // DLL under DLAB
  u.write(3, 0x1b);
  u.write(4, 0x0b);
  u.write(7, 0x42);
  u.reset();
  assert.equal(regs(u), [0x00, 0x00, 0x01, 0x00, 0x00, 0x60, 0x30, 0x00]);
  assert.is(u.wiring, 'loopback');
  assert.is(u.lineSettings.divisor, 0x0c);
  u.dispose();
});

test('peek returns what read would, without side effects', () => {
  const u = Uart.create();
  u.write(1, 0x02); // THRE pending
  assert.is(u.peek(2), 0x02);
  assert.is(u.peek(2), 0x02, 'peek did not acknowledge THRE');
  assert.is(u.read(2), 0x02);
  assert.is(u.read(2), 0x01, 'read did');
  u.dispose();
});

test('describeRegister decodes values for people (DLAB-aware names)', () => {
  assert.is(describeRegister(REG.LSR, LSR.DR | LSR.THRE | LSR.TEMT, 'r'), 'LSR 0x61: DR THRE TEMT');
  assert.is(describeRegister(2, 0xcc, 'r'), 'IIR 0xcc: character timeout, FIFOs on');
  assert.is(describeRegister(2, 0x81, 'w'), 'FCR 0x81: FIFOs on, RX trigger 8');
  assert.is(describeRegister(3, 0x1b, 'w'), 'LCR 0x1b: 8E1');
  assert.is(describeRegister(0, 0x41, 'w'), "THR 0x41: data byte 'A'");
  assert.is(registerName(1, 'w', true), 'DLM');
});

test.run();
