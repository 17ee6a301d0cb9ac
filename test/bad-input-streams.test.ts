/**
 * Bad input to the Uart's own entry points (options, registers, host input,
 * time, the versioned snapshot and the kernel's 36-byte port record) and to
 * the replay trace parser. Every Uart row must fail with EINVAL (MttyError)
 * and leave the port bit-for-bit as it was (saveState before == after); a
 * forged snapshot field must never reach the core. Trace rows must fail with
 * a TraceError naming the offending line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isMttyError } from '../src/errors/errno.js';
import { Uart } from '../src/uart/index.js';
import { parseTrace, TraceError } from '../src/replay/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const any = (v: unknown) => v as any;

/** Snapshot layout (assembly/snapshot.ts + layout.ts): 8-byte header, then the slot bytes. */
const H = 8;
const forge = (edit: (s: Uint8Array, v: DataView) => void) => (u: Uart) => {
  const s = u.saveState();
  edit(s, new DataView(s.buffer, s.byteOffset, s.length));
  u.restoreState(s);
};
const forgeRecord = (edit: (r: Uint8Array) => void) => (u: Uart) => {
  const r = u.toMttyRecord();
  edit(r);
  u.fromMttyRecord(r);
};

const UART_ROWS: [string, (u: Uart) => unknown][] = [
  ['create: unknown profile', () => Uart.create({ profile: any('16450') })],
  ['create: unknown wiring', () => Uart.create({ wiring: any('null-modem') })],
  ['create: modem bits in the low nibble', () => Uart.create({ modemInputs: 0x0f })],
  ['read offset 8', (u) => u.read(8)],
  ['read offset -1', (u) => u.read(-1)],
  ['read offset 1.5', (u) => u.read(1.5)],
  ['peek offset 8', (u) => u.peek(8)],
  ['write value 256', (u) => u.write(7, 256)],
  ['write value -1', (u) => u.write(7, -1)],
  ['write offset 9', (u) => u.write(9, 0)],
  ['receive 256', (u) => u.receive(256)],
  ['receiveError with DR bit', (u) => u.receiveError(0x41, 0x01)],
  ['setModemInputs 0x01', (u) => u.setModemInputs(0x01)],
  ['advance -1', (u) => u.advance(-1)],
  ['advance NaN', (u) => u.advance(NaN)],
  ['advance Infinity', (u) => u.advance(Infinity)],
  ['profile = "x"', (u) => (u.profile = any('x'))],
  ['wiring = 3', (u) => (u.wiring = any(3))],
  ['restoreState: not bytes', (u) => u.restoreState(any([1, 2, 3]))],
  ['restoreState: empty', (u) => u.restoreState(new Uint8Array(0))],
  ['restoreState: one byte short', (u) => u.restoreState(u.saveState().subarray(1))],
  ['restoreState: one byte long', (u) => u.restoreState(Uint8Array.from([...u.saveState(), 0]))],
  ['restoreState: larger than the io buffer', (u) => u.restoreState(new Uint8Array(1 << 20))],
  ['restoreState: bad magic', forge((s) => (s[0] = 0x56))],
  ['restoreState: version 3 (unknown)', forge((s, v) => v.setUint16(4, 3, true))],
  ['restoreState: version 1 with a version 2 length', forge((s, v) => v.setUint16(4, 1, true))],
  ['restoreState: RX head 16', forge((s) => (s[H + 16] = 16))],
  ['restoreState: RX count 17', forge((s) => (s[H + 17] = 17))],
  ['restoreState: TX head 200', forge((s) => (s[H + 18] = 200))],
  ['restoreState: TX count 17', forge((s) => (s[H + 19] = 17))],
  ['restoreState: profile 2', forge((s) => (s[H + 12] = 2))],
  ['restoreState: wiring 7', forge((s) => (s[H + 13] = 7))],
  ['restoreState: THRE pending 2', forge((s) => (s[H + 9] = 2))],
  ['restoreState: IRQ level 2', forge((s) => (s[H + 11] = 2))],
  ['restoreState: unknown flag bits', forge((s) => (s[H + 15] = 0x80))],
  ['restoreState: max_fifo_size 8', forge((s) => (s[H + 22] = 8))],
  ['restoreState: LSR error byte with DR', forge((s) => (s[H + 3] = 0x01))],
  ['restoreState: MSR delta with input bits', forge((s) => (s[H + 4] = 0x10))],
  ['restoreState: modem inputs with low bits', forge((s) => (s[H + 14] = 0x01))],
  ['restoreState: NaN clock', forge((s, v) => v.setFloat64(H + 24, NaN, true))],
  ['restoreState: negative clock', forge((s, v) => v.setFloat64(H + 32, -1, true))],
  ['restoreState: error flag on an empty RX slot', forge((s) => (s[H + 56] = 0x04))],
  ['restoreState: error count without flagged bytes', forge((s) => (s[H + 20] = 3))],
  ['fromMttyRecord: 35 bytes', (u) => u.fromMttyRecord(u.toMttyRecord().subarray(1))],
  ['fromMttyRecord: not bytes', (u) => u.fromMttyRecord(any('record'))],
  ['fromMttyRecord: count 17', forgeRecord((r) => ((r[26] = 17), (r[24] = (r[25]! + 17) & 15)))],
  ['fromMttyRecord: head != tail + count', forgeRecord((r) => ((r[26] = 2), (r[24] = r[25]!)))],
  ['fromMttyRecord: tail 16', forgeRecord((r) => (r[25] = 16))],
  ['fromMttyRecord: max_fifo_size 2', forgeRecord((r) => (r[33] = 2))],
  ['fromMttyRecord: dlab 2', forgeRecord((r) => (r[27] = 2))],
  ['fromMttyRecord: overrun 9', forgeRecord((r) => (r[28] = 9))],
];

