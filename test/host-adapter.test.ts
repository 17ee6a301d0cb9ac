/**
 * Device ports that manage their own Uart (src/mtty MttyPort: takeForHost +
 * withUart) are driven through that API, so host bytes keep the port's clock
 * and timers in step. A stand-in with MttyPort's shape records the calls.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialPortMock } from 'serialport';
import { ManualClock } from '../src/clock/clock.js';
import { MttyError } from '../src/errors/errno.js';
import { hostOps } from '../src/host/control-op.js';
import { hostUartOf } from '../src/host/port-adapter.js';
import { HostRegistry } from '../src/host/registry.js';
import { Uart } from '../src/uart/index.js';

class ManagedPortStandIn {
  readonly uart = Uart.create({ profile: 'pc16550d', wiring: 'loopback' });
  calls = { take: 0, release: 0, withUart: 0, receive: 0 };
  private held = false;
  withUart<T>(fn: (u: Uart) => T): T {
    this.calls.withUart++;
    return fn(this.uart);
  }
  takeForHost(onTransmit: (b: number) => void) {
    if (this.held) throw new MttyError('EBUSY', 'already attached');
    this.held = true;
    this.calls.take++;
    this.uart.onTransmit = onTransmit;
    this.uart.wiring = 'host';
    return {
      receive: (bytes: Uint8Array) => {
        this.calls.receive++;
        return this.withUart((u) => u.receiveMany(bytes));
      },
      rxSpace: () => this.uart.rxSpace(),
      setModemInputs: (bits: number) => this.withUart((u) => u.setModemInputs(bits)),
      release: () => {
        this.held = false;
        this.calls.release++;
        this.uart.onTransmit = null;
        this.uart.wiring = 'loopback';
      },
    };
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

const UUID = 'b7a5e4b2-0000-4000-8000-000000000001';

test('a managed port is driven through takeForHost/withUart; re-attach does not double-take; detach releases', async () => {
  const binding = SerialPortMock.binding;
  binding.createPort('/dev/ttyMANAGED0', { record: true });
  binding.createPort('/dev/ttyMANAGED1', { record: true });
  const port = new ManagedPortStandIn();
  port.uart.write(3, 0x03);
  const registry = new HostRegistry({ clock: new ManualClock(), binding });
  const ops = hostOps((u) => (u === UUID ? { ports: [port] } : undefined), registry);
  const st = (await ops['host.attach']!({ uuid: UUID, port: 0, spec: 'serialport:/dev/ttyMANAGED0' })) as { state: string };
  assert.is(st.state, 'connected');
  assert.is(port.calls.take, 1);
  assert.is(hostUartOf(port).wiring, 'host');
  await ops['host.attach']!({ uuid: UUID, port: 0, spec: 'serialport:/dev/ttyMANAGED1' });
  assert.is(port.calls.take, 1, 'the same HostLink is kept across back-ends (no EBUSY)');
  // RX goes through the port's link (its clock/timer bookkeeping), TX arrives at the new device.
  const dev = (registry as unknown as { entries: Map<string, { att: { backend: { device: { port: { emitData(b: Buffer): void; recording: Buffer } } } } }> }).entries
    .values().next().value!.att.backend.device.port;
  dev.emitData(Buffer.from('z'));
  await until(() => port.calls.receive > 0, 'receive through the link');
  assert.is(port.uart.read(0), 0x7a);
  port.uart.write(0, 0x79);
  await until(() => dev.recording.toString() === 'y', 'TX on the second device');
  await ops['host.detach']!({ uuid: UUID, port: 0 });
  assert.is(port.calls.release, 1);
  assert.is(port.uart.wiring, 'loopback');
  binding.reset();
});

test('a port without a usable UART is EOPNOTSUPP', () => {
  assert.throws(() => hostUartOf({ uart: {} }), (e: unknown) => e instanceof MttyError && e.code === 'EOPNOTSUPP');
});

test.run();
