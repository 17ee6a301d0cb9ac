/**
 * The kernel document's steps 2-7 ("Using the Sample Code",
 * Documentation/vfio-mediated-device.txt) on a REAL guest: this process
 * creates mdev 83b8f4f2-... (mtty-2) and serves it over vfio-user; QEMU
 * (>= 10.1, TCG) boots Debian's stock Linux 6.1 with it; what is printed
 * under "guest" is the guest's own output: its config dump, dmesg probe
 * lines, setserial -g and the text looped back through /dev/ttyS1.
 *
 *   npm run demo:vm              (builds, then runs dist/examples/vm-walkthrough.js)
 *   node dist/examples/vm-walkthrough.js [--profile mtty|pc16550d] [--text "..."]
 *
 * QEMU: $MTTY_QEMU, else qemu-system-x86_64 >= 10.1 on PATH. The guest
 * kernel and initramfs are fetched/built into ~/.cache/mtty-vm on first use
 * (test/support/vm, shared with the real-VM tests). Exit 1 if QEMU is missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMtty } from '../src/mtty/load.js';
import { DEFAULT_UART_PROFILE, findUartProfile, UART_PROFILE_NAMES, type UartProfile } from '../src/uart/profile.js';
import { attachVfioUser } from '../src/vfio-user/serve.js';
import { findQemu } from '../test/support/vm/find-qemu.js';
import { ensureGuestImage } from '../test/support/vm/guest-image.js';
import { GuestVm, vfioUserDeviceArg } from '../test/support/vm/guest-vm.js';
import { bdfOf } from '../test/support/vm/guest-checks.js';

const UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

function options(argv: string[]): { profile: UartProfile; text: string } {
  let profile: UartProfile = DEFAULT_UART_PROFILE;
  let text = 'Hello from a real Linux guest';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--profile' && findUartProfile(argv[i + 1])) profile = findUartProfile(argv[++i])!.name;
    else if (argv[i] === '--text' && argv[i + 1] !== undefined) text = argv[++i]!;
    else throw new Error(`usage: node dist/examples/vm-walkthrough.js [--profile ${UART_PROFILE_NAMES.join('|')}] [--text "..."]`);
  }
  if (!/^[\x20-\x7e]{1,200}$/.test(text) || text.includes("'")) throw new Error('--text: up to 200 printable ASCII characters, no single quote');
  return { profile, text };
}

const say = (s: string) => process.stdout.write(s + '\n');
const guest = (out: string) => say(out.trimEnd().split('\n').map((l) => `  guest| ${l}`).join('\n'));

async function main(): Promise<number> {
  const { profile, text } = options(process.argv.slice(2));
  const q = findQemu();
  if (!q.ok) {
    process.stderr.write(`demo:vm: ${q.reason}\n`);
    return 1;
  }
  say(`== preparing the guest (Debian kernel + busybox initramfs, cached in ~/.cache/mtty-vm)`);
  const image = ensureGuestImage(say);
  const dir = mkdtempSync(join(tmpdir(), 'mtty-demo-vm-'));
  const mtty = await loadMtty({ profile });
  let vm: GuestVm | undefined;
  try {
    say(`\n== step 2: create the mdev (profile ${profile})`);
    say(`# echo "${UUID}" > /sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/create`);
    mtty.sysfs.write('/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/create', UUID);
    const mdev = mtty.bus.device(UUID)!;
    const socket = join(dir, `${UUID}.sock`);
    const server = attachVfioUser(mdev, socket, { log: () => {} });

    say(`\n== step 3: add it to QEMU (vfio-user instead of /dev/vfio: no root, no kernel module)`);
    const dev = { id: 'mtty0', socket };
    say(`  ${q.path} -machine pc -accel tcg ... -device '${vfioUserDeviceArg(dev)}'`);

    say(`\n== step 4: boot the VM (QEMU ${q.version}, ${image.kernelPackage}; about 20 s under TCG)`);
    vm = await GuestVm.boot({ qemu: q.path, image, devices: [dev], nrUarts: 4 });
    const bdf = await bdfOf(vm, 'mtty0');
    say(`# hexdump of /sys/bus/pci/devices/${bdf}/config   (busybox has no lspci -xx; the same bytes)`);
    guest(await vm.ok(`hexdump -v -e '"%02_ax: " 16/1 "%02x " "\\n"' /sys/bus/pci/devices/${bdf}/config | head -4`));
    say(`# dmesg | grep ttyS`);
    guest(await vm.ok(`dmesg | grep -E '${bdf}|ttyS[0-9]+ at'`));

    say(`\n== step 5: check the serial ports`);
    say(`# setserial -g /dev/ttyS*`);
    guest(await vm.ok('setserial -g /dev/ttyS0 /dev/ttyS1 /dev/ttyS2'));

    say(`\n== steps 6-7: open /dev/ttyS1 (raw, no flow control), send text, read it back (mtty loops it)`);
    const irq = (await vm.ok(`cat /sys/bus/pci/devices/${bdf}/irq`)).trim();
    const irqLine = async () => (await vm!.ok(`grep -E '^ *${irq}:' /proc/interrupts`)).trim();
    say(`# mtty-guest-tool echo /dev/ttyS1 '${text}'`);
    guest(await vm.ok(`mtty-guest-tool echo /dev/ttyS1 '${text}'`));
    say(`# grep '^1:' /proc/tty/driver/serial; grep '^ *${irq}:' /proc/interrupts`);
    guest(await vm.ok(`grep '^1:' /proc/tty/driver/serial`));
    guest(await irqLine());

    await vm.close();
    vm = undefined;
    await server.close();
    say(`\n== step 8: remove the mdev`);
    say(`# echo 1 > /sys/bus/mdev/devices/${UUID}/remove`);
    mtty.sysfs.write(`/sys/bus/mdev/devices/${UUID}/remove`, '1');
    return 0;
  } finally {
    await vm?.close();
    await mtty.unload();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => (process.exitCode = code),
  (e: Error) => {
    process.stderr.write(`demo:vm: ${e.message}\n`);
    process.exitCode = 1;
  },
);
