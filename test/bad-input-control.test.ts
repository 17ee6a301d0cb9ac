/**
 * Bad input on the control socket (`mtty serve`, JSON lines): every malformed
 * or invalid message gets an error reply with its errno, changes nothing in
 * the daemon (pool, device list, every device's full state), and the same
 * connection and new connections keep being served. Includes an oversized
 * line, deep nesting, binary junk and a client vanishing mid-line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, SocketClient, MAX_LINE_BYTES, type ControlReply, type Daemon } from '../src/control/index.js';
import type { MttyDevice } from '../src/mtty/device.js';
import { ManualClock } from '../src/clock/clock.js';

const A = 'c0ffee00-0000-4000-8000-00000000000a';
const B = 'c0ffee00-0000-4000-8000-00000000000b';

let dir = '';
let daemon: Daemon;
let sock = '';

function fingerprint(d: Daemon): string {
  const lib = d.service.mtty;
  return JSON.stringify({
    types: lib.parent.types.map((t: { id: string; availableInstances: number }) => [t.id, t.availableInstances]),
    devices: lib.bus.devices.map((m) => [m.uuid, m.state, Buffer.from((m.vendor as unknown as MttyDevice).snapshot()).toString('hex')]),
  });
}

/**
 * sendRaw, but a missing reply is a failure to report, not a hung test. The bound only
 * catches a daemon that never answers: on a loaded 2-core CI machine an 800 kB line
 * took over 3 s to parse and answer, so it is far above any honest reply time.
 */
