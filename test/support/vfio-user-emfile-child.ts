/**
 * Run by test/vfio-user-emfile.test.ts under a low `ulimit -n`: a client waits
 * in the listener's backlog while this process has no fd left, so every
 * accept() fails with EMFILE. Prints, as JSON, how many accept failures the
 * server logged in 300 ms and whether the client is served once fds are free.
 */
import { closeSync, openSync } from 'node:fs';
import { VfioUserClient } from '../../src/vfio-user/client.js';
import { serveFakeDevice } from './vfio-user-fake-device.js';

const served = serveFakeDevice();
const client = VfioUserClient.connect(served.path); // queued in the backlog, not accepted yet
const fillers: number[] = [];
try {
  for (;;) fillers.push(openSync('/dev/null', 'r'));
} catch {
  // EMFILE: the fd table is full before the server's first readiness callback.
}
await new Promise((r) => setTimeout(r, 300));
const failures = served.logs.filter((l) => l.includes('accept failed')).length;
for (const fd of fillers) closeSync(fd);
const version = await client.version(); // accepted on a retry once fds are free
client.close();
await served.done();
process.stdout.write(JSON.stringify({ filled: fillers.length, failures, major: version.major }) + '\n');
