/**
 * src/control/host-lines.ts, the one record of who holds a port's line:
 * attaches to one port run one at a time (no two back-ends feeding one RX
 * FIFO), a held line is EBUSY unless forced, a forced attach that fails puts
 * the previous line back, a lease-scoped detach leaves a newer holder alone,
 * and detachDevice closes everything of a device. Back-ends are serialport
 * on @serialport/binding-mock; ports are real MttyPorts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialPortMock } from 'serialport';
import { ManualClock } from '../src/clock/clock.js';
import { HostLines } from '../src/control/host-lines.js';
import { MttyError } from '../src/errors/errno.js';
import { hostTestPort } from './support/host-port.js';

const binding = SerialPortMock.binding;
const UUID = 'b7a5e4b2-0000-4000-8000-000000000001';
let n = 0;

function setup() {
  const ports = [hostTestPort(), hostTestPort()];
  const lines = new HostLines(
    (uuid) => {
      if (uuid !== UUID) throw new MttyError('ENODEV', `no mediated device ${uuid}`);
      return { uuid, ports: ports.map((p) => p.port) };
    },
    { clock: new ManualClock(), binding },
  );
  const dev = () => {
    const path = `/dev/ttyLINES${n++}`;
    binding.createPort(path, { record: true });
    return `serialport:${path}`;
  };
  return { ports, lines, dev };
}

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: MttyError) => e.code);

test.after.each(() => binding.reset());

test('two attaches in flight for one port: the first wins, the second is EBUSY; nothing else is left open', async () => {
  const { ports, lines, dev } = setup();
  const [a, b] = [dev(), dev()];
  const results = await Promise.all([code(lines.attach(UUID, 0, a, { holder: 'one' })), code(lines.attach(UUID, 0, b, { holder: 'two' }))]);
  assert.equal(results, ['ok', 'EBUSY']);
  const st = lines.status(UUID, 0)[0]!;
  assert.equal([st.spec, st.holder, st.state], [a, 'one', 'connected']);
  assert.is(ports[0]!.uart.wiring, 'host');
  await lines.detach(UUID, 0);
  assert.is(ports[0]!.uart.wiring, 'loopback');
  assert.equal(lines.status(), []);
});

test('forced takeover; a forced attach that fails puts the previous line back', async () => {
  const { lines, dev, ports } = setup();
  const a = dev();
  const first = await lines.attach(UUID, 1, a, { holder: 'alice' });
  const taken = await lines.attach(UUID, 1, dev(), { holder: 'bob', force: true });
  assert.is(taken.holder, 'bob');
  assert.ok(taken.lease! > first.lease!);
  const back = await lines.attach(UUID, 1, a, { holder: 'alice', force: true });
  assert.is(await code(lines.attach(UUID, 1, 'serialport:/dev/ttyMISSING', { holder: 'carol', force: true })), 'ENOENT');
  const now = lines.status(UUID, 1)[0]!;
  assert.equal([now.spec, now.holder, now.state], [a, 'alice', 'connected'], 'alice has her line again');
  assert.is(now.lease, back.lease, 'the same holding continues (its lease still detaches it)');
  assert.is(ports[1]!.uart.wiring, 'host');
  await lines.closeAll();
});

test('detach with a lease only releases that holding; loopback over a held line needs force', async () => {
  const { lines, dev } = setup();
  const first = await lines.attach(UUID, 0, dev(), { holder: 'console' });
  const second = await lines.attach(UUID, 0, dev(), { holder: 'user', force: true });
  const after = await lines.detach(UUID, 0, { lease: first.lease });
  assert.equal([after.holder, after.lease], ['user', second.lease], 'a stale lease does not detach the newer holder');
  assert.is(await code(lines.attach(UUID, 0, 'loopback')), 'EBUSY');
  assert.is((await lines.attach(UUID, 0, 'loopback', { force: true })).kind, 'loopback');
  assert.equal(lines.status(), []);
});

test('giveBack: a borrowed line returns to its holder when the borrower detaches; a plain force does not', async () => {
  const { lines, dev } = setup();
  const a = dev();
  await lines.attach(UUID, 0, a, { holder: 'alice' });
  const borrowed = await lines.attach(UUID, 0, dev(), { holder: 'console', force: true, giveBack: true });
  const back = await lines.detach(UUID, 0, { lease: borrowed.lease });
  assert.equal([back.spec, back.holder, back.state], [a, 'alice', 'connected']);
  const taken = await lines.attach(UUID, 0, dev(), { holder: 'bob', force: true });
  const after = await lines.detach(UUID, 0, { lease: taken.lease });
  assert.is(after.kind, 'loopback', 'a takeover without giveBack leaves loopback');
});

test('bad input: errnos, and nothing held', async () => {
  const { lines } = setup();
  assert.is(await code(lines.attach(UUID, 0, 'nonsense')), 'EINVAL');
  assert.is(await code(lines.attach(UUID, 0, 42)), 'EINVAL');
  assert.is(await code(lines.attach(UUID, 2, 'pty')), 'EINVAL');
  assert.is(await code(lines.attach(UUID, -1, 'pty')), 'EINVAL');
  assert.is(await code(lines.attach('c0ffee00-0000-4000-8000-000000000000', 0, 'pty')), 'ENODEV');
  assert.equal(lines.status(), []);
  assert.equal(lines.status(UUID).map((s) => s.kind), ['loopback', 'loopback']);
});

test('detachDevice closes every line of the device', async () => {
  const { lines, dev, ports } = setup();
  await lines.attach(UUID, 0, dev());
  await lines.attach(UUID, 1, dev());
  await lines.detachDevice(UUID);
  assert.equal(lines.status(), []);
  assert.equal(ports.map((p) => p.uart.wiring), ['loopback', 'loopback']);
});

test.run();