const NO_REPLY_MS = 30_000;
async function rawReply(c: SocketClient, line: string): Promise<ControlReply | 'no reply'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'no reply'>((resolve) => (timer = setTimeout(() => resolve('no reply'), NO_REPLY_MS)));
  try {
    return await Promise.race([c.sendRaw(line), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const deep = '['.repeat(400_000) + ']'.repeat(400_000);

/** [raw line, expected errno]. Ids >= 100 so the client never mistakes a reply for one of its own calls. */
const ROWS: [string, string][] = [
  ['not json', 'EINVAL'],
  ['[]', 'EINVAL'],
  ['"a string"', 'EINVAL'],
  ['null', 'EINVAL'],
  ['{"id":{},"op":"ping"}', 'EINVAL'],
  ['{"id":100}', 'EINVAL'],
  ['{"id":101,"op":""}', 'EINVAL'],
  ['{"id":102,"op":42}', 'EINVAL'],
  ['{"id":103,"op":"no.such.op"}', 'EOPNOTSUPP'],
  ['{"id":104,"op":"constructor"}', 'EOPNOTSUPP'],
  ['{"id":105,"op":"ping","args":[]}', 'EINVAL'],
  ['{"id":106,"op":"ping","args":"x"}', 'EINVAL'],
  ['{"id":107,"op":"create","args":{}}', 'EINVAL'],
  ['{"id":108,"op":"create","args":{"type":"mtty-9"}}', 'ENOENT'], // no such type directory, as on a kernel
  ['{"id":109,"op":"create","args":{"type":"mtty-1","uuid":"xyz"}}', 'EINVAL'],
  [`{"id":110,"op":"create","args":{"type":"mtty-1","uuid":"${B}"}}`, 'EEXIST'],
  ['{"id":111,"op":"create","args":{"type":"mtty-1"}}', 'ENOSPC'],
  ['{"id":112,"op":"create","args":{"__proto__":{"type":"mtty-1"}}}', 'EINVAL'],
  ['{"id":113,"op":"create","args":{"type":["mtty-1"]}}', 'EINVAL'],
  ['{"id":114,"op":"remove","args":{"uuid":"not-a-uuid"}}', 'EINVAL'],
  ['{"id":115,"op":"remove","args":{"uuid":42}}', 'EINVAL'],
  ['{"id":116,"op":"remove","args":{"uuid":"00000000-0000-4000-8000-000000000099"}}', 'ENODEV'],
  [`{"id":117,"op":"reg.read","args":{"uuid":"${A}","port":2,"reg":0}}`, 'EINVAL'],
  [`{"id":118,"op":"reg.read","args":{"uuid":"${B}","port":1,"reg":0}}`, 'EINVAL'],
  [`{"id":119,"op":"reg.read","args":{"uuid":"${A}","port":0,"reg":8}}`, 'EINVAL'],
  [`{"id":120,"op":"reg.read","args":{"uuid":"${A}","port":0,"reg":-1}}`, 'EINVAL'],
  [`{"id":121,"op":"reg.read","args":{"uuid":"${A}","port":"0","reg":0}}`, 'EINVAL'],
  [`{"id":122,"op":"reg.write","args":{"uuid":"${A}","port":0,"reg":7,"value":256}}`, 'EINVAL'],
  [`{"id":123,"op":"reg.write","args":{"uuid":"${A}","port":0,"reg":7,"value":1.5}}`, 'EINVAL'],
  [`{"id":124,"op":"reg.write","args":{"uuid":"${A}","port":0,"reg":7}}`, 'EINVAL'],
  ['{"id":125,"op":"reg.write","args":{"uuid":"00000000-0000-4000-8000-000000000099","port":0,"reg":7,"value":1}}', 'ENODEV'],
  ['{"id":126,"op":"sysfs.read","args":{"path":"sys/bus"}}', 'ENOENT'],
  ['{"id":127,"op":"sysfs.write","args":{"path":"/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/available_instances","text":"9"}}', 'EACCES'],
  [`{"id":128,"op":"sysfs.write","args":{"path":"/sys/bus/mdev/devices/${B}/remove","text":"please"}}`, 'EINVAL'],
  ['{"id":129,"op":"stop","args":{"uuid":"00000000-0000-4000-8000-000000000099"}}', 'ENODEV'],
  ['{"id":130,"op":"lspci","args":{"uuid":"../../etc/passwd"}}', 'EINVAL'],
  ['\u0000\u00ff\u0001garbage', 'EINVAL'],
  [deep, 'EINVAL'],
];

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtty-bad-ctl-'));
  sock = join(dir, 'control.sock');
  // A full pool (3 ports = one mtty-2 + one mtty-1), so create answers ENOSPC without changing anything.
  // ManualClock: the UARTs' virtual time then only moves when told, so state fingerprints compare exactly.
  daemon = await startDaemon({ socketPath: sock, configDir: join(dir, 'cfg'), ports: 3, autostart: false, clock: new ManualClock() });
  const c = await SocketClient.connect(sock);
  await c.call('create', { type: 'mtty-2', uuid: A });
  await c.call('create', { type: 'mtty-1', uuid: B });
  await c.call('reg.write', { uuid: A, port: 1, reg: 7, value: 0xa5 });
  await c.call('reg.write', { uuid: B, port: 0, reg: 7, value: 0x5a });
  await c.close();
});

test.after.each(async () => {
  await daemon.close();
  await rm(dir, { recursive: true, force: true });
});

test('every bad message gets its errno, nothing changes, the connection keeps serving', async () => {
  const c = await SocketClient.connect(sock);
  const failures: string[] = [];
  for (const [line, code] of ROWS) {
    const before = fingerprint(daemon);
    const reply = await rawReply(c, line);
    const after = fingerprint(daemon);
    const label = line.length > 80 ? `${line.slice(0, 40)}... (${line.length} chars)` : line;
    if (reply === 'no reply') failures.push(`${label}: no reply within ${NO_REPLY_MS / 1000} s`);
    else if (reply.ok) failures.push(`${label}: expected ${code}, got success`);
    else if (reply.error.code !== code) failures.push(`${label}: expected ${code}, got ${reply.error.code} (${reply.error.message})`);
    else if (reply.error.errno <= 0) failures.push(`${label}: errno ${reply.error.errno}`);
    if (after !== before) failures.push(`${label}: daemon state changed`);
  }
  assert.equal(failures, []);
  assert.is((await c.call<{ value: number }>('reg.read', { uuid: A, port: 1, reg: 7 })).value, 0xa5);
  assert.is((await c.call<{ value: number }>('reg.read', { uuid: B, port: 0, reg: 7 })).value, 0x5a);
  await c.close();
});

test('an oversized line is refused with EMSGSIZE and the next line is served', async () => {
  const c = await SocketClient.connect(sock);
  const before = fingerprint(daemon);
  const big = `{"id":200,"op":"ping","pad":"${'x'.repeat(MAX_LINE_BYTES + 10)}"}`;
  const reply = await rawReply(c, big);
  assert.ok(reply !== 'no reply' && !reply.ok && reply.error.code === 'EMSGSIZE', `expected EMSGSIZE, got ${JSON.stringify(reply)}`);
  assert.equal(await c.call<{ version: number }>('ping').then((r) => r.version), 1);
  assert.is(fingerprint(daemon), before);
  await c.close();
});

test('a client that vanishes mid-line or mid-request does not disturb the daemon', async () => {
  const before = fingerprint(daemon);
  for (const partial of ['{"id":1,"op":"cre', `{"id":2,"op":"remove","args":{"uuid":"${A}"}`]) {
    await new Promise<void>((resolve) => {
      const s = createConnection(sock, () => {
        s.write(partial); // no newline: never a complete request
        s.destroy();
        resolve();
      });
    });
  }
  // A request whose reply cannot be delivered (client gone before it is written).
  await new Promise<void>((resolve) => {
    const s = createConnection(sock, () => {
      s.end('{"id":3,"op":"types"}\n');
      s.resume(); // drain, so the socket can finish and close
      s.on('close', () => resolve());
    });
  });
  const c = await SocketClient.connect(sock);
  assert.is((await c.call<{ pid: number }>('ping')).pid, process.pid);
  assert.equal((await c.call<{ uuid: string }[]>('list')).map((d) => d.uuid).sort(), [A, B]);
  assert.is(fingerprint(daemon), before);
  await c.close();
});

test.run();
