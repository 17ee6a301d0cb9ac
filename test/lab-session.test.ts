/**
 * The lab's model without a browser: the real mtty module and wasm UART,
 * driven by the lab's guest driver, in run and step mode, in both UART
 * profiles. The page only renders what this object holds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMtty } from '../src/mtty/load.js';
import { LabSession, type LabProfile } from '../src/lab/lab-session.js';
import { MttyError } from '../src/errors/errno.js';

async function session(profile: LabProfile, mode: 'run' | 'step' = 'run') {
  const received: string[] = [];
  const s = await LabSession.create({
    load: loadMtty,
    profile,
    mode,
    onByte: (_uuid, port, byte) => received.push(`${port}:${String.fromCharCode(byte)}`),
  });
  return { s, received };
}

const UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

for (const profile of ['mtty', 'pc16550d'] as const) {
  test(`${profile}: create, boot, type on port 1, the text comes back through RBR`, async () => {
    const { s, received } = await session(profile);
    assert.equal(s.types().map((t) => [t.id, t.available]), [['mtty-1', 24], ['mtty-2', 12]]);
    const dev = await s.createDevice('mtty-2', UUID);
    assert.equal(s.types().map((t) => t.available), [22, 11]);
    assert.is(dev.portCount, 2);
    assert.is(dev.bios.ports, 2, 'the BIOS found both BARs');
    assert.equal(dev.bios.ioBase, [0xc150, 0xc158]);
    assert.match(dev.lspciText(), /Serial controller: Device 4348:3253 \(rev 10\) \(prog-if 02 \[16550\]\)/);
    assert.match(dev.lspciText(), /^10: 51 c1 00 00 59 c1 00 00/m);
    s.type(UUID, 1, 'hi');
    assert.equal(received, ['1:h', '1:i']);
    assert.is(dev.irqSignals, 2, 'one interrupt per looped-back byte');
    assert.not.ok(dev.intxMasked, 'the handler unmasked INTx');
    const lines = dev.log.map((r) => r.line);
    assert.ok(lines.includes("ttyS1 W THR 0x68 'h'"), lines.join('\n'));
    assert.ok(lines.includes('ttyS1 R IIR 0xc4 = RX data available'));
    assert.ok(lines.includes("ttyS1 R RBR 0x69 'i'"));
    const after = dev.snapshot(1);
    assert.is(after.regs.IIR, 0xc1);
    assert.is(after.regs.LSR, 0x60);
    await s.removeDevice(UUID);
    assert.is(s.devices.size, 0);
    assert.equal(s.types().map((t) => t.available), [24, 12]);
  });
}

test('step mode: one access per step, with the register changes in words', async () => {
  const { s, received } = await session('mtty', 'step');
  const dev = await s.createDevice('mtty-2', UUID);
  assert.ok(dev.describeNext(), 'BIOS and driver start-up are queued, not run');
  assert.is(dev.describeNext()?.line, 'CFG R 0x00');
  dev.run(); // the boot is not this lesson
  s.type(UUID, 1, 'A');
  assert.equal(received, []);
  const steps = [];
  for (let rec = s.step(); rec; rec = s.step()) steps.push(rec);
  assert.equal(received, ['1:A']);
  const thr = steps.find((r) => r.line === "ttyS1 W THR 0x41 'A'");
  assert.ok(thr, steps.map((r) => r.line).join('\n'));
  assert.ok(thr.irq, 'the THR write raised the interrupt (trigger level 1 reached)');
  assert.ok(thr.changes.some((c) => c.startsWith('LSR 0x60 -> 0x01: DR set')), thr.changes.join('\n'));
  assert.ok(thr.changes.some((c) => c.startsWith('IIR 0xc1 -> 0xc4')), thr.changes.join('\n'));
  assert.ok(thr.changes.some((c) => c.includes('signalled INTx')));
  // The handler preempted nothing else and ran right after the THR write.
  const i = steps.indexOf(thr);
  assert.is(steps[i + 1].task, 'interrupt handler');
  assert.is(steps[steps.length - 1].line, 'IOCTL SET_IRQS INTx UNMASK');
});

test('create errors carry the errno the kernel would answer', async () => {
  const { s } = await session('mtty');
  await s.createDevice('mtty-2', UUID);
  for (const [uuid, code] of [[UUID, 'EEXIST'], ['not-a-uuid', 'EINVAL']] as const) {
    try {
      await s.createDevice('mtty-1', uuid);
      assert.unreachable(`created ${uuid}`);
    } catch (e) {
      assert.instance(e, MttyError);
      assert.is((e as MttyError).code, code);
    }
  }
  try {
    await s.createDevice('mtty-1', UUID);
  } catch (e) {
    assert.match((e as Error).message, /^EEXIST \(File exists\): /);
  }
  // 24 ports: 11 more mtty-2 fit, the 13th does not.
  for (let i = 0; i < 11; i++) await s.createDevice('mtty-2', s.newUuid());
  assert.equal(s.types().map((t) => t.available), [0, 0]);
  try {
    await s.createDevice('mtty-2', s.newUuid());
    assert.unreachable('a 13th mtty-2');
  } catch (e) {
    assert.match((e as Error).message, /^ENOSPC \(No space left on device\): /);
  }
});

test('profile switch keeps the devices and re-reads the same registers through the other model', async () => {
  const { s } = await session('mtty');
  const dev = await s.createDevice('mtty-1', UUID);
  assert.is(dev.snapshot(0).regs.MSR, 0xb3, 'the sample reports a constant MSR');
  s.setProfile('pc16550d');
  assert.is(dev.uart(0).profile, 'pc16550d');
  assert.is(s.devices.size, 1);
  s.type(UUID, 0, 'x');
  assert.ok(dev.log.some((r) => r.line === 'ttyS0 R LSR 0x61 = DR THRE TEMT'), 'a 16550 keeps THRE set while RX data waits');
});

test.run();
