/**
 * `mtty lab`: start the teaching lab's local web server and print its URL.
 * The verb runs until interrupted (Ctrl-C), like any dev server.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { fail } from '../errors/errno.js';
import { DEFAULT_LAB_ROOT, isLoopbackHost, startLabServer } from '../lab/server.js';
import { exportLab } from '../lab/export.js';

const USAGE = `usage: mtty lab [--port N] [--host 127.0.0.1]
       mtty lab --export DIR

Serve the browser teaching lab (sysfs tree, config space, register inspector,
terminals, step mode, timeline, exercises) on http://127.0.0.1:N/ and print
the URL, or write it as a static site any web server can host.
  --port N      TCP port (default 8250; 0 = any free port)
  --host H      loopback address to bind (default 127.0.0.1; only loopback is allowed)
  --export DIR  write the static site (index.html, app.js, app.css, wasm, recordings)
                into DIR (new or empty) and exit; no server is needed to use it`;

interface LabArgs {
  port: number;
  host: string;
  export?: string;
}

export function parseLabArgs(argv: string[]): LabArgs {
  const out: LabArgs = { port: 8250, host: '127.0.0.1' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--port') {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) > 65535) throw new UsageError(`--port must be 0..65535, not '${v}'`);
      out.port = Number(v);
    } else if (flag === '--export') {
      out.export = value();
      if (!out.export) throw new UsageError('--export needs a directory');
    } else if (flag === '--host') {
      out.host = value();
      if (!isLoopbackHost(out.host)) throw new UsageError(`--host must be a loopback address (127.0.0.1, ::1), not '${out.host}'`);
    } else {
      throw new UsageError(`unknown option '${a}'`);
    }
  }
  return out;
}

/** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

export const commands: Record<string, CliCommand> = {
  lab: {
    summary: 'serve the browser teaching lab on 127.0.0.1 and print its URL',
    usage: USAGE,
    async run(argv: string[], io: CliIO): Promise<number> {
      const args = parseLabArgs(argv);
      if (args.export !== undefined) {
        const files = await exportLab(args.export);
        io.stdout.write(`mtty lab: wrote a static site to ${args.export} (${files.join(', ')})\nserve it with any static web server, e.g.: python3 -m http.server -d ${args.export}\n`);
        return 0;
      }
      if (!existsSync(path.join(DEFAULT_LAB_ROOT, 'index.html'))) {
        fail('ENOENT', `the lab page is not built (${DEFAULT_LAB_ROOT}); run 'npm run build:lab'`);
      }
      let server;
      try {
        server = await startLabServer({ port: args.port, host: args.host });
      } catch (e) {
        // A second `mtty lab` on the default port is the usual cause: say so in errno terms.
        if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') fail('EBUSY', `port ${args.port} on ${args.host} is in use; pick another with --port N (0 = any free port)`);
        throw e;
      }
      io.stdout.write(`mtty lab: open ${server.url}\n(press Ctrl-C to stop)\n`);
      await untilSignal();
      await server.close();
      return 0;
    },
  },
};
