/**
 * `mtty replay [--check] [--profile P] FILE`: run a register trace against
 * the UART model. Without --check it prints what each read returns; with
 * --check it compares reads (and recorded irq changes) with the trace.
 * Exit: 0 ok, 1 mismatches or a file that cannot be read, 2 bad usage or bad trace input.
 */
import { readFile } from 'node:fs/promises';
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { parseTrace, replayTrace, TraceError } from '../replay/index.js';
import type { UartProfile } from '../uart/uart.js';

const USAGE = `usage: mtty replay [--check] [--profile pc16550d|mtty] FILE
  Replays a register trace ('R|W <offset> 0x<value>' lines, '# irq N',
  '# initial: ...', or a QEMU -trace serial_* log) against the UART model.
  --check     compare every read (and recorded irq change) with the trace;
              print each mismatch with its line number, exit 1 if any
  --profile   UART behaviour: pc16550d (default) or mtty (the kernel sample)`;

async function run(argv: string[], io: CliIO): Promise<number> {
  let check = false;
  let profile: UartProfile = 'pc16550d';
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--check') check = true;
    else if (a === '--profile' || a.startsWith('--profile=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v !== 'pc16550d' && v !== 'mtty') throw new UsageError(`--profile must be pc16550d or mtty, got ${v === undefined ? 'nothing' : `'${v}'`}`);
      profile = v;
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

  const result = replayTrace(trace, { profile });
  if (!check) {
    for (const r of result.reads) io.stdout.write(`${file}:${r.line}: R ${r.offset} 0x${r.value.toString(16).padStart(2, '0')}  # ${r.text}\n`);
    return 0;
  }
  for (const m of result.mismatches) io.stdout.write(`${file}:${m.line}: mismatch: ${m.message}\n`);
  const irq = result.irqChecked ? `, ${result.irqChanges} irq changes compared` : ', no irq lines in trace';
  const what = `${result.accesses} accesses (${result.reads.length} reads${irq}), profile ${profile}`;
  if (result.mismatches.length > 0) {
    io.stdout.write(`${file}: ${result.mismatches.length} mismatch(es) in ${what}\n`);
    return 1;
  }
  io.stdout.write(`${file}: OK, ${what}\n`);
  return 0;
}

export const commands: Record<string, CliCommand> = {
  replay: {
    summary: 'replay a UART register trace against the model (--check compares)',
    usage: USAGE,
    run,
  },
};
