/**
 * Load: 1000 mediated devices on one parent, driven by 8 control-socket
 * clients in parallel (create, register write + read through the daemon,
 * remove). Nothing may be lost: every created UUID is listed, every removed
 * one is gone, available_instances returns to its start values, and no file
 * descriptors (/proc/self/fd) or wasm UART handles (Uart.livePorts) leak.
 * Bounded: one daemon, one pass, well under 20 s on a 2-core machine.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, SocketClient } from '../src/control/index.js';
import { ManualClock } from '../src/clock/clock.js';
import { Uart } from '../src/uart/index.js';

const CLIENTS = 8;
const PER_CLIENT = 125; // 1000 devices
const PORTS = 1200; // more than 1000 mtty-1, so the pool is not the limit

const uuidOf = (client: number, i: number) => `10ad0000-00cc-4000-8000-${(client * 10_000 + i).toString(16).padStart(12, '0')}`;

async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

interface Types {
  type: string;
  availableInstances: number;
}

test(`${CLIENTS} clients x ${PER_CLIENT} devices: create, use, remove; nothing lost, nothing leaked`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mtty-load-'));
  const fdsBefore = await openFds();
  const liveBefore = Uart.livePorts;
  const daemon = await startDaemon({ socketPath: join(dir, 'control.sock'), configDir: join(dir, 'cfg'), ports: PORTS, autostart: false, clock: new ManualClock() });
  try {
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => SocketClient.connect(daemon.server.socketPath)));
    const start = await clients[0]!.call<Types[]>('types');
    assert.equal(start.map((t) => [t.type, t.availableInstances]), [['mtty-1', PORTS], ['mtty-2', PORTS / 2]]);

    // Phase 1, all clients at once: create, write SCR, read it back (through a guest session in the daemon).
    await Promise.all(
      clients.map(async (c, k) => {
        for (let i = 0; i < PER_CLIENT; i++) {
          const uuid = uuidOf(k, i);
          const r = await c.call<{ uuid: string }>('create', { type: 'mtty-1', uuid });
          assert.is(r.uuid, uuid);
          const value = (k * 31 + i) & 0xff;
          await c.call('reg.write', { uuid, port: 0, reg: 7, value });
          const got = await c.call<{ value: number }>('reg.read', { uuid, port: 0, reg: 7 });
          assert.is(got.value, value, `${uuid} SCR`);
        }
      }),
    );
    const listed = await clients[CLIENTS - 1]!.call<{ uuid: string }[]>('list');
    const expected = Array.from({ length: CLIENTS }, (_, k) => Array.from({ length: PER_CLIENT }, (_, i) => uuidOf(k, i))).flat();
    assert.equal(listed.map((d) => d.uuid).sort(), [...expected].sort(), 'every created device is listed');
    assert.equal((await clients[0]!.call<Types[]>('types')).map((t) => t.availableInstances), [PORTS - 1000, (PORTS - 1000) / 2]);
    // Each device kept its own register value under concurrent use by other clients.
    for (const k of [0, CLIENTS - 1]) {
      const v = await clients[(k + 1) % CLIENTS]!.call<{ value: number }>('reg.read', { uuid: uuidOf(k, PER_CLIENT - 1), port: 0, reg: 7 });
      assert.is(v.value, (k * 31 + PER_CLIENT - 1) & 0xff);
    }

    // Phase 2, all clients at once: remove everything, each client removing another client's devices.
    await Promise.all(
      clients.map(async (c, k) => {
        for (let i = 0; i < PER_CLIENT; i++) await c.call('remove', { uuid: uuidOf((k + 1) % CLIENTS, i) });
      }),
    );
    assert.equal(await clients[0]!.call('list'), [], 'every removed device is gone');
    for (const uuid of expected.slice(0, 5)) assert.is(daemon.service.mtty.bus.device(uuid), undefined);
    assert.equal((await clients[0]!.call<Types[]>('types')).map((t) => [t.type, t.availableInstances]), [['mtty-1', PORTS], ['mtty-2', PORTS / 2]]);
    assert.is(Uart.livePorts, liveBefore, 'wasm UART handles back to the start');
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await daemon.close();
    await rm(dir, { recursive: true, force: true });
  }
  // Sockets close asynchronously: poll (bounded) until the count is back. "Back" is
  // "not above the start": uvu runs every test file in this process, so handles an
  // earlier file was still closing can make the start count higher, never lower.
  let fdsAfter = await openFds();
  for (let i = 0; i < 100 && fdsAfter > fdsBefore; i++) {
    await new Promise((r) => setTimeout(r, 20));
    fdsAfter = await openFds();
  }
  assert.ok(fdsAfter <= fdsBefore, `open file descriptors: ${fdsAfter} after, ${fdsBefore} before (a leak)`);
});

test.run();
