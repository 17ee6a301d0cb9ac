/**
 * Build step: write dist/src/cli/verbs.json, the verb -> area index main.ts
 * reads so that `mtty help` loads no verb module and a verb loads only its own
 * (see main.ts). Run after tsc: `node dist/src/cli/verb-index.js`. The
 * summaries stay in the verb modules (one home); this only copies them.
 */
import { writeFileSync } from 'node:fs';
import { AREAS, helpText, loadAllCommands, versionText, type VerbIndexEntry } from './main.js';

const all = await loadAllCommands();
const verbs: VerbIndexEntry[] = [...all].map(([verb, { cmd, area }]) => ({ verb, summary: cmd.summary, area }));
writeFileSync(new URL('./verbs.json', import.meta.url), JSON.stringify({ areas: AREAS.length, verbs, helpText: helpText(verbs), versionText: versionText() }, null, 1) + '\n');
// Loading the areas may have started timers or handles (the wasm core, clients); this is a one-shot build step.
process.exit(0);
