#!/usr/bin/env node
// The installed `mtty` command. `mtty help` and `mtty --version` are answered here,
// from the text the build rendered into dist/src/cli/verbs.json (src/cli/verb-index.ts,
// with main.ts's own help renderer), as CommonJS: a one-line answer then costs about
// what `node -e 0` costs, without starting Node's ES module loader. Every verb goes to
// dist/src/cli/main.js, which loads only that verb's module.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

// Output into a closed pipe (`mtty help | head -1`) ends the command quietly,
// as a reader that has seen enough is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e && e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const argv = process.argv.slice(2);
const first = argv[0];
const quick = argv.length <= 1 && (first === undefined || ['help', '--help', '-h', '--version', '-V', 'version'].includes(first));
let index = null;
if (quick) {
  try {
    index = JSON.parse(readFileSync(join(__dirname, '../dist/src/cli/verbs.json'), 'utf8'));
  } catch {
    // not built this way: main.js answers
  }
}
if (index && typeof index.helpText === 'string' && typeof index.versionText === 'string') {
  process.stdout.write(first === '--version' || first === '-V' || first === 'version' ? index.versionText : index.helpText);
  process.exitCode = first === undefined ? 2 : 0;
} else {
  import('../dist/src/cli/main.js')
    .then(({ main }) => main(argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }))
    .then((code) => {
      process.exitCode = code;
    });
}
