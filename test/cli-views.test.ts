/**
 * Views change nothing (issue 12): every read-only verb, run through the CLI
 * against a real daemon, leaves a device's whole state as it was - config
 * space, every UART register (peeked, and the full saved state), the IRQ
 * set-up and counters, the opener. Checked on a fresh device (no guest has
 * programmed it) and on one whose guest console is running.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Readable, PassThrough, Writable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { commands as consoleVerb } from '../src/cli/console.js';
import { startDaemon, type Daemon } from '../src/control/index.js';
import { ManualClock } from '../src/clock/clock.js';

const UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

async function run(args: string[]) {
  let out = '';
  let err = '';
  const w = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  const code = await main(args, { stdout: w((s) => (out += s)), stderr: w((s) => (err += s)), stdin: Readable.from([]) });
  return { code, out, err };
}

/** Everything a view could disturb, as one comparable value. */
function fingerprint(daemon: Daemon): unknown {
  const d = daemon.service.mtty.device(UUID)!;
  const v = d.vendor;
  return {
    config: Buffer.from(v.config.bytes()).toString('hex'),
    ports: v.ports.map((p) => ({
      peeks: [0, 1, 2, 3, 4, 5, 6, 7].map((r) => p.uart.peek(r)),
      state: Buffer.from(p.uart.saveState()).toString('hex'),
      irq: p.uart.irq,
      level: p.level,
      host: p.hostAttached,
    })),
    irqMode: v.interrupts.mode,
    irqStats: { ...v.interrupts.stats },
    openedBy: d.openedBy ?? null,
    state: d.state,
  };
}

const VIEWS = (sock: string): string[][] => [
  ['lspci', UUID],
  ['lspci', UUID, '--json'],
  ['setserial', UUID],
  ['dmesg', UUID],
  ['info', UUID],
  ...['rbr', 'ier', 'iir', 'lcr', 'mcr', 'lsr', 'msr', 'scr'].map((r) => ['reg', UUID, '0', r]),
  ['reg', UUID, '1', 'iir'],
  ['host', 'show', UUID],
  ['tree'],
  ['ls', `/sys/bus/mdev/devices/${UUID}`],
  ['cat', `/sys/bus/mdev/devices/${UUID}/mdev_type/name`],
  ['list'],
  ['types'],
].map((a) => [...a, '--socket', sock]);

let dir = '';
let sock = '';
let daemon: Daemon;

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtty-views-'));
  sock = join(dir, 'control.sock');
  // Time stands still (ManualClock): a character timeout firing between two looks is time, not a view.
  daemon = await startDaemon({ socketPath: sock, configDir: join(dir, 'cfg'), autostart: false, clock: new ManualClock() });
  assert.is((await run(['create', '--uuid', UUID, '--socket', sock])).code, 0);
  // Something in the registers worth disturbing: a byte waiting in RBR, THRE pending in IIR, DLAB off.
  for (const [reg, v] of [['lcr', '0x03'], ['fcr', '0x01'], ['ier', '0x03'], ['mcr', '0x0b'], ['thr', '0x41']]) {
    assert.is((await run(['reg', UUID, '0', reg!, v!, '--socket', sock])).code, 0);
  }
});

test.after.each(async () => {
  await daemon.close();
  await rm(dir, { recursive: true, force: true });
});

test('every view verb leaves a fresh device exactly as it was (no pretend guest, no config writes)', async () => {
  const before = fingerprint(daemon);
  for (const args of VIEWS(sock)) {
    const r = await run(args);
    assert.is(r.code, 0, `${args.join(' ')}: ${r.err}`);
    assert.equal(fingerprint(daemon), before, `${args.slice(0, 3).join(' ')} changed the device`);
  }
  // The 0x41 is still there for a consuming read: the peeks above took nothing.
  assert.is((await run(['reg', UUID, '0', 'rbr', '--consume', '--socket', sock])).out, '0x41\n');
  // A poke is one register access: no config space access, no SET_IRQS, no open.
  const cfg = (before as { config: string }).config;
  assert.is((await run(['reg', UUID, '1', 'scr', '0x99', '--socket', sock])).code, 0);
  const after = fingerprint(daemon) as { config: string; irqMode: string; openedBy: string | null; ports: { peeks: number[] }[] };
  assert.equal([after.config, after.irqMode, after.openedBy, after.ports[1]!.peeks[7]], [cfg, 'none', null, 0x99]);
});

test('views with the guest console running read the guest names and still change nothing', async () => {
  const stdin = new PassThrough();
  let err = '';
  const io = { stdin, stdout: new PassThrough(), stderr: new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }) };
  const done = consoleVerb.console!.run([UUID, '--socket', sock, '--port', '1'], io);
  for (let i = 0; i < 500 && !err.includes('Line mode'); i++) await new Promise((r) => setTimeout(r, 10));
  try {
    const before = fingerprint(daemon);
    for (const args of VIEWS(sock)) {
      const r = await run(args);
      assert.is(r.code, 0, `${args.join(' ')}: ${r.err}`);
      assert.equal(fingerprint(daemon), before, `${args.slice(0, 3).join(' ')} changed the device`);
    }
    const ss = await run(['setserial', UUID, '--socket', sock]);
    assert.is(ss.out, '/dev/ttyS1, UART: 16550A, Port: 0xc150, IRQ: 10\n/dev/ttyS2, UART: 16550A, Port: 0xc158, IRQ: 10\n');
    const lspci = await run(['lspci', UUID, '--socket', sock]);
    assert.ok(lspci.out.includes('\n10: 51 c1 00 00 59 c1 00 00'), lspci.out);
    assert.ok(lspci.out.includes('\tKernel driver in use: serial\n') || lspci.out.includes('Interrupt: pin A routed to IRQ 10'));
    const dmesg = await run(['dmesg', UUID, '--socket', sock]);
    assert.match(dmesg.out, /ttyS2 at I\/O 0xc158 \(irq = 10/);
  } finally {
    stdin.end();
    assert.is(await done, 0);
  }
});

test('pokes are refused while a VMM holds the device; peeks still answer', async () => {
  const vmm = daemon.service.mtty.device(UUID)!.open('a test VMM');
  try {
    const before = fingerprint(daemon);
    let r = await run(['reg', UUID, '0', 'thr', '0x42', '--socket', sock]);
    assert.is(r.code, 1);
    assert.match(r.err, /EBUSY .*open by a test VMM/);
    r = await run(['reg', UUID, '0', 'rbr', '--consume', '--socket', sock]);
    assert.is(r.code, 1);
    r = await run(['reg', UUID, '0', 'lsr', '--socket', sock]);
    assert.equal([r.code, r.out], [0, '0x61\n']);
    assert.equal(fingerprint(daemon), before);
  } finally {
    vmm.close();
  }
});

test.run();
