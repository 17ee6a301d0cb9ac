/**
 * What the real-VM tests read inside the guest, parsed: the 8250 driver's
 * probe lines (dmesg), PCI functions from sysfs, setserial -g, the serial
 * driver's /proc file, /proc/interrupts, and the C helper's results.
 */
import type { GuestVm } from './guest-vm.js';

/** "0000:00:03.0: ttyS5 at I/O 0xc118 (irq = 11, base_baud = 115200) is a 16550A" (8250_core, serial8250_register_8250_port). */
export interface ProbeLine {
  bdf: string;
  tty: string;
  io: number;
  irq: number;
  uart: string;
  line: string;
}

export async function probeLines(vm: GuestVm): Promise<ProbeLine[]> {
  // Filtered in the guest: the console is a 16550 under TCG, and a whole dmesg takes seconds to print.
  const out = (await vm.run("dmesg | grep ' at I/O '")).out;
  const lines: ProbeLine[] = [];
  const re = /(\S+): (ttyS\d+) at I\/O 0x([0-9a-f]+) \(irq = (\d+), base_baud = \d+\) is a (\S+)/g;
  for (const m of out.matchAll(re)) {
    lines.push({ bdf: m[1]!, tty: m[2]!, io: parseInt(m[3]!, 16), irq: Number(m[4]), uart: m[5]!, line: m[0] });
  }
  return lines;
}

export interface PciFunction {
  bdf: string;
  vendor: number;
  device: number;
  irq: number;
  /** Start address of each of the 6 BARs (0 if none). */
  bars: number[];
}

export async function pciFunctions(vm: GuestVm): Promise<PciFunction[]> {
  const out = await vm.ok('for d in /sys/bus/pci/devices/*; do echo "F ${d##*/} $(cat $d/vendor) $(cat $d/device) $(cat $d/irq)"; head -6 $d/resource; done');
  const fns: PciFunction[] = [];
  for (const line of out.split('\n')) {
    const f = /^F (\S+) (0x[0-9a-f]+) (0x[0-9a-f]+) (\d+)/.exec(line);
    if (f) {
      fns.push({ bdf: f[1]!, vendor: parseInt(f[2]!, 16), device: parseInt(f[3]!, 16), irq: Number(f[4]), bars: [] });
      continue;
    }
    const r = /^(0x[0-9a-f]+) 0x[0-9a-f]+ 0x[0-9a-f]+$/.exec(line.trim());
    if (r && fns.length) fns[fns.length - 1]!.bars.push(parseInt(r[1]!, 16));
  }
  return fns;
}

/** The guest's full config space of one function (sysfs config: 256 bytes for a conventional function). */
export async function configSpace(vm: GuestVm, bdf: string): Promise<Uint8Array> {
  const out = await vm.ok(`hexdump -v -e '16/1 "%02x " "\\n"' /sys/bus/pci/devices/${bdf}/config`);
  return Uint8Array.from(out.trim().split(/\s+/).map((h) => parseInt(h, 16)));
}

/** `setserial -g /dev/ttySn`: "/dev/ttyS5, UART: 16550A, Port: 0xc118, IRQ: 11". */
export async function setserial(vm: GuestVm, tty: string): Promise<{ uart: string; port: number; irq: number; line: string }> {
  const line = (await vm.ok(`setserial -g /dev/${tty}`)).trim();
  const m = /^\/dev\/\S+, UART: (\S+), Port: 0x([0-9a-f]+), IRQ: (\d+)/.exec(line);
  if (!m) throw new Error(`setserial -g /dev/${tty}: unexpected '${line}'`);
  return { uart: m[1]!, port: parseInt(m[2]!, 16), irq: Number(m[3]), line };
}

