/**
 * The server process of `npm run bench -- vfio-user`: one mtty-1 per socket
 * path given on the command line, each served by attachVfioUser exactly as
 * `mtty attach` does. A process of its own so the bench can read its CPU
 * time (/proc/PID/task/{*}/schedstat) and count its syscalls (perf/strace)
 * apart from the client's. Prints "ready" once every socket listens; exits
 * on SIGTERM.
 */
import { loadMtty } from '../src/mtty/load.js';
import { attachVfioUser } from '../src/vfio-user/serve.js';

const paths = process.argv.slice(2);
const mtty = await loadMtty();
const servers = paths.map((p) => attachVfioUser(mtty.parent.type('mtty-1')!.create(), p, { log: (l) => process.stderr.write(l + '\n') }));
process.on('SIGTERM', () => {
  void Promise.all(servers.map((s) => s.close())).then(() => process.exit(0));
});
process.stdout.write('ready\n');
