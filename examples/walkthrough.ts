/**
 * The kernel document's "Using the Sample Code" (vfio-mediated-device.txt),
 * steps 1-8, performed for real against this project's mtty: the sysfs paths
 * are the kernel's, the VFIO calls are the ones QEMU makes, and the guest
 * side is a small model of the BIOS and Linux's 8250 driver. Every line shown
 * as device output is computed, not quoted: if mtty regressed, this output
 * would stop matching the document.
 *
 *   npm run demo        (runs dist/examples/walkthrough.js)
 *
 * Options: --profile pc16550d|mtty (UART model; default pc16550d, the README's
 * default; mtty is the sample's own behaviour), --text "..." (what is typed in
 * step 7). `npm run demo -- --profile mtty` passes the option through.
 *
 * Prompts: `host#` is this process acting as the host (its sysfs and VFIO
 * calls are the real model); `guest (modelled)#` marks what a guest would
 * type - the guest here is src/guest's model of the BIOS and Linux's 8250
 * driver, not a VM, and its lspci/setserial/dmesg output is computed by it.
 */
import { loadMtty, ManualClock, GuestMachine, Uart, VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_INTX_IRQ_INDEX, type Clock, type LoadedMtty } from 'mtty';
import { pathToFileURL } from 'node:url';
import { findUartProfile, UART_PROFILE_NAMES, type UartProfile } from '../src/uart/profile.js';

export const DOC_UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
const PARENT = '/sys/devices/virtual/mtty/mtty';

export interface WalkthroughOptions {
  profile?: UartProfile;
  /** What is "typed on the minicom terminal" in step 7. */
  text?: string;
  /** Time source of the UARTs (default wall time). A ManualClock is advanced past the RX timeout after typing. */
  clock?: Clock;
  write?: (s: string) => void;
}

export interface WalkthroughResult {
  profile: UartProfile;
  echoed: string;
  interrupts: number;
  availableAfter: number;
}

/** The README's default UART profile (its "Two UART profiles" table). */
export const DEFAULT_PROFILE: UartProfile = 'pc16550d';

/**
 * One register sequence on a fresh UART of each profile, so the demo shows a
 * difference it computed rather than quotes: a guest enabling the THRE
 * interrupt with the FIFO on, then reading IIR and MSR.
 */
export function profileDifference(): { profile: UartProfile; iir: number; msr: number }[] {
  return (['pc16550d', 'mtty'] as const).map((profile) => {
    const u = Uart.create({ profile, wiring: 'loopback' });
    try {
      u.write(3, 0x03); // LCR 8N1
      u.write(2, 0x01); // FCR: FIFO on
      u.write(4, 0x0b); // MCR DTR|RTS|OUT2
      u.write(1, 0x02); // IER: THRE interrupt
      return { profile, iir: u.read(2), msr: u.read(6) };
    } finally {
      u.dispose();
    }
  });
}

