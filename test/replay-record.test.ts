/**
 * --record (src/replay/record.ts) and multi-device replay: what a vfio-user
 * client does to an mtty device is written in the replay format, and
 * `mtty replay --check` on it passes (and fails when the trace is tampered
 * with). The real-guest version of this is in test/vm-guest.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../src/clock/clock.js';
import { commands as replayCommands } from '../src/cli/replay.js';
import { commands as serveCommands } from '../src/cli/serve.js';
import { loadMtty } from '../src/mtty/load.js';
import { mttyRecordingWrap } from '../src/mtty/record-target.js';
import { parseTrace, replayAll, replayTrace, traceDevices } from '../src/replay/index.js';
import { TraceRecorder } from '../src/replay/record.js';
import { VfioUserClient } from '../src/vfio-user/client.js';
import { native } from '../src/vfio-user/native.js';
import { qemuShutdown, qemuStartup } from '../src/vfio-user/qemu-startup.js';
import { attachVfioUser, serveVfioUser } from '../src/vfio-user/serve.js';
import { regionOffset } from '../src/vfio/uapi.js';
import { CountingSink } from './support/mtty-support.js';

const dir = mkdtempSync(join(tmpdir(), 'mtty-record-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function cli(cmd: typeof replayCommands[string], ...argv: string[]) {
  const out = new Sink();
  const err = new Sink();
  let code: number;
  try {
    code = await cmd!.run(argv, { stdout: out, stderr: err, stdin: process.stdin });
  } catch (e) {
    code = (e as Error).name === 'UsageError' ? 2 : 1;
    err.text += (e as Error).message;
  }
  return { code, out: out.text, err: err.text };
}

test('a vfio-user client on an mtty-2 is recorded (BAR accesses per port, config, SET_IRQS, interrupts) and replays with every read matching', async () => {
  const file = join(dir, 'one.trace');
  const mtty = await loadMtty();
  const mdev = mtty.parent.types.find((t) => t.id === 'mtty-2')!.create('6e2a3b4c-0000-4000-8000-000000000101');
  const rec = new TraceRecorder(file);
  const server = attachVfioUser(mdev, join(dir, 'one.sock'), { log: () => {}, wrap: mttyRecordingWrap(rec) });
  const client = VfioUserClient.connect(server.socketPath);
  try {
    const r = await qemuStartup(client);
    await client.regionRead(7, 0xfc, 4);
    await client.regionWrite(0, 2, Uint8Array.of(0x07)); // FCR: FIFOs on, cleared
    await client.regionWrite(0, 1, Uint8Array.of(0x02)); // IER = THRI -> an interrupt
    assert.is(native().eventfdRead(r.intx!.eventfd), 1);
    await client.regionRead(0, 2, 1); // IIR
    for (const ch of 'hello') await client.regionWrite(0, 0, Uint8Array.of(ch.charCodeAt(0)));
    for (let i = 0; i < 6; i++) await client.regionRead(0, 5, 1), await client.regionRead(0, 0, 1);
    await client.regionWrite(1, 7, Uint8Array.of(0x5a)); // port 1 SCR
    await client.regionRead(1, 7, 1);
    await qemuShutdown(client, r);
  } finally {
    await client.close();
    await server.close();
    rec.close();
    await mtty.unload();
  }
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^# device dev0 = 6e2a3b4c-0000-4000-8000-000000000101 mtty-2$/m);
  assert.match(text, /^# port dev0\.0: profile=pc16550d wiring=loopback$/m);
  assert.match(text, /^# initial dev0\.0: IER=0x00 /m);
  assert.match(text, /^# snapshot dev0\.1 @\d+: [A-Za-z0-9+/=]+$/m);
  assert.match(text, /^# dev0 cfg R 0x00\/4 0x32534348 @\d+$/m);
  assert.match(text, /^# dev0 cfg R 0xfc\/4 0x00000000 @\d+$/m, 'the last config dword, read as zeros');
  assert.match(text, /^# dev0 set_irqs flags=0x24 index=0 start=0 count=1 data=\[eventfd\] @\d+$/m);
  assert.match(text, /^# dev0 intx signalled @\d+$/m);
  assert.match(text, /^dev0\.0 W 1 0x02 @\d+$/m);
  assert.match(text, /^dev0\.0 W 0 0x68 @\d+$/m, "'h' written to THR");
  assert.match(text, /^dev0\.0 R 0 0x68 @\d+$/m, "'h' read back from RBR");
  assert.match(text, /^dev0\.1 R 7 0x5a @\d+$/m);

  const trace = parseTrace(text, file);
  assert.equal(traceDevices(trace), ['dev0.0', 'dev0.1']);
  const all = replayAll(trace);
  for (const r of all) assert.equal(r.mismatches, [], r.device);
  assert.ok(all[0]!.reads.length >= 13);
  const ok = await cli(replayCommands.replay, '--check', file);
  assert.is(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /dev0\.0: OK, \d+ accesses/);
  assert.match(ok.out, /dev0\.1: OK, 2 accesses/);

  // Tampered: the replay must notice, with the line number.
  const lines = text.split('\n');
  const at = lines.findIndex((l) => /^dev0\.0 R 0 0x68 /.test(l));
  lines[at] = lines[at]!.replace('R 0 0x68', 'R 0 0x69');
  const bad = join(dir, 'bad.trace');
  writeFileSync(bad, lines.join('\n'));
  const r = await cli(replayCommands.replay, '--check', bad);
  assert.is(r.code, 1);
  assert.ok(r.out.includes(`${bad}:${at + 1}: dev0.0: mismatch: R 0: trace 0x69, model 0x68`), r.out);
});

test('time is recorded: a character timeout the device raised is raised again on replay (IIR 0xcc)', async () => {
  const clock = new ManualClock();
  const file = join(dir, 'timeout.trace');
  const mtty = await loadMtty({ clock });
  const mdev = mtty.device(mtty.parent.types.find((t) => t.id === 'mtty-1')!.create().uuid)!;
  const rec = new TraceRecorder(file, clock);
  const dev = mttyRecordingWrap(rec)(mdev.open(), mdev);
  const BAR0 = regionOffset(0);
  dev.write(BAR0 + 3, 1, 0x80); // DLAB
  dev.write(BAR0 + 0, 1, 0x0c); // 9600 baud
  dev.write(BAR0 + 3, 1, 0x03); // 8N1
  dev.write(BAR0 + 2, 1, 0xc7); // FIFO, trigger 14
  dev.write(BAR0 + 1, 1, 0x01); // RDI
  dev.write(BAR0 + 0, 1, 0x41); // one byte loops back: below the trigger level
  assert.is(dev.read(BAR0 + 2, 1), 0xc1, 'no interrupt yet');
  clock.advance(10_000_000); // 10 ms: past 4 character times at 9600
  assert.is(dev.read(BAR0 + 2, 1), 0xcc, 'character timeout');
  dev.close();
  rec.close();
  await mtty.unload();
  const trace = parseTrace(readFileSync(file, 'utf8'), file);
  const r = replayTrace(trace);
  assert.equal(r.mismatches, []);
  assert.equal(r.reads.map((x) => x.value), [0xc1, 0xcc]);
  // Without the times the model never times out: the check fails, which is why they are written.
  const untimed = parseTrace(readFileSync(file, 'utf8').replace(/ @\d+$/gm, ''), file);
  assert.is(replayTrace(untimed).mismatches.length, 1);
});

test('the daemon records every device it serves into one multi-device trace; --device replays one', async () => {
  const file = join(dir, 'multi.trace');
  const mtty = await loadMtty({ profile: 'mtty' });
  const rec = new TraceRecorder(file);
  const svc = serveVfioUser({ dir: join(dir, 'socks'), bus: mtty.bus, log: () => {}, wrap: mttyRecordingWrap(rec) });
  const type2 = mtty.parent.types.find((t) => t.id === 'mtty-2')!;
  const a = type2.create();
  const b = type2.create();
  await new Promise((r) => setImmediate(r));
  for (const d of [a, b]) {
    const c = VfioUserClient.connect(svc.socketPath(d.uuid));
    const r = await qemuStartup(c, { intx: false });
    await c.regionWrite(1, 7, Uint8Array.of(d === a ? 0x11 : 0x22));
    await c.regionRead(1, 7, 1);
    await c.regionRead(0, 5, 1);
    await qemuShutdown(c, r);
    await c.close();
  }
  await svc.close();
  rec.close();
  await mtty.unload();
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^# port dev1\.1: profile=mtty wiring=loopback$/m);
  assert.match(text, /^dev1\.1 R 7 0x22 @\d+$/m);
  const one = await cli(replayCommands.replay, '--check', '--device', 'dev1.1', file);
  assert.is(one.code, 0, one.out + one.err);
  assert.match(one.out, /dev1\.1: OK, 2 accesses \(1 reads, no irq lines in trace\), profile mtty/);
  assert.not.match(one.out, /dev0/);
  const all = await cli(replayCommands.replay, '--check', file);
  assert.is(all.code, 0, all.out);
  assert.is(all.out.split('\n').filter((l) => / OK, /.test(l)).length, 4, all.out);
  const missing = await cli(replayCommands.replay, '--check', '--device', 'dev7.0', file);
  assert.is(missing.code, 2);
  assert.match(missing.err, /no device 'dev7\.0'.*dev0\.0, dev0\.1, dev1\.0, dev1\.1/);
});

test('trace syntax: DEVICE column and @ns are checked; --record without --vfio-user is a usage error', async () => {
  const f = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  let r = await cli(replayCommands.replay, '--check', f('t1', 'dev0.0 W 7 0x12 @5\ndev0.0 R 7 0x12 @x\n'));
  assert.is(r.code, 2);
  assert.match(r.err, /:2: time '@x' is not @<nanoseconds>/);
  r = await cli(replayCommands.replay, '--check', f('t2', 'a!b W 7 0x12\n'));
  assert.is(r.code, 2);
  assert.match(r.err, /:1: device name 'a!b'/);
  r = await cli(replayCommands.replay, '--check', f('t3', 'p0 W 7 0x12\np1 W 7 0x34\np0 R 7 0x12\np1 R 7 0x34\n'));
  assert.is(r.code, 0, r.out + r.err);
  r = await cli(replayCommands.replay, '--check', f('t4', 'p0 W 7 0x12\n# initial p0: SCR=0x01\n'));
  assert.is(r.code, 2);
  assert.match(r.err, /must come before the first access of p0/);
  const s = await cli(serveCommands.serve, '--record', join(dir, 'x.trace'), '--socket', join(dir, 'ctl.sock'));
  assert.is(s.code, 2);
  assert.match(s.err, /add --vfio-user DIR/);
});

test('a failed access is written with its errno and the device answers as without recording', async () => {
  const file = join(dir, 'err.trace');
  const mtty = await loadMtty();
  const mdev = mtty.device(mtty.parent.types.find((t) => t.id === 'mtty-2')!.create().uuid)!;
  const rec = new TraceRecorder(file);
  const dev = mttyRecordingWrap(rec)(mdev.open(), mdev);
  assert.throws(() => dev.read(regionOffset(7) + 0x100, 4), /does not fit/);
  assert.throws(() => dev.readBytes(regionOffset(0) + 7, 2), /reaches outside/);
  const sink = new CountingSink();
  dev.getInfo();
  dev.setIrqs({ flags: 0x24, index: 0, start: 0, count: 1, data: [sink] });
  dev.write(regionOffset(0) + 1, 1, 0x02);
  assert.is(sink.count, 1, 'the wrapped eventfd is still signalled');
  dev.close();
  rec.close();
  await mtty.unload();
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^# dev0 read 0x70000000100\/4 -> EINVAL @\d+$/m);
  assert.match(text, /^# dev0 read 0x7 2 bytes -> EFAULT @\d+$/m);
  assert.match(text, /^# dev0 intx signalled @\d+$/m);
  assert.match(text, /^# dev0 close @\d+$/m);
});

test('the committed recording of Linux 6.1 (examples/recordings) replays with every read matching, character timeout included', async () => {
  const file = fileURLToPath(new URL('../../examples/recordings/linux-6.1-mtty-2.trace', import.meta.url));
  const trace = parseTrace(readFileSync(file, 'utf8'), file);
  assert.equal(traceDevices(trace), ['dev0.0', 'dev0.1']);
  const r = replayTrace(trace, { device: 'dev0.0' });
  assert.equal(r.mismatches, []);
  assert.ok(r.reads.some((x) => x.offset === 2 && x.value === 0xcc), 'the guest saw a character timeout in IIR');
  assert.equal(r.reads.filter((x) => x.offset === 0).map((x) => String.fromCharCode(x.value)).join('').includes('hello'), true);
  const ok = await cli(replayCommands.replay, '--check', file);
  assert.is(ok.code, 0, ok.out);
});


/**
 * A clock whose every reading is `step` ns after the previous one: time
 * passes between the device's reading during an access and any reading
 * taken after it, as on a loaded machine. Timers are never fired (the
 * polling below brings the port's time up to date itself).
 */