test('every bad Uart input is EINVAL and leaves the port exactly as it was', () => {
  const live = Uart.livePorts;
  const u = Uart.create({ wiring: 'loopback' });
  // Distinctive state so a partial restore would show: FIFOs, two bytes queued, IER, SCR.
  u.write(2, 0xc1);
  u.write(0, 0x31);
  u.write(0, 0x32);
  u.write(1, 0x05);
  u.write(7, 0x77);
  const failures: string[] = [];
  for (const [what, call] of UART_ROWS) {
    const before = u.saveState();
    const levelBefore = u.irq;
    let got: unknown = null;
    try {
      call(u);
    } catch (e) {
      got = e;
    }
    if (!isMttyError(got) || got.code !== 'EINVAL') failures.push(`${what}: expected EINVAL, got ${got === null ? 'success' : String(got)}`);
    if (Buffer.compare(u.saveState(), before) !== 0 || u.irq !== levelBefore) failures.push(`${what}: port state changed`);
  }
  assert.equal(failures, []);
  assert.is(Uart.livePorts, live + 1, 'a failed create must not take a handle');
  // Still serving: the queued bytes come out in order.
  assert.is(u.read(0), 0x31);
  assert.is(u.read(0), 0x32);
  u.dispose();
  // After dispose every call is EINVAL, never a trap or another port's state.
  for (const call of [() => u.read(0), () => u.write(7, 1), () => u.saveState(), () => u.advance(1), () => u.irq]) {
    try {
      call();
      assert.unreachable('a disposed port answered');
    } catch (e) {
      assert.ok(isMttyError(e) && e.code === 'EINVAL', String(e));
    }
  }
});

const TRACE_ROWS: [string, number][] = [
  ['W 0 0x41\nR 8 0x00', 2],
  ['X 1 0x02', 1],
  ['W 0 0x100', 1],
  ['W 0', 1],
  ['R 0 zz', 1],
  ['W 0 0x41\n# irq 2', 2],
  ['W 0 0x41\n# initial: MCR=0x08', 2],
  ['# initial: FOO=1', 1],
  ['# initial: MSR-inputs=CTS,XYZ', 1],
  ['# initial: MCR', 1],
  ['serial_ioport_write write addr 0x09 val 0x00', 1],
];

test('bad replay trace lines fail with the file and line', () => {
  const failures: string[] = [];
  for (const [text, line] of TRACE_ROWS) {
    try {
      parseTrace(text, 't.trace');
      failures.push(`${JSON.stringify(text)}: parsed`);
    } catch (e) {
      if (!(e instanceof TraceError)) failures.push(`${JSON.stringify(text)}: ${String(e)}`);
      else if (e.line !== line || !e.message.startsWith(`t.trace:${line}:`)) failures.push(`${JSON.stringify(text)}: reported line ${e.line} (${e.message})`);
    }
  }
  assert.equal(failures, []);
  // And a good trace still parses after all that.
  assert.is(parseTrace('W 7 0x55\nR 7 0x55', 'ok.trace').events.length, 2);
});

test.run();
