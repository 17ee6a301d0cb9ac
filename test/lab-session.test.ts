/**
 * The lab's model without a browser: the real mtty module and wasm UART,
 * driven by the product's one guest model (src/guest), in run and step mode,
 * in both UART profiles; the student's tools; sessions replayed; the
 * recorded Linux lesson. The page only renders what this object holds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadMtty } from '../src/mtty/load.js';
import { LabSession, type LabProfile } from '../src/lab/lab-session.js';
import { parseSession } from '../src/lab/session-file.js';
import { LESSONS, parseRecording } from '../src/lab/recording.js';
import { MttyError } from '../src/errors/errno.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const readLesson = (f: string) => readFile(EXAMPLES + f, 'utf8');

async function session(profile: LabProfile, mode: 'run' | 'step' = 'run') {
  const received: string[] = [];
  const s = await LabSession.create({
    load: loadMtty,
    profile,
    mode,
    readLesson,
    onByte: (_uuid, port, byte) => received.push(`${port}:${String.fromCharCode(byte)}`),
  });
  return { s, received };
}

const UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
const lines = (s: LabSession) => s.journal.map((e) => e.line);

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.instance(e, MttyError);
    return (e as MttyError).code;
  }
  return 'no error';
}

for (const profile of ['mtty', 'pc16550d'] as const) {
  test(`${profile}: create boots the guest (BIOS, 8250_pci, open at 115200); typed text comes back through RBR`, async () => {
    const { s, received } = await session(profile);
    assert.equal(s.types().map((t) => [t.id, t.available]), [['mtty-1', 24], ['mtty-2', 12]]);
    const dev = await s.createDevice('mtty-2', UUID);
    assert.equal(s.types().map((t) => t.available), [22, 11]);
    assert.equal(dev.attached?.fn.bars.map((b) => b.address), [0xc150, 0xc158], 'the BIOS placed both BARs');
    assert.equal([dev.ttyName(0), dev.ttyName(1)], ['ttyS1', 'ttyS2'], 'BAR0 ttyS1, BAR1 ttyS2 as in the kernel doc');
    assert.match(dev.lspciText(), /Serial controller: Device 4348:3253 \(rev 10\) \(prog-if 02 \[16550\]\)/);
    assert.match(dev.lspciText(), /^10: 51 c1 00 00 59 c1 00 00/m);
    assert.ok(lines(s).includes('ttyS2 W LCR 0x93 = 8E1, DLAB on') || lines(s).some((l) => /^ttyS2 W LCR 0x93 /.test(l)), 'set_termios went through DLAB');
    assert.is(dev.registerView(1).regs.DLL, 1, 'divisor 1 = 115200 baud');
    s.type(UUID, 1, 'hi');
    s.advanceTime(2_000_000); // a 16550 hands a tail below its trigger level over after the character timeout
    assert.equal(received, ['1:h', '1:i']);
    assert.ok(dev.irqSignals >= 2);
    assert.not.ok(dev.intxMasked, 'the handler ran and the VMM unmasked INTx');
    assert.ok(lines(s).includes("ttyS2 W THR 0x68 'h'"), lines(s).join('\n'));
    assert.ok(lines(s).some((l) => /^ttyS2 R RBR 0x69 'i'/.test(l)));
    assert.ok(lines(s).includes('IOCTL SET_IRQS INTx UNMASK'));
    const after = dev.registerView(1);
    assert.is(after.regs.IIR & 0x0f, 0x01, 'nothing pending at the end');
    await s.removeDevice(UUID);
    assert.is(s.devices.size, 0);
    assert.equal(s.types().map((t) => t.available), [24, 12]);
  });
}

test('step mode: the boot is queued, one access per step, the handler preempts the write', async () => {
  const { s, received } = await session('mtty', 'step');
  const dev = await s.createDevice('mtty-2', UUID);
  assert.is(dev.machine.peek()?.op.kind, 'cfg-read', 'the BIOS comes first');
  const first = s.step();
  assert.is(first?.line, 'CFG R 0x00 = 0x32534348');
  assert.match(first!.why, /vendor and device ID/);
  s.runAll(); // the boot is not this lesson
  s.type(UUID, 1, 'A');
  assert.equal(received, []);
  const steps = [];
  for (let e = s.step(); e; e = s.step()) steps.push(e);
  assert.equal(received, ['1:A']);
  const thr = steps.find((e) => e.line === "ttyS2 W THR 0x41 'A'");
  assert.ok(thr, steps.map((e) => e.line).join('\n'));
  assert.ok(thr.changes.some((c) => /^LSR 0x60 -> 0x01: DR set/.test(c)), thr.changes.join('\n'));
  // write() only enabled THRI; the THRE interrupt came, and the handler sent the byte.
  const tasks = steps.map((e) => `${e.task}: ${e.line}`);
  assert.ok(steps[0].task.startsWith('write "A"') && /^ttyS2 W IER 0x07/.test(steps[0].line), tasks.join('\n'));
  assert.ok(steps[0].irq, 'enabling THRI with THR empty raised INTx at once');
  assert.is(thr.task, 'interrupt handler (IRQ 10)');
  const i = steps.indexOf(thr);
  assert.ok(steps.slice(0, i).some((e) => /^ttyS2 R IIR 0xc2/.test(e.line)), tasks.join('\n'));
  // The looped-back byte is picked up by the same handler, which polls the port until IIR says no more.
  assert.ok(steps.slice(i).some((e) => e.task === thr.task && e.line === "ttyS2 R RBR 0x41 'A'"), tasks.join('\n'));
  assert.is(steps[steps.length - 1].line, 'IOCTL SET_IRQS INTx UNMASK');
});

test('create errors carry the errno the kernel would answer', async () => {
  const { s } = await session('mtty');
  await s.createDevice('mtty-2', UUID);
  assert.is(await code(s.createDevice('mtty-1', UUID)), 'EEXIST');
  assert.is(await code(s.createDevice('mtty-1', 'not-a-uuid')), 'EINVAL');
  for (let i = 0; i < 11; i++) await s.createDevice('mtty-2', s.newUuid());
  assert.equal(s.types().map((t) => t.available), [0, 0]);
  assert.is(await code(s.createDevice('mtty-2', s.newUuid())), 'ENOSPC');
  assert.is(s.devices.size, 12, 'the failed creates left the others alone');
});

test('hands-on: register writes, baud picker, loopback, modem lines and line events, with errno on bad input', async () => {
  const { s } = await session('pc16550d');
  const dev = await s.createDevice('mtty-1', UUID);
  s.setBaud(UUID, 0, 9600);
  assert.is(dev.registerView(0).regs.DLL, 12);
  assert.is(dev.registerView(0).regs.LCR & 0x80, 0, 'DLAB off again');
  assert.ok(lines(s).includes('ttyS1 W DLL 0x0c = divisor 12 = 9600 baud'), lines(s).slice(-6).join('\n'));
  const w = s.writeRegister(UUID, 0, 7, 0x5a);
  assert.is(w.source, 'student');
  assert.match(w.line, /^ttyS1 W SCR 0x5a/);
  assert.ok(w.changes.some((c) => c.startsWith('SCR 0x00 -> 0x5a')), w.changes.join('\n'));
  s.setLoopback(UUID, 0, true);
  assert.is(dev.registerView(0).regs.MCR & 0x10, 0x10);
  const msr = s.readRegister(UUID, 0, 6);
  assert.match(msr.line, /^ttyS1 R MSR 0x[0-9a-f]{2} = /);
  s.setLoopback(UUID, 0, false);
  const m = s.setModemInputs(UUID, 0, 0x10);
  assert.ok(m.changes.some((c) => /^MSR .*DCTS set|^MSR .*DSR cleared/.test(c)), m.changes.join('\n'));
  s.inject(UUID, 0, 'overrun');
  assert.ok(lines(s).some((l) => /^ttyS1 R LSR 0x[0-9a-f]{2} = .*\bOE\b/.test(l)), 'the driver read LSR with OE');
  assert.ok(dev.attached!.ports[0].counters.overrun >= 1);
  s.inject(UUID, 0, 'break');
  assert.ok(lines(s).some((l) => /^ttyS1 R LSR 0x[0-9a-f]{2} = .*\bBI\b/.test(l)));
  const before = s.journal.length;
  assert.is(await code(() => s.writeRegister(UUID, 0, 8, 0)), 'EINVAL');
  assert.is(await code(() => s.writeRegister(UUID, 0, 0, 0x100)), 'EINVAL');
  assert.is(await code(() => s.writeRegister(UUID, 1, 0, 0)), 'EINVAL', 'mtty-1 has no port 1');
  assert.is(await code(() => s.setBaud(UUID, 0, 1000)), 'EINVAL');
  assert.is(await code(() => s.setModemInputs(UUID, 0, 0x01)), 'EINVAL');
  assert.is(await code(() => s.writeRegister('00000000-0000-0000-0000-000000000000', 0, 0, 0)), 'ENODEV');
  assert.is(s.journal.length, before, 'refused input changed nothing');
});

/** The built-in exercises, done the way a student would with the page's tools. */
async function doAllExercises(s: LabSession): Promise<void> {
  const U = UUID;
  await s.createDevice('mtty-2', U);
  s.catAvailable('mtty-2');
  s.readConfig(U, 0x00);
  s.readConfig(U, 0x08);
  // 9600 8N1 by hand through DLAB.
  s.writeRegister(U, 0, 3, 0x83);
  s.writeRegister(U, 0, 0, 0x0c);
  s.writeRegister(U, 0, 1, 0x00);
  s.writeRegister(U, 0, 3, 0x03);
  // FIFO trigger 8, then IIR.
  s.writeRegister(U, 0, 2, 0x81);
  s.readRegister(U, 0, 2);
  // THRE interrupt: fire, see IIR 0xc2 (the guest's handler reads it), clear with IER.
  s.writeRegister(U, 0, 1, 0x02);
  s.writeRegister(U, 0, 1, 0x00);
  // Loopback and MSR.
  s.setLoopback(U, 0, true);
  s.readRegister(U, 0, 6);
  s.setLoopback(U, 0, false);
  // Profiles: a key under each.
  s.type(U, 1, 'x');
  s.setProfile('pc16550d');
  s.type(U, 1, 'y');
  s.advanceTime(2_000_000);
  // Character timeout: the open port has trigger 8; one byte, then time.
  s.inject(U, 1, 'byte', 0x41);
  s.advanceTime(2_000_000);
  s.inject(U, 1, 'overrun');
  await s.removeDevice(U);
}

