import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMtty } from '../src/index.js';
import { GuestMachine, cfgRead, barSize } from '../src/guest/index.js';

const DOC_UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

async function boot(type: 'mtty-1' | 'mtty-2', style: 'doc' | 'current' = 'current') {
  const mtty = await loadMtty({ profile: 'mtty' });
  const mdev = mtty.parent.type(type)!.create(DOC_UUID);
  const dev = mdev.open();
  const guest = new GuestMachine({ style });
  const a = guest.attach(dev);
  const done = async () => {
    guest.detach(dev);
    dev.close();
    await mtty.unload();
  };
  return { mtty, dev, guest, a, done };
}

test('BIOS enumeration places BAR0/BAR1 at 0xc150/0xc158 and routes IRQ 10 through the config region', async () => {
  const { dev, a, done } = await boot('mtty-2');
  assert.equal(a.fn.bars.map((b) => [b.index, b.address, b.size, b.io]), [
    [0, 0xc150, 8, true],
    [1, 0xc158, 8, true],
  ]);
  assert.is(a.fn.irq, 10);
  assert.is(a.fn.pin, 1);
  // The device keeps the I/O indicator bit: what the doc's dump shows as 51 c1 / 59 c1.
  assert.is(cfgRead(dev, 0x10, 4), 0xc151);
  assert.is(cfgRead(dev, 0x14, 4), 0xc159);
  assert.is(cfgRead(dev, 0x3c, 1), 10);
  await done();
});

test('barSize decodes the sizing read-back', () => {
  assert.is(barSize(0xfffffff9, true), 8);
  assert.is(barSize(0x0000fff9, true), 8); // 16-bit I/O decoder
  assert.is(barSize(0xfff00000, false), 0x100000);
  assert.is(barSize(0, true), 0);
});

test('8250_pci probe prints the doc-era and current report lines', async () => {
  const doc = await boot('mtty-2', 'doc');
  assert.equal(doc.guest.dmesg, [
    'serial 0000:00:05.0: PCI INT A -> Link[LNKA] -> GSI 10 (level, high) -> IRQ 10',
    '0000:00:05.0: ttyS1 at I/O 0xc150 (irq = 10) is a 16550A',
    '0000:00:05.0: ttyS2 at I/O 0xc158 (irq = 10) is a 16550A',
  ]);
  await doc.done();
  const cur = await boot('mtty-2', 'current');
  assert.equal(cur.guest.dmesg, [
    '0000:00:05.0: ttyS1 at I/O 0xc150 (irq = 10, base_baud = 115200) is a 16550A',
    '0000:00:05.0: ttyS2 at I/O 0xc158 (irq = 10, base_baud = 115200) is a 16550A',
  ]);
  assert.is(cur.a.fn.driver, 'serial');
  await cur.done();
});

test('setserial -g lines match the kernel doc step 5', async () => {
  const { guest, done } = await boot('mtty-2');
  assert.equal(guest.setserial(), [
    '/dev/ttyS0, UART: 16550A, Port: 0x03f8, IRQ: 4',
    '/dev/ttyS1, UART: 16550A, Port: 0xc150, IRQ: 10',
    '/dev/ttyS2, UART: 16550A, Port: 0xc158, IRQ: 10',
  ]);
  await done();
});

test('mtty-1 has no BAR1: one port (ttyS1) only', async () => {
  const { a, guest, done } = await boot('mtty-1');
  assert.equal(a.fn.bars.map((b) => b.index), [0]);
  assert.equal(a.ports.map((p) => p.name), ['ttyS1']);
  assert.ok(guest.dmesg.some((l) => l.includes("Couldn't register serial port 1")));
  await done();
});

/** Transcribed from shared/traces/linux-8250-probe-isa.txt: startup, set_termios at 9600, DTR/RTS. */
const LINUX_OPEN = [
  'W 2 0x01', 'W 2 0x07', 'W 2 0x00', 'R 5', 'R 0', 'R 2', 'R 6', 'R 5', 'R 5',
  'W 1 0x02', 'R 2', 'W 1 0x00', 'W 1 0x02', 'R 2', 'W 1 0x00', 'R 2',
  'W 3 0x03', 'W 4 0x08', 'W 1 0x02', 'R 5', 'R 2', 'W 1 0x00', 'R 2',
  'R 5', 'R 0', 'R 2', 'R 6',
  'W 1 0x05', 'W 3 0x93', 'W 0 0x0c', 'W 1 0x00', 'W 3 0x13', 'W 2 0x01', 'W 2 0x81', 'W 4 0x08', 'W 4 0x0b',
];

for (const how of ['run to completion', 'stepped one access at a time'] as const) {
  test(`the open sequence, ${how}, is access-for-access the one Linux 6.1 made (shared/traces, phase setserial)`, async () => {
    for (const profile of ['mtty', 'pc16550d'] as const) {
      const mtty = await loadMtty({ profile });
      const dev = mtty.parent.type('mtty-2')!.create().open();
      const guest = new GuestMachine();
      const a = guest.attach(dev);
      const seq: string[] = [];
      guest.io.onAccess = (dir, port, v) => {
        if (port >= 0xc150 && port < 0xc158) seq.push(dir === 'in' ? `R ${port - 0xc150}` : `W ${port - 0xc150} 0x${v.toString(16).padStart(2, '0')}`);
      };
      if (how === 'run to completion') a.ttys[0].open();
      else {
        guest.mode = 'step';
        guest.submit(a.ports[0].openRoutine(), 'open ttyS1');
        let steps = 0;
        while (guest.step()) steps++;
        assert.ok(steps >= LINUX_OPEN.length, 'one access per step (interrupt handlers included)');
        assert.ok(a.ports[0].isOpen);
      }
      assert.equal(seq, LINUX_OPEN, profile);
      assert.equal(a.ports[0].bugs, { thre: false, txen: false }, profile);
      guest.detach(dev);
      dev.close();
      await mtty.unload();
    }
  });
}

test('LSR safety check: a port with nothing behind it fails open with ENODEV', async () => {
  const { a, guest, done } = await boot('mtty-2');
  // Unmap the BARs: the I/O space then floats to 0xff as on an empty ISA bus.
  guest.io.unmapDevice(a.fn.device);
  assert.throws(() => a.ttys[0].open(), (e: Error & { code?: string }) => e.code === 'ENODEV');
  assert.ok(guest.dmesg.some((l) => l.includes('LSR safety check engaged')));
  await done();
});

test.run();
