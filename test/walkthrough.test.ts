import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { walkthrough, DOC_UUID } from '../examples/walkthrough.js';
import { ManualClock } from '../src/index.js';
import { embeddedDemo } from '../examples/embedded.js';

test("the walk-through prints the kernel doc's lines and ends with 12 instances", async () => {
  let out = '';
  const r = await walkthrough({ write: (s) => (out += s) });
  const lines = out.split('\n');
  const has = (l: string) => assert.ok(lines.includes(l), `missing line: ${l}`);
  // Step 1
  has('mtty walk-through, UART profile pc16550d (the default); --profile mtty runs the other one.');
  assert.is(r.profile, 'pc16550d', "the README's default profile");
  has('host# tree /sys/devices/virtual/mtty/mtty/');
  has('guest (modelled)# lspci -s 00:05.0 -xxvv');
  has('guest (modelled)# setserial -g /dev/ttyS*');
  has('|-- mdev_supported_types');
  // Step 2 and 3
  has(`host# echo "${DOC_UUID}" > \\`);
  has(`    sysfsdev=/sys/bus/mdev/devices/${DOC_UUID}`);
  // Step 4: the doc's header, dump and dmesg lines
  has('00:05.0 Serial controller: Device 4348:3253 (rev 10) (prog-if 02 [16550])');
  has('\tRegion 0: I/O ports at c150 [size=8]');
  has('\tRegion 1: I/O ports at c158 [size=8]');
  has('00: 48 43 53 32 01 00 00 02 10 02 00 07 00 00 00 00');
  has('10: 51 c1 00 00 59 c1 00 00 00 00 00 00 00 00 00 00');
  has('20: 00 00 00 00 00 00 00 00 00 00 00 00 48 43 53 32');
  has('30: 00 00 00 00 00 00 00 00 00 00 00 00 0a 01 00 00');
  has('serial 0000:00:05.0: PCI INT A -> Link[LNKA] -> GSI 10 (level, high) -> IRQ 10');
  has('0000:00:05.0: ttyS1 at I/O 0xc150 (irq = 10) is a 16550A');
  has('0000:00:05.0: ttyS2 at I/O 0xc158 (irq = 10) is a 16550A');
  // Step 5
  has('/dev/ttyS0, UART: 16550A, Port: 0x03f8, IRQ: 4');
  has('/dev/ttyS1, UART: 16550A, Port: 0xc150, IRQ: 10');
  has('/dev/ttyS2, UART: 16550A, Port: 0xc158, IRQ: 10');
  // Steps 6-7
  assert.is(r.echoed, 'Hello from the guest, looped back by mtty!');
  assert.ok(r.interrupts > 0);
  assert.ok(lines.some((l) => /^IRQ 10: \d+ interrupts for 42 characters/.test(l)));
  // Step 8
  has(`host# echo 1 > /sys/bus/mdev/devices/${DOC_UUID}/remove`);
  // A difference between the profiles, computed on both: MSR is fixed at 0xB3 on mtty.
  has('  pc16550d  IIR 0xc2  MSR 0xb0   <- this run');
  has('  mtty      IIR 0xc2  MSR 0xb3');
  assert.is(r.availableAfter, 12);
  for (let n = 1; n <= 8; n++) assert.ok(lines.some((l) => l.startsWith(`=== Step ${n}: `)), `step ${n}`);
});

test('the walk-through also runs on the sample\'s own UART profile, and counts characters, not bytes', async () => {
  let out = '';
  const r = await walkthrough({ profile: 'mtty', text: 'héllo ✓', clock: new ManualClock(), write: (s) => (out += s) });
  assert.is(r.echoed, 'héllo ✓');
  assert.ok(out.startsWith('mtty walk-through, UART profile mtty; --profile pc16550d runs the other one.\n'));
  assert.ok(out.includes('received: "héllo ✓"'));
  assert.match(out, /IRQ 10: \d+ interrupts for 7 characters \(10 bytes in UTF-8\)/);
  assert.ok(out.includes('  mtty      IIR 0xc2  MSR 0xb3   <- this run'));
});

test('npm run demo -- --profile mtty reaches the walk-through (the option passes through npm)', async () => {
  const { execFile } = await import('node:child_process');
  const pkg = JSON.parse(await (await import('node:fs/promises')).readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { demo: string } };
  // npm appends `-- args` to the script's last command: that command must be the walk-through itself.
  const last = pkg.scripts.demo.split('&&').pop()!.trim();
  assert.match(last, /^node dist\/examples\/walkthrough\.js$/);
  const cwd = new URL('../../', import.meta.url).pathname;
  const out = await new Promise<string>((res, rej) =>
    execFile('sh', ['-c', `${last} --profile mtty --text hi`], { cwd }, (e, so) => (e ? rej(e) : res(so))),
  );
  assert.ok(out.startsWith('mtty walk-through, UART profile mtty;'), out.slice(0, 200));
});

test('the embedded example runs the library and the in-process ops', async () => {
  let out = '';
  await embeddedDemo((s) => (out += s));
  assert.match(out, /^library: [0-9a-f-]{36} echoed "hi"\n/);
  assert.ok(out.includes('BAR0 (no guest tty), UART: 16550A, Port: 0x0000, IRQ: 0\nBAR1 (no guest tty), UART: 16550A, Port: 0x0000, IRQ: 0\n'), out);
});

test.run();