class SteppingClock {
  private t = 0;
  constructor(private readonly step: number) {}
  now(): number {
    return (this.t += this.step);
  }
  setTimer(): () => void {
    return () => {};
  }
}

test('under load a recording still replays exactly: each access is stamped with the time the device used for it', async () => {
  for (const step of [1_000, 3_000, 7_000, 10_000, 25_000, 60_000]) {
    const clock = new SteppingClock(step);
    const file = join(dir, `loaded-${step}.trace`);
    const mtty = await loadMtty({ clock });
    const mdev = mtty.device(mtty.parent.types.find((t) => t.id === 'mtty-1')!.create().uuid)!;
    const rec = new TraceRecorder(file, clock);
    const dev = mttyRecordingWrap(rec)(mdev.open(), mdev);
    const BAR0 = regionOffset(0);
    dev.write(BAR0 + 3, 1, 0x80); // DLAB
    dev.write(BAR0 + 0, 1, 0x01); // divisor 1: 115200 baud
    dev.write(BAR0 + 1, 1, 0x00);
    dev.write(BAR0 + 3, 1, 0x03); // 8N1: 4 character times = 347.2 us
    dev.write(BAR0 + 2, 1, 0xc7); // FIFO, trigger 14
    dev.write(BAR0 + 1, 1, 0x01); // RDI
    const seen: number[] = [];
    for (let round = 0; round < 3; round++) {
      dev.write(BAR0 + 0, 1, 0x41 + round); // loops back: the timeout window starts
      // Poll IIR (with LSR reads between, which do not move the port's time) until the timeout shows.
      for (let i = 0; i < 2000; i++) {
        const iir = dev.read(BAR0 + 2, 1);
        seen.push(iir);
        if (iir === 0xcc) break;
        dev.read(BAR0 + 5, 1);
      }
      assert.is(seen[seen.length - 1], 0xcc, `step ${step}: the timeout fired live`);
      assert.is(dev.read(BAR0 + 0, 1), 0x41 + round);
    }
    dev.close();
    rec.close();
    await mtty.unload();
    const r = replayTrace(parseTrace(readFileSync(file, 'utf8'), file));
    assert.equal(r.mismatches, [], `step ${step} ns per clock reading`);
    assert.equal(r.reads.filter((x) => x.offset === 2).map((x) => x.value), seen, `step ${step}`);
  }
});

test.run();