/** The line of /proc/tty/driver/serial for ttyS<n>: "5: uart:16550A port:0000C118 irq:11 tx:0 rx:0 ...". */
export async function driverSerial(vm: GuestVm, tty: string): Promise<{ uart: string; port: number; irq: number; tx: number; rx: number; line: string }> {
  const n = tty.replace(/^ttyS/, '');
  const out = await vm.ok('cat /proc/tty/driver/serial');
  const line = out.split('\n').find((l) => l.startsWith(`${n}: `));
  const m = line && /uart:(\S+) port:([0-9A-F]+) irq:(\d+) tx:(\d+) rx:(\d+)/.exec(line);
  if (!m) throw new Error(`/proc/tty/driver/serial has no usable line for ${tty}:\n${out}`);
  return { uart: m[1]!, port: parseInt(m[2]!, 16), irq: Number(m[3]), tx: Number(m[4]), rx: Number(m[5]), line: line!.trim() };
}

/** Total count of an IRQ line in /proc/interrupts (all CPUs). */
export async function interruptCount(vm: GuestVm, irq: number): Promise<number> {
  const out = await vm.ok('cat /proc/interrupts');
  const line = out.split('\n').find((l) => l.trim().startsWith(`${irq}:`));
  if (!line) return 0;
  return line
    .trim()
    .split(/\s+/)
    .slice(1)
    .filter((t) => /^\d+$/.test(t))
    .reduce((a, t) => a + Number(t), 0);
}

export interface LoopResult {
  dev: string;
  sent: number;
  recv: number;
  lost: number;
  bad: number;
  sumTx: string;
  sumRx: string;
  ms: number;
  bytesPerSecond: number;
}

/** The helper's loopback transfer: SIZE bytes on each tty at once. */
export async function loopback(vm: GuestVm, size: number, ttys: string[], timeoutMs = 300_000): Promise<LoopResult[]> {
  const out = await vm.ok(`mtty-guest-tool loop ${size} ${ttys.map((t) => `/dev/${t}`).join(' ')}`, timeoutMs);
  return [...out.matchAll(/loop dev=(\S+) sent=(\d+) recv=(\d+) lost=(\d+) bad=(\d+) sum_tx=(\S+) sum_rx=(\S+) ms=(\d+) Bps=(\d+)/g)].map((m) => ({
    dev: m[1]!,
    sent: Number(m[2]),
    recv: Number(m[3]),
    lost: Number(m[4]),
    bad: Number(m[5]),
    sumTx: m[6]!,
    sumRx: m[7]!,
    ms: Number(m[8]),
    bytesPerSecond: Number(m[9]),
  }));
}

export interface InbTiming {
  port: number;
  n: number;
  p50Ns: number;
  meanNs: number;
  minNs: number;
  clockNs: number;
  last: number;
}

/** N timed single-byte reads of an I/O port from the guest (C helper, ioperm + inb). */
export async function timeInb(vm: GuestVm, port: number, n: number, timeoutMs = 120_000): Promise<InbTiming> {
  const out = await vm.ok(`mtty-guest-tool inb 0x${port.toString(16)} ${n}`, timeoutMs);
  const m = /inb port=\S+ n=(\d+) p50_ns=(\d+) mean_ns=(\d+) min_ns=(\d+) max_ns=\d+ clock_ns=(\d+) last=0x([0-9a-f]+)/.exec(out);
  if (!m) throw new Error(`mtty-guest-tool inb: unexpected output '${out}'`);
  return { port, n: Number(m[1]), p50Ns: Number(m[2]), meanNs: Number(m[3]), minNs: Number(m[4]), clockNs: Number(m[5]), last: parseInt(m[6]!, 16) };
}

/** The PCI address QEMU gave a device id (QMP query-pci, bus 0). */
export async function bdfOf(vm: GuestVm, id: string): Promise<string> {
  const buses = (await vm.qmp.execute('query-pci')) as { bus: number; devices: { bus: number; slot: number; function: number; qdev_id: string }[] }[];
  for (const b of buses) {
    for (const d of b.devices) {
      if (d.qdev_id === id) return `0000:${hex2(d.bus)}:${hex2(d.slot)}.${d.function}`;
    }
  }
  throw new Error(`QEMU has no PCI device with id '${id}'`);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** QEMU stderr lines that report an error (vfio_* failures, "error", "failed"). */
export function qemuErrorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /error|fail|warn|bad address/i.test(l));
}
