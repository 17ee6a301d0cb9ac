/**
 * The `mtty` command. Each area of the product keeps its verbs in its own
 * file (replay.ts, devices.ts, ...); this file only finds the verb and runs it.
 *
 * Start-up cost is the point here: `mtty help` and `mtty --version` load no
 * verb module at all, and a verb loads only its own area's module. That needs
 * to know which area holds a verb without importing every area, so the build
 * writes verbs.json beside the compiled main.js (src/cli/verb-index.ts: verb,
 * summary, index into AREAS, and the help and version texts that bin/mtty.cjs
 * prints without loading this module). Run from source (tsx) there is no
 * verbs.json and every area is loaded, which is only slower.
 */
import { readFileSync } from 'node:fs';
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { MttyError } from '../errors/errno.js';

/** Verb-table modules; each exports `commands: Record<string, CliCommand>`. */
export const AREAS: ReadonlyArray<() => Promise<{ commands: Record<string, CliCommand> }>> = [
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
  () => import('./lab.js'),
];

/** One row of verbs.json: what `help` prints and which AREAS entry to load. */
export interface VerbIndexEntry {
  verb: string;
  summary: string;
  area: number;
}

/** verbs.json from the build, or null (running from source, or a build without it). */
function readVerbIndex(): VerbIndexEntry[] | null {
  try {
    const rows = JSON.parse(readFileSync(new URL('./verbs.json', import.meta.url), 'utf8')) as { areas: number; verbs: VerbIndexEntry[] };
    // An index written for another AREAS table (a stale build) is ignored rather than trusted.
    return rows.areas === AREAS.length ? rows.verbs : null;
  } catch {
    return null;
  }
}

/** Every verb by loading every area (what the build's index is made from). */
export async function loadAllCommands(): Promise<Map<string, { cmd: CliCommand; area: number }>> {
  const table = new Map<string, { cmd: CliCommand; area: number }>();
  for (const [area, load] of AREAS.entries()) {
    const { commands } = await load();
    for (const [verb, cmd] of Object.entries(commands)) table.set(verb, { cmd, area });
  }
  return table;
}

/** The text of `mtty help` (also rendered into verbs.json for bin/mtty.cjs). */
export function helpText(rows: ReadonlyArray<{ verb: string; summary: string }>): string {
  const width = Math.max(...rows.map((r) => r.verb.length));
  const lines = [...rows].sort((a, b) => a.verb.localeCompare(b.verb)).map((r) => `  ${r.verb.padEnd(width)}  ${r.summary}\n`);
  return `usage: mtty <command> [options]       mtty --version\n\ncommands:\n${lines.join('')}\nRun "mtty <command> --help" for its options.\n`;
}

/** The text of `mtty --version`. */
export function versionText(): string {
  return `mtty ${version()}\n`;
}

function help(rows: ReadonlyArray<{ verb: string; summary: string }>, io: CliIO): void {
  io.stdout.write(helpText(rows));
}

/** The package's version (package.json two folders above dist/src/cli, or src/cli from source). */
function version(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mtty' && pkg.version) return pkg.version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
}

/** Look a verb up, loading only the module that holds it (all of them without an index). */
async function findCommand(verb: string): Promise<{ cmd: CliCommand | undefined; rows: { verb: string; summary: string }[] }> {
  const index = readVerbIndex();
  if (index) {
    const row = index.find((r) => r.verb === verb);
    const cmd = row ? (await AREAS[row.area]!()).commands[verb] : undefined;
    return { cmd, rows: index };
  }
  const all = await loadAllCommands();
  return { cmd: all.get(verb)?.cmd, rows: [...all].map(([v, { cmd }]) => ({ verb: v, summary: cmd.summary })) };
}

/** Run `mtty <argv>`; resolves to the exit status (0 ok, 1 failed operation, 2 bad usage). */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === '--version' || verb === '-V' || verb === 'version') {
    io.stdout.write(versionText());
    return 0;
  }
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    help(readVerbIndex() ?? (await findCommand('')).rows, io);
    return verb ? 0 : 2;
  }
  const { cmd, rows } = await findCommand(verb);
  if (!cmd) {
    io.stderr.write(`mtty: unknown command '${verb}'\n`);
    help(rows, io);
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
