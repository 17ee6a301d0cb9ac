/**
 * A real guest, step by step: a recording in the `mtty replay` trace format
 * (parsed by src/replay, the one parser) becomes a routine on the lab
 * device's guest CPU. Each recorded access is made again on the device's BAR,
 * so it gets the same decoded log line, register diff, inspector and
 * timeline as the modelled guest's accesses; a read also says whether this
 * model answers what the real guest read.
 *
 * The phase labels ("# == phase setserial") are comments to the parser; the
 * lesson shows them, so they are looked up here by line number.
 */
import type { UartProfile } from '../uart/profile.js';
import { parseTrace, type Trace } from '../replay/trace.js';
import type { GuestRoutine } from '../guest/index.js';
import type { LabDevice } from './lab-device.js';

export interface Lesson {
  id: string;
  title: string;
  /** Path of the recording relative to the lab's root (fetched by the page, read from disk by tests). */
  file: string;
  /** mdev type to create for it and the UART model it was recorded against. */
  type: string;
  profile: UartProfile;
  about: string;
}

/** The built-in lessons; the first is the default ("ship the Linux 6.1 recording"). */
export const LESSONS: Lesson[] = [
  {
    id: 'linux-6.1-mtty-2',
    title: 'Linux 6.1 drives an mtty-2 (recorded)',
    file: 'recordings/linux-6.1-mtty-2.trace',
    type: 'mtty-2',
    profile: 'pc16550d',
    about: 'Recorded by the vfio-user server (mtty attach --record) under QEMU 10.2 with Debian\'s Linux 6.1: the 8250 probe of both ports, one open at 115200, a write of "hello" read back by loopback, close.',
  },
  {
    id: 'linux-6.1-8250',
    title: 'Linux 6.1 probes, opens and writes a 16550A (QEMU COM1, recorded)',
    file: 'recordings/linux-6.1-8250-isa.trace',
    type: 'mtty-1',
    profile: 'pc16550d',
    about: 'Recorded from Debian\'s Linux 6.1 under QEMU 7.2 (-trace serial_*): firmware, the 8250 probe, setserial, stty 115200 and a write of "hello from ttyS0". Each access is made again on BAR0.',
  },
];

export const BUILTIN_LESSON = LESSONS[0];

/** Phase label of each trace line ("# == phase setserial" sets it for the lines below). */
export function phasesOf(text: string): string[] {
  const out: string[] = [];
  let phase = '';
  text.split(/\r?\n/).forEach((l, i) => {
    const m = /^#\s*==\s*phase\s+(.+?)\s*$/.exec(l.trim());
    if (m) phase = m[1];
    out[i + 1] = phase;
  });
  return out;
}

/**
 * Lines where the recorded VMM unmasked INTx (a recorder's "# dev0 set_irqs
 * flags=0x11 ..." annotation, ACTION_UNMASK|DATA_NONE): the lesson makes the
 * VMM's UNMASK there. Annotations only; the accesses come from src/replay.
 */