/** Wait for a read, but never hang a demo: a lost interrupt shows up as an error. */
function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no data after ${ms} ms (interrupt lost?)`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export async function walkthrough(opts: WalkthroughOptions = {}): Promise<WalkthroughResult> {
  const out = opts.write ?? ((s: string) => process.stdout.write(s));
  const say = (s = '') => out(s + '\n');
  const step = (n: number, title: string) => {
    say();
    say(`=== Step ${n}: ${title} ${'='.repeat(Math.max(3, 66 - title.length))}`);
  };
  const shell = (cmd: string) => say(`host# ${cmd}`);
  const guestShell = (cmd: string) => say(`guest (modelled)# ${cmd}`);
  const profile = opts.profile ?? DEFAULT_PROFILE;
  say(`mtty walk-through, UART profile ${profile}${profile === DEFAULT_PROFILE ? ' (the default)' : ''}` +
      `; --profile ${profile === 'mtty' ? 'pc16550d' : 'mtty'} runs the other one.`);
  say('host# lines run against this model; guest (modelled)# lines are typed into src/guest\'s model of a Linux guest.');

  // ---- 1 ----------------------------------------------------------------------------------
  step(1, 'load the mtty module');
  say('The parent device appears in sysfs (here: an in-process sysfs with the kernel\'s paths).');
  shell('modprobe mtty');
  const mtty: LoadedMtty = await loadMtty({ profile, clock: opts.clock });
  shell(`tree ${PARENT}/`);
  say(mtty.sysfs.tree(`${PARENT}/`).trimEnd());
  say('(The doc shows a 4.x tree that still had mtty_dev/sample_mtty_dev; current kernels, and');
  say(' this reproduction, do not.)');
  for (const t of ['mtty-1', 'mtty-2']) {
    shell(`cat ${PARENT}/mdev_supported_types/${t}/{name,available_instances}`);
    say(mtty.sysfs.read(`${PARENT}/mdev_supported_types/${t}/name`).trimEnd());
    say(mtty.sysfs.read(`${PARENT}/mdev_supported_types/${t}/available_instances`).trimEnd());
  }

  // ---- 2 ----------------------------------------------------------------------------------
  step(2, 'create a mediated device');
  const create = `${PARENT}/mdev_supported_types/mtty-2/create`;
  shell(`echo "${DOC_UUID}" > \\\n    ${create}`);
  await mtty.sysfs.write(create, DOC_UUID + '\n');
  shell('ls /sys/bus/mdev/devices/');
  say(mtty.sysfs.list('/sys/bus/mdev/devices').join('  '));
  shell(`cat /sys/bus/mdev/devices/${DOC_UUID}/vendor/sample_mdev_dev`);
  say(mtty.sysfs.read(`/sys/bus/mdev/devices/${DOC_UUID}/vendor/sample_mdev_dev`).trimEnd());
  shell(`cat ${PARENT}/mdev_supported_types/mtty-2/available_instances`);
  say(mtty.sysfs.read(`${PARENT}/mdev_supported_types/mtty-2/available_instances`).trimEnd());

  // ---- 3 ----------------------------------------------------------------------------------
  step(3, 'hand the device to a VMM');
  say('With QEMU this is:');
  say(`    -device vfio-pci,\\\n    sysfsdev=/sys/bus/mdev/devices/${DOC_UUID}`);
  say('Here the VMM is this process: it opens the mdev and gets the VFIO device API.');
  const mdev = mtty.bus.device(DOC_UUID);
  if (!mdev) throw new Error('the device created in step 2 is missing');
  const dev = mdev.open();
  const info = dev.getInfo();
  say(`  VFIO_DEVICE_GET_INFO       flags 0x${info.flags.toString(16)} (PCI), ${info.numRegions} regions, ${info.numIrqs} IRQ indexes`);
  for (const i of [0, 1, VFIO_PCI_CONFIG_REGION_INDEX]) {
    const r = dev.getRegionInfo(i);
    const name = i === VFIO_PCI_CONFIG_REGION_INDEX ? 'config' : `BAR${i}`;
    say(`  VFIO_DEVICE_GET_REGION_INFO ${name.padEnd(6)} size ${String(r.size).padEnd(4)} offset 0x${r.offset.toString(16)}`);
  }
  const intx = dev.getIrqInfo(VFIO_PCI_INTX_IRQ_INDEX);
  say(`  VFIO_DEVICE_GET_IRQ_INFO   INTx: count ${intx.count}, flags 0x${intx.flags.toString(16)} (eventfd, maskable, automasked)`);

  // ---- 4 ----------------------------------------------------------------------------------
  step(4, 'boot the VM');
  say('The guest BIOS sizes the BARs through the config region, places them at 0xc150/0xc158 and');
  say('routes INTA# to IRQ 10; the VMM wires INTx; Linux\'s 8250_pci claims 4348:3253 (WCH CH352 2S).');
  guestShell('dmesg | grep -i serial');
  const guest = new GuestMachine({ style: 'doc', onLog: (l) => say(l) });
  const attached = guest.attach(dev);
  guestShell('lspci -s 00:05.0 -xxvv');
  out(guest.lspci(dev));

  // ---- 5 ----------------------------------------------------------------------------------
  step(5, 'check the serial ports in the guest');
  guestShell('setserial -g /dev/ttyS*');
  for (const l of guest.setserial()) say(l);
  say('(ttyS0 is the guest\'s own on-board COM1; ttyS1 and ttyS2 are the two ports of the mdev.)');

  // ---- 6 ----------------------------------------------------------------------------------
  step(6, 'open /dev/ttyS1, hardware flow control off');
  const tty = attached.ttys[0];
  const before = guest.irqs.count(attached.fn.irq);
  tty.open({ baud: 9600, crtscts: false, clocal: true });
  const port = attached.ports[0];
  say(`${tty.name} open at 9600 8N1, no flow control (startup: THRE test ${port.bugs.thre ? 'FAILED' : 'passed'}, TXEN test ${port.bugs.txen ? 'FAILED' : 'passed'})`);
  say(`IRQ ${attached.fn.irq} interrupts taken during open: ${guest.irqs.count(attached.fn.irq) - before}`);

  // ---- 7 ----------------------------------------------------------------------------------
  step(7, 'type on the terminal and read the data back');
  const text = opts.text ?? 'Hello from the guest, looped back by mtty!';
  const irqBefore = guest.irqs.count(attached.fn.irq);
  const signalsBefore = attached.intx.signals;
  say(`typed:    ${JSON.stringify(text)}`);
  const bytes = new TextEncoder().encode(text);
  const chars = [...text].length;
  const counted = bytes.length === chars ? `${chars} characters` : `${chars} characters (${bytes.length} bytes in UTF-8)`;
  const reading = within(tty.read(bytes.length), 'reading the loopback');
  // One key at a time, as a terminal sends them (a multi-byte character is one key).
  for (const ch of text) tty.write(new TextEncoder().encode(ch));
  // A datasheet 16550A hands over a tail below its RX trigger level after 4 idle character times.
  if (opts.clock instanceof ManualClock) opts.clock.advance(50_000_000);
  const echoed = new TextDecoder().decode(await reading);
  say(`received: ${JSON.stringify(echoed)}`);
  const interrupts = guest.irqs.count(attached.fn.irq) - irqBefore;
  say(`IRQ ${attached.fn.irq}: ${interrupts} interrupts for ${counted} ` +
      `(device signalled INTx ${attached.intx.signals - signalsBefore} times, the VMM unmasked after each)`);
  say(`${tty.name}: tx ${port.counters.tx}, rx ${port.counters.rx}, overruns ${port.counters.overrun}`);
  say(echoed === text ? 'Data is looped back from the host\'s mtty driver: OK' : 'MISMATCH: the data did not come back intact');
  say();
  say('The two UART profiles differ; the same guest writes (LCR 8N1, FIFO on, MCR 0x0b, IER THRE) then IIR and MSR read:');
  for (const d of profileDifference()) {
    say(`  ${d.profile.padEnd(8)}  IIR 0x${d.iir.toString(16).padStart(2, '0')}  MSR 0x${d.msr.toString(16).padStart(2, '0')}${d.profile === profile ? '   <- this run' : ''}`);
  }
  say(profile === 'mtty'
    ? '  (mtty ORs 0xC0 into IIR always and reports MSR fixed at 0xB3, as mtty.c does; its RX trigger is forced to 1: one interrupt per character)'
    : '  (pc16550d follows the datasheet: IIR 0xC2 = THRE with FIFOs on, MSR inputs from the line; RX trigger 8 plus the character timeout)');

  // ---- 8 ----------------------------------------------------------------------------------
  step(8, 'destroy the mediated device');
  tty.close();
  guest.detach(dev);
  dev.close();
  say('(guest shut down; the VMM closed the VFIO device)');
  shell(`echo 1 > /sys/bus/mdev/devices/${DOC_UUID}/remove`);
  await mtty.sysfs.write(`/sys/bus/mdev/devices/${DOC_UUID}/remove`, '1\n');
  shell('ls /sys/bus/mdev/devices/');
  say(mtty.sysfs.list('/sys/bus/mdev/devices').join('  ') || '(empty)');
  shell(`cat ${PARENT}/mdev_supported_types/mtty-2/available_instances`);
  const availableAfter = Number(mtty.sysfs.read(`${PARENT}/mdev_supported_types/mtty-2/available_instances`).trim());
  say(String(availableAfter));
  await mtty.unload();
  say();
  return { profile, echoed, interrupts, availableAfter };
}

function cliOptions(argv: string[]): WalkthroughOptions {
  const o: WalkthroughOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const eq = /^--profile=(.*)$/.exec(argv[i]!);
    if (eq && findUartProfile(eq[1])) o.profile = findUartProfile(eq[1])!.name;
    else if (argv[i] === '--profile' && findUartProfile(argv[i + 1])) o.profile = findUartProfile(argv[++i])!.name;
    else if (argv[i] === '--text' && argv[i + 1] !== undefined) o.text = argv[++i];
    else {
      process.stderr.write(`walkthrough: unexpected argument '${argv[i]}'\nusage: npm run demo -- [--profile ${UART_PROFILE_NAMES.join('|')}] [--text "..."]\n`);
      process.exit(2);
    }
  }
  return o;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  walkthrough(cliOptions(process.argv.slice(2))).then(
    (r) => {
      process.exitCode = r.echoed.length > 0 && r.availableAfter === 12 ? 0 : 1;
    },
    (e) => {
      process.stderr.write(`walkthrough failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
