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
  profile: 'mtty' | 'pc16550d';
  about: string;
}

/**
 * The built-in lesson. One-line switch: when the real-VM recording of an
 * mtty-2 (examples/recordings/linux-6.1-mtty-2.trace -> 'recordings/linux-6.1-mtty-2.trace', made through the
 * vfio-user server) is on main, point `file` at it and set profile 'mtty'.
 */
export const BUILTIN_LESSON: Lesson = {
  id: 'linux-6.1-8250',
  title: 'Linux 6.1 probes, opens and writes a 16550A (recorded)',
  file: 'recordings/linux-6.1-8250-isa.trace',
  type: 'mtty-1',
  profile: 'pc16550d',
  about: 'Recorded from Debian\'s Linux 6.1 under QEMU 7.2 (-trace serial_*): firmware, the 8250 probe, setserial, stty 115200 and a write of "hello from ttyS0". Each access is made again on BAR0.',
};

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

export function parseRecording(text: string, name: string): Trace {
  return parseTrace(text, name);
}

/**
 * The recorded accesses as a guest routine on BAR `port` of `dev`. The
 * `# initial:` state is set first (register writes, the line's modem inputs),
 * labelled as what the firmware left behind.
 */
export function* recordingRoutine(dev: LabDevice, trace: Trace, phases: string[], port = 0): GuestRoutine {
  const bar = dev.attached?.fn.bars.find((b) => b.index === port);
  if (!bar) throw new Error(`BAR${port} is not placed: the BIOS must run first`);
  const base = bar.address;
  const irq = dev.attached!.fn.irq;
  // The recorded guest's interrupt handling is part of the recording: the lab's guest must not
  // run a handler of its own on this line (it would read IIR where Linux did not).
  yield { kind: 'disable-irq', irq };
  const events = trace.events;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    if (ev.kind === 'initial') {
      if (ev.modemInputs !== null) {
        const bits = ev.modemInputs;
        dev.mdev.vendor.ports[port].withUart((u) => u.setModemInputs(bits));
      }
      for (const w of ev.writes) {
        if (w.reg === 'DLL' || w.reg === 'DLM') continue; // set under DLAB by the recording itself when it matters
        yield { kind: 'out', port: base + w.offset, value: w.value, why: `initial state before the recording: ${w.reg} = 0x${w.value.toString(16)}` };
      }
      continue;
    }
    if (ev.kind !== 'access') continue;
    // The INTR changes the recording logged right after this access (QEMU's order for writes).
    const irqs: string[] = [];
    for (let j = i + 1; j < events.length && events[j].kind === 'irq'; j++) irqs.push((events[j] as { level: boolean }).level ? 'high' : 'low');
    const phase = phases[ev.line] || 'recording';
    const why = `recorded (${trace.file}:${ev.line}, phase ${phase})`;
    const op = ev.op === 'R' ? { kind: 'in' as const, port: base + ev.offset, why } : { kind: 'out' as const, port: base + ev.offset, value: ev.value, why };
    dev.recorded.set(op, {
      expected: ev.op === 'R' ? ev.value : null,
      note: irqs.length && ev.op === 'W' ? `in the recording, INTR went ${irqs.join(' then ')} after this write` : null,
    });
    yield op;
    // Linux read IIR in its handler; the EOI (QEMU's INTx unmask) follows the handler. Model it there.
    if (ev.op === 'R' && ev.offset === 2 && dev.intxMasked) {
      yield { kind: 'eoi', irq, why: 'the recorded guest handled its interrupt (it read IIR): the VMM unmasks INTx at its EOI' };
    }
  }
}
