#!/usr/bin/env node
// The installed command: runs the compiled CLI (built by `npm install`).
import { main } from '../dist/src/cli/main.js';

// Output into a closed pipe (`mtty help | head -1`) ends the command quietly,
// as a reader that has seen enough is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e && e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
process.exitCode = code;
