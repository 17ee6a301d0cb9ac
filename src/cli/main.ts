/**
 * The `mtty` command. Each area of the product keeps its verbs in its own
 * file (replay.ts, devices.ts, ...); this file only finds the verb and runs it,
 * loading the area's module lazily so `mtty replay` does not start a daemon
 * client and `mtty help` loads nothing heavy.
 */
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { MttyError } from '../errors/errno.js';

/** Verb-table modules; each exports `commands: Record<string, CliCommand>`. */
const AREAS: ReadonlyArray<() => Promise<{ commands: Record<string, CliCommand> }>> = [
  () => import('./replay.js'),
  () => import('./devices.js'),
  () => import('./definitions.js'),
  () => import('./guest.js'),
  () => import('./registers.js'),
  () => import('./serve.js'),
  () => import('./console.js'),
  () => import('./host.js'),
  () => import('./inspect.js'),
  () => import('./vfio-user.js'),
  () => import('../lab/cli.js'),
];

async function loadCommands(): Promise<Map<string, CliCommand>> {
  const table = new Map<string, CliCommand>();
  for (const load of AREAS) {
    const { commands } = await load();
    for (const [verb, cmd] of Object.entries(commands)) table.set(verb, cmd);
  }
  return table;
}

function help(table: Map<string, CliCommand>, io: CliIO): void {
  io.stdout.write('usage: mtty <command> [options]       mtty --version\n\ncommands:\n');
  const width = Math.max(...[...table.keys()].map((k) => k.length));
  for (const [verb, cmd] of [...table].sort(([a], [b]) => a.localeCompare(b))) {
    io.stdout.write(`  ${verb.padEnd(width)}  ${cmd.summary}\n`);
  }
  io.stdout.write('\nRun "mtty <command> --help" for its options.\n');
}

/** The package's version, from package.json next to dist/ (`mtty --version`). */
async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return `${pkg.name} ${pkg.version}`;
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version') {
    io.stdout.write(`${await version()}\n`);
    return 0;
  }
  const table = await loadCommands();
  const [verb, ...rest] = argv;
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    help(table, io);
    return verb ? 0 : 2;
  }
  const cmd = table.get(verb);
  if (!cmd) {
    io.stderr.write(`mtty: unknown command '${verb}'\n`);
    help(table, io);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(cmd.usage.endsWith('\n') ? cmd.usage : cmd.usage + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`mtty ${verb}: ${e.message}\n${cmd.usage}\n`);
      return 2;
    }
    if (e instanceof MttyError) {
      io.stderr.write(`mtty ${verb}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
