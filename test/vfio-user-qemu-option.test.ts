/**
 * What a user starting QEMU needs next: `mtty serve --vfio-user DIR` logs each
 * device's socket with the `-device` option that attaches it, and that option
 * survives a POSIX shell as the JSON QEMU parses (spaces and quotes in the path).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startDaemon } from '../src/control/daemon.js';
import { SocketClient } from '../src/control/client.js';
import { qemuDeviceOption } from '../src/vfio-user/serve.js';

/** The words sh makes of `-device <quoted>`. */
function shellWords(option: string): string[] {
  return execFileSync('sh', ['-c', `printf '%s\\n' ${option}`], { encoding: 'utf8' }).split('\n').slice(0, -1);
}

test('the -device option is one shell word of vfio-user-pci JSON, also for a path with spaces and quotes', () => {
  for (const path of ['/run/user/1000/mtty/vfio/1f0e.sock', "/tmp/it's here/x.sock", '/tmp/"q"/x.sock']) {
    const words = shellWords(qemuDeviceOption(path));
    assert.is(words.length, 2, path);
    assert.is(words[0], '-device');
    assert.equal(JSON.parse(words[1]!), { driver: 'vfio-user-pci', socket: { path, type: 'unix' } });
  }
});

test('serve --vfio-user: each created device is logged with its socket and the QEMU option for it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vu-opt-'));
  const vu = join(dir, 'vfio');
  const lines: string[] = [];
  const daemon = await startDaemon({ socketPath: join(dir, 'run', 'control.sock'), configDir: join(dir, 'cfg'), vfioUserDir: vu, log: (l) => lines.push(l) });
  const ctl = await SocketClient.connect(join(dir, 'run', 'control.sock'));
  try {
    const { uuid } = await ctl.call<{ uuid: string }>('create', { type: 'mtty-2' });
    const path = join(vu, `${uuid}.sock`);
    assert.ok(statSync(path).isSocket(), 'the socket exists');
    const line = lines.find((l) => l.includes(uuid));
    assert.ok(line, `a log line names ${uuid}: ${JSON.stringify(lines)}`);
    assert.is(line, `vfio-user: ${uuid} on ${path}; QEMU: ${qemuDeviceOption(path)}`);
  } finally {
    await ctl.close();
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