test('every built-in exercise is checked from the journal and state, by scripted student actions', async () => {
  const { s } = await session('mtty');
  assert.ok(s.exercises.exercises.length >= 8);
  assert.equal([...s.done], []);
  await doAllExercises(s);
  const missing = s.exercises.exercises.filter((e) => !s.done.has(e.id)).map((e) => e.id);
  assert.equal(missing, [], `not done: ${missing.join(', ')}\n${lines(s).slice(-40).join('\n')}`);
});

test('an exercise is not done by the guest alone: the BIOS reading the IDs does not count', async () => {
  const { s } = await session('mtty');
  await s.createDevice('mtty-2', UUID);
  assert.not.ok(s.done.has('config-ids'));
  assert.not.ok(s.done.has('create-mtty2'), 'available_instances was not read yet');
});

test('a saved session replays on a fresh lab: devices, registers, journal and progress come back', async () => {
  const { s } = await session('mtty');
  await s.createDevice('mtty-2', UUID);
  s.catAvailable('mtty-2');
  s.setBaud(UUID, 1, 9600);
  s.type(UUID, 0, 'ok');
  s.setProfile('pc16550d');
  s.inject(UUID, 1, 'byte', 0x42);
  s.advanceTime(3_000_000, true);
  const saved = JSON.stringify(s.state());
  const { s: t, received } = await session('mtty');
  await t.restore(parseSession(saved));
  assert.equal([...t.devices.keys()], [UUID]);
  assert.equal(lines(t), lines(s), 'the journal is the same, access for access');
  assert.equal(t.journal.map((e) => e.t), s.journal.map((e) => e.t), 'at the same virtual times');
  assert.equal(t.devices.get(UUID)!.registers(1), s.devices.get(UUID)!.registers(1));
  assert.equal([...t.done].sort(), [...s.done].sort());
  assert.is(t.profile, 'pc16550d');
  assert.ok(received.includes('0:o') && received.includes('0:k'), 'the terminal text comes back too');
  assert.is(t.now, s.now);
});

