/**
 * Section "wasm-call": what one call into the core costs, apart from the
 * device code around it. docs/benchmarks.md's explanation of why accesses
 * that run the core stay below the plain-TS model rests on these rows:
 *
 * - an empty call: the core's `io_ptr()` export (returns a constant) against
 *   a JS function doing the same, which V8 inlines into its caller;
 * - a raw THR write + RBR read on a loopback port with FIFOs on: the core's
 *   `uart_write`/`uart_read` exports called directly (no Uart wrapper), against
 *   the plain-TS model's write/read.
 *
 * wasm vs plain TS, CPU-time A/B slices (ab.ts), each variant in its own worker.
 */
import { core, createPort } from '../src/uart/core.js';
import { TsUart } from './baseline/uart-ts.js';
import { abCompare, abRow, type Workload } from './ab.js';
import type { BenchSection } from './run.js';

const THR = 0;
const FCR = 2;

/** The JS side of the empty call: a function V8 can inline, as it inlines the TS model. */
function constant(): number {
  return 4096;
}

/** Runs inside a worker: the workloads of one variant. */
export async function workloads(variant: string): Promise<Record<string, Workload>> {
  if (variant === 'ts') {
    const u = new TsUart({ loopback: true });
    u.write(FCR, 0x01);
    return {
      'an empty call (a constant back)': { step: (i) => constant() + i },
      'THR write + RBR read, no wrapper': {
        step: (i) => {
          u.write(THR, i & 0xff);
          return u.read(THR);
        },
      },
    };
  }
  const h = createPort(0, 1, 0xb0); // pc16550d, loopback wiring, modem inputs connected
  core.uart_write(h, FCR, 0x01);
  const ioPtr = core.io_ptr;
  const write = core.uart_write;
  const read = core.uart_read;
  return {
    'an empty call (a constant back)': { step: (i) => ioPtr() + i },
    'THR write + RBR read, no wrapper': {
      step: (i) => {
        write(h, THR, i & 0xff);
        return read(h, THR);
      },
      close() {
        core.uart_dispose(h);
      },
    },
  };
}

export const wasmCallSection: BenchSection = {
  name: 'wasm-call',
  description: 'one call into the core without the device code: an empty export vs an inlinable JS function, and a raw THR write + RBR read (core exports vs the TS model)',
  async run(log) {
    const f = await abCompare(import.meta.url, 'workloads', 'wasm', 'ts');
    return Object.entries(f).map(([k, x]) => abRow(k, 'call', x, log));
  },
};
