/**
 * The serialport back-end on a real pty with the platform binding: a socat
 * pty pair stands in for a null-modem cable to another program. ptys take
 * bytes and speeds but refuse modem ioctls and some framings; the back-end
 * must say so ('degraded') and keep the line working.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { attach, hostTestPort } from './support/host-port.js';
import type { HostEvent } from '../src/host/backend.js';
import { createBackend } from '../src/host/create.js';
import { Uart } from '../src/uart/index.js';

async function poll<T>(probe: () => T | undefined, what: string, tries = 200, everyMs = 10): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`gave up waiting for ${what}`);
}

test('serialport on a pty: bytes both ways, modem ioctls and 1.5 stop bits refused and reported, line keeps working', async () => {
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const a = `/tmp/mtty-sp-${tag}-a`;
  const b = `/tmp/mtty-sp-${tag}-b`;
  const socat = spawn('socat', ['-d', '-d', `PTY,rawer,link=${a}`, `PTY,rawer,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  socat.stderr.on('data', (d) => (log += d));
  const { uart, port } = hostTestPort();
  let fd = -1;
  let holdA = -1;
  try {
    await poll(() => ((log.match(/PTY is/g) ?? []).length === 2 ? true : undefined), 'socat pty pair');
    // socat relays a pty pair only while each slave side stays open somewhere; the
    // back-end's reopen (new framing) closes side a for a moment, and a socat that
    // sees that hang-up may stop relaying. A real serial device survives close and
    // reopen, so the test keeps side a open. This fd never reads, so every byte
    // from the far end still goes to the back-end.
    holdA = fs.openSync(a, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
    port.write(3, 0x03); // 8N1
    port.write(2, 0x01); // FIFO
    port.write(4, 0x03); // DTR | RTS: forwarded, and a pty refuses
    const backend = createBackend(`serialport:${a},115200`);
    const events: HostEvent[] = [];
    backend.onEvent((e) => events.push(e));
    const att = await attach(port, backend);
    fd = fs.openSync(b, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
    for (const c of Buffer.from('ping')) port.write(0, c);
    const buf = Buffer.alloc(64);
    let far = '';
    await poll(() => {
      try {
        far += buf.toString('latin1', 0, fs.readSync(fd, buf, 0, 64, null));
      } catch {
        /* EAGAIN: nothing yet */
      }
      return far === 'ping' ? true : undefined;
    }, 'guest TX at the far end');
    fs.writeSync(fd, 'pong');
    await poll(() => (att.status().rxBytes === 4 ? true : undefined), 'far-end bytes in the FIFO');
    let got = '';
    while (port.read(5) & 1) got += String.fromCharCode(port.read(0));
    assert.is(got, 'pong');
    await poll(() => events.find((e) => e.type === 'degraded' && /modem control/.test(e.message)), 'modem ioctl refusal reported');
    // 5 data bits with 1.5 stop bits: Linux has no 1.5; the device keeps 8N1 and says so.
    port.write(3, 0x04);
    att.kick();
    await poll(() => events.find((e) => e.type === 'degraded' && /refused .*5N1\.5/.test(e.message)), 'framing refusal reported');
    assert.is(att.status().state, 'connected');
    port.write(3, 0x03);
    att.kick();
    await (backend as unknown as { idle(): Promise<void> }).idle(); // the reopen and re-apply are done
    for (const c of Buffer.from('again')) port.write(0, c);
    far = '';
    await poll(() => {
      try {
        far += buf.toString('latin1', 0, fs.readSync(fd, buf, 0, 64, null));
      } catch {
        /* EAGAIN */
      }
      return far === 'again' ? true : undefined;
    }, 'TX after the refusals');
    await att.detach();
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    if (holdA >= 0) fs.closeSync(holdA);
    socat.kill();
  }
});

test.run();