export function unmaskLinesOf(text: string): Set<number> {
  const out = new Set<number>();
  text.split(/\r?\n/).forEach((l, i) => {
    if (/^#\s*\S+\s+set_irqs\s+flags=0x11\b/.test(l.trim())) out.add(i + 1);
  });
  return out;
}

/** The BAR (port) a trace device names: '' (single-UART trace) is BAR0, "dev0.1" is BAR1. */
export function portOfDevice(device: string): number {
  const m = /\.(\d+)$/.exec(device);
  return m ? Number(m[1]) : 0;
}

/** Wiring a recording asks for per port ('# port DEV: ... wiring=...'); a trace without says nothing (a terminal's line: host). */
export function wiringOf(trace: Trace): Map<number, 'loopback' | 'host'> {
  const m = new Map<number, 'loopback' | 'host'>();
  for (const e of trace.events) if (e.kind === 'port' && e.wiring) m.set(portOfDevice(e.device), e.wiring);
  return m;
}

export function parseRecording(text: string, name: string): Trace {
  return parseTrace(text, name);
}

export interface RecordingClock {
  /** Bring virtual time to the recording's timestamp `t` (ns since its start), if it is ahead. */
  at(t: number): void;
}

/**
 * The recorded accesses as a guest routine on `dev`'s BARs (DEVICE column ->
 * BAR). `# initial` state and UART snapshots are applied where the recording
 * has them; timestamps move virtual time, so character timeouts fall where
 * they fell; the VMM's INTx unmask is made where the recording made it (or,
 * without such annotations, after the recorded guest's IIR reads).
 */
export function* recordingRoutine(dev: LabDevice, trace: Trace, text: string, clock?: RecordingClock): GuestRoutine {
  const a = dev.attached;
  if (!a) throw new Error('the BIOS must run first: the recording needs the BARs placed');
  const base = (port: number) => {
    const bar = a.fn.bars.find((b) => b.index === port);
    if (!bar) throw new Error(`the recording uses BAR${port}, which this ${dev.typeId} does not have`);
    return bar.address;
  };
  const phases = phasesOf(text);
  const unmasks = unmaskLinesOf(text);
  const irq = a.fn.irq;
  // The recorded guest's interrupt handling is part of the recording: the lab's guest must not
  // run a handler of its own on this line (it would read IIR where Linux did not).
  yield { kind: 'disable-irq', irq };
  const events = trace.events;
  let lastLine = 0;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    const port = portOfDevice(ev.device);
    const mp = dev.mdev.vendor.ports[port];
    if (ev.kind === 'initial') {
      if (ev.modemInputs !== null) {
        const bits = ev.modemInputs;
        mp.withUart((u) => u.setModemInputs(bits));
      }
      for (const w of ev.writes) {
        if (w.reg === 'DLL' || w.reg === 'DLM') continue; // set under DLAB by the recording itself when it matters
        yield { kind: 'out', port: base(port) + w.offset, value: w.value, why: `initial state before the recording: ${w.reg} = 0x${w.value.toString(16)}` };
      }
      continue;
    }
    if (ev.kind === 'snapshot') {
      if (ev.t !== null) clock?.at(ev.t);
      mp.restoreUart(ev.state); // the UART exactly as the recorder saw it when the VMM opened the device
      continue;
    }
    if (ev.kind === 'reset') {
      mp.withUart((u) => u.reset());
      continue;
    }
    if (ev.kind !== 'access') continue;
    for (let l = lastLine + 1; l < ev.line; l++) {
      if (unmasks.has(l) && dev.intxMasked) yield { kind: 'eoi', irq, why: `the recorded VMM unmasked INTx here (${trace.file}:${l})` };
    }
    lastLine = ev.line;
    if (ev.t !== null) clock?.at(ev.t);
    // The INTR changes the recording logged right after this access (QEMU's order for writes).
    const irqs: string[] = [];
    for (let j = i + 1; j < events.length && events[j].kind === 'irq'; j++) {
      if (events[j].device === ev.device) irqs.push((events[j] as { level: boolean }).level ? 'high' : 'low');
    }
    const phase = phases[ev.line];
    const why = `recorded (${trace.file}:${ev.line}${phase ? `, phase ${phase}` : ''})`;
    const op = ev.op === 'R' ? { kind: 'in' as const, port: base(port) + ev.offset, why } : { kind: 'out' as const, port: base(port) + ev.offset, value: ev.value, why };
    dev.recorded.set(op, {
      expected: ev.op === 'R' ? ev.value : null,
      note: irqs.length && ev.op === 'W' ? `in the recording, INTR went ${irqs.join(' then ')} after this write` : null,
    });
    yield op;
    // Without unmask annotations: Linux read IIR in its handler, and the EOI follows the handler.
    if (!unmasks.size && ev.op === 'R' && ev.offset === 2 && dev.intxMasked) {
      yield { kind: 'eoi', irq, why: 'the recorded guest handled its interrupt (it read IIR): the VMM unmasks INTx at its EOI' };
    }
  }
}