for (const lesson of LESSONS) {
  test(`lesson ${lesson.id}: the recorded Linux 6.1 guest steps access by access, the model answering what it read`, async () => {
    const { s, received } = await session('mtty');
    const text = await readLesson(lesson.file);
    const accesses = parseRecording(text, lesson.file).events.filter((e) => e.kind === 'access').length;
    const dev = await s.loadLesson(lesson);
    assert.is(s.mode, 'step');
    assert.is(s.profile, lesson.profile);
    const start = s.journal.length;
    const first = s.step();
    assert.ok(first);
    while (s.step());
    // The recording's own accesses (besides: its '# initial' state and the VMM's unmasks, labelled as such).
    const rec = s.journal.slice(start).filter((e) => e.source === 'recording' && e.why.startsWith('recorded ('));
    assert.is(rec.length, accesses, 'every recorded access was made, once');
    const mismatches = rec.flatMap((e) => e.changes.filter((c) => c.startsWith('MISMATCH')).map((c) => `${e.line}: ${c}`));
    assert.equal(mismatches, []);
    assert.ok(rec.some((e) => e.line === "ttyS1 W THR 0x68 'h'"));
    assert.ok(rec.filter((e) => e.changes.some((c) => c.startsWith('the recorded guest read the same value'))).length > 10);
    assert.ok(dev.irqSignals > 0, 'the recorded THRE tests raised INTx on this device');
    assert.ok(s.journal.slice(start).some((e) => e.line === 'IOCTL SET_IRQS INTx UNMASK'), 'the VMM unmasks INTx where the recorded one did');
    s.advanceTime(3_000_000);
    const port0 = received.filter((r) => r.startsWith('0:')).map((r) => r.slice(2)).join('');
    assert.match(port0, lesson.id === 'linux-6.1-8250' ? /^hello from ttyS0\r\n$/ : /^hello$/, 'what the recorded guest sent (ISA: on the line) or read back (mtty-2: by loopback)');
  });
}

test.run();
