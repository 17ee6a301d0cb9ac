/**
 * Across a process boundary, as with QEMU: `mtty attach` runs in a child
 * process; this process connects, passes an eventfd with SCM_RIGHTS, and
 * reads the interrupt the child signals on it. Also `mtty vfio-user-lspci`.
 * Waits on the child's output and exit events, never on timers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VfioUserClient } from '../src/vfio-user/client.js';
import { native } from '../src/vfio-user/native.js';
import { qemuShutdown, qemuStartup } from '../src/vfio-user/qemu-startup.js';
import { qemuDeviceOption } from '../src/vfio-user/serve.js';
import { commands } from '../src/cli/vfio-user.js';

const UUID = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
const CLI = new URL('../src/cli/vfio-user.js', import.meta.url).href;

/** Run `mtty attach` (this area's verb) in a child node process. */
function spawnAttach(args: string[]): ChildProcess {
  const script =
    `const { commands } = await import(${JSON.stringify(CLI)});` +
    `const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };` +
    `process.exitCode = await commands.attach.run(process.argv.slice(1), io);`;
  return spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with the stdout lines up to and including the first one matching `re`. */
function linesUntil(child: ChildProcess, re: RegExp): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const seen: string[] = [];
    rl.on('line', (l) => {
      seen.push(l);
      if (re.test(l)) {
        rl.close();
        resolve(seen);
      }
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before printing ${re}`)));
  });
}

test('mtty attach in another process: eventfd passed over SCM_RIGHTS is signalled there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vu-'));
  const path = join(dir, 'mtty.sock');
  const child = spawnAttach([UUID, '--socket', path, '--profile', 'mtty', '--type', 'mtty-2']);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  try {
    const [banner, qemu] = await linesUntil(child, /QEMU:/);
    assert.match(banner!, new RegExp(`serving ${UUID} \\(mtty-2, profile mtty\\) on ${path.replace(/[.]/g, '\\.')}`));
    assert.is(qemu, `  QEMU: ${qemuDeviceOption(path)}`, 'the option that attaches it');
    assert.is(statSync(path).mode & 0o777, 0o600);

    // The lspci verb, in this process, against the child.
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += String(d)));
    const code = await commands['vfio-user-lspci']!.run(['--socket', path], { stdout: out, stderr: out, stdin: process.stdin });
    assert.is(code, 0);
    assert.match(text, /^00:00\.0 Serial controller \[0700\]: Device \[4348:3253\] \(rev 10\) \(prog-if 02 \[16550\]\)$/m);
    assert.match(text, /Region 1: I\/O ports at 0000 \[size=8\]/); // I/O+ in the command word: lspci prints the (zero) address
    assert.match(text, /VFIO IRQ 0 INTx: count 1, flags 0x7 \(eventfd, maskable, automasked\)/);

    const client = VfioUserClient.connect(path);
    const r = await qemuStartup(client);
    const efd = r.intx!.eventfd;
    await client.regionWrite(1, 1, Uint8Array.of(0x02)); // port 2 (BAR1): IER = THRI
    assert.is(native().eventfdRead(efd), 1, 'the child wrote our eventfd');
    await qemuShutdown(client, r);
    await client.close();
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const [code] = await exited;
    assert.is(code, 0, stderr);
    assert.not.ok(existsSync(path), 'socket removed on exit');
    rmSync(dir, { recursive: true, force: true });
  }
  assert.match(stderr, /client connected/);
});

test.run();
