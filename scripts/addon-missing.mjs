#!/usr/bin/env node
// The package's install step ran `node-gyp-build`, which found no prebuilt addon for this
// platform and could not build one (no C compiler, make or Python, or no Node headers).
// That must not fail the install: only the vfio-user server and client use the addon.
console.error(
  '\nmtty: the vfio-user addon is not installed (no prebuilt binary for ' +
    `${process.platform}-${process.arch}, and building it failed: see the node-gyp output above).\n` +
    'mtty: everything else works: the library, the demo, the daemon, the CLI and the lab.\n' +
    'mtty: for `mtty attach` and `mtty serve --vfio-user`: apt-get install build-essential python3, then `npm rebuild mtty`.\n',
);
