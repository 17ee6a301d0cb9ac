/**
 * `mtty replay [--check] [--profile P] [--device NAME] FILE`: run a register
 * trace against the UART model. Without --check it prints what each read
 * returns; with --check it compares reads (and recorded irq changes) with the
 * trace. A multi-device trace (a DEVICE column, as `--record` writes) replays
 * each device on its own UART, or only NAME.
 * Exit: 0 ok, 1 mismatches or a file that cannot be read, 2 bad usage or bad trace input.
 */
import { readFile } from 'node:fs/promises';
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { parseTrace, replayTrace, traceDevices, TraceError, type ReplayResult } from '../replay/index.js';
import { DEFAULT_UART_PROFILE, type UartProfile } from '../uart/profile.js';
import { profileOption, PROFILE_CHOICES } from './args.js';

const USAGE = `usage: mtty replay [--check] [--profile ${PROFILE_CHOICES}] [--device NAME] FILE
  Replays a register trace ('[DEVICE] R|W <offset> 0x<value> [@ns]' lines, '# irq N',
  '# initial: ...', or a QEMU -trace serial_* log) against the UART model.
  A trace with a DEVICE column (mtty attach/serve --record) replays each
  device on its own UART.
  --check     compare every read (and recorded irq change) with the trace;
              print each mismatch with its line number, exit 1 if any
  --profile   UART behaviour: ${PROFILE_CHOICES.replace('|', ' or ')}; default:
              the trace's '# port ... profile=', else ${DEFAULT_UART_PROFILE}
  --device    replay only this DEVICE of a multi-device trace`;

async function run(argv: string[], io: CliIO): Promise<number> {
  let check = false;
  let profile: UartProfile | undefined;
  let device: string | undefined;
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--check') check = true;
    else if (a === '--profile' || a.startsWith('--profile=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new UsageError('--profile needs a value');
      profile = profileOption(v)!;
    } else if (a === '--device' || a.startsWith('--device=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) throw new UsageError('--device needs a NAME');
      device = v;
    } else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
    else if (file === undefined) file = a;
    else throw new UsageError(`only one FILE, got '${file}' and '${a}'`);
  }
  if (file === undefined) throw new UsageError('missing FILE');

  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    // A missing or unreadable file is a failed operation (exit 1), as for every other verb.
    io.stderr.write(`mtty replay: ${file}: cannot read: ${(e as Error).message}\n`);
    return 1;
  }
  let trace;
  try {
    trace = parseTrace(text, file);
  } catch (e) {
    if (e instanceof TraceError) {
      io.stderr.write(`mtty replay: ${e.message}\n`);
      return 2;
    }
    throw e;
  }

  const devices = traceDevices(trace);
  if (device !== undefined && !devices.includes(device)) {
    io.stderr.write(`mtty replay: ${file}: no device '${device}' in this trace (it has: ${devices.filter(Boolean).join(', ') || 'no DEVICE column'})\n`);
    return 2;
  }
  const results: ReplayResult[] = (device !== undefined ? [device] : devices.length ? devices : ['']).map((d) => replayTrace(trace, { profile, device: d }));
  const tag = (r: ReplayResult) => (r.device ? `${r.device}: ` : '');
  if (!check) {
    for (const res of results) {
      for (const r of res.reads) io.stdout.write(`${file}:${r.line}: ${tag(res)}R ${r.offset} 0x${r.value.toString(16).padStart(2, '0')}  # ${r.text}\n`);
    }
    return 0;
  }
  let bad = 0;
  for (const res of results) {
    for (const m of res.mismatches) io.stdout.write(`${file}:${m.line}: ${tag(res)}mismatch: ${m.message}\n`);
    const irq = res.irqChecked ? `, ${res.irqChanges} irq changes compared` : ', no irq lines in trace';
    const what = `${res.accesses} accesses (${res.reads.length} reads${irq}), profile ${res.profile}`;
    if (res.mismatches.length > 0) {
      bad++;
      io.stdout.write(`${file}: ${tag(res)}${res.mismatches.length} mismatch(es) in ${what}\n`);
    } else io.stdout.write(`${file}: ${tag(res)}OK, ${what}\n`);
  }
  return bad > 0 ? 1 : 0;
}

export const commands: Record<string, CliCommand> = {
  replay: {
    summary: 'replay a UART register trace against the model (--check compares)',
    usage: USAGE,
    run,
  },
};
