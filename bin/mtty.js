#!/usr/bin/env node
// The installed command: runs the compiled CLI (built by `npm install`).
import { main } from '../dist/src/cli/main.js';

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
process.exitCode = code;
