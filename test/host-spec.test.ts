/** Spec parsing: every bad spec is EINVAL before anything is opened. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MttyError } from '../src/errors/errno.js';
import { createBackend } from '../src/host/create.js';
import { formatSpec, parseSpec } from '../src/host/spec.js';

test('good specs parse and round-trip', () => {
  assert.equal(parseSpec('loopback'), { kind: 'loopback' });
  assert.equal(parseSpec('serialport:/dev/ttyUSB0'), { kind: 'serialport', path: '/dev/ttyUSB0' });
  assert.equal(parseSpec('serialport:/dev/ttyUSB0,115200'), { kind: 'serialport', path: '/dev/ttyUSB0', baud: 115200 });
  assert.equal(parseSpec('pty'), { kind: 'pty' });
  assert.equal(parseSpec('pty:/tmp/ttyMTTY0'), { kind: 'pty', link: '/tmp/ttyMTTY0' });
  for (const s of ['loopback', 'serialport:/dev/ttyS1,9600', 'pty', 'pty:/tmp/a-b_c.0']) assert.is(formatSpec(parseSpec(s)), s);
});

test('bad specs are EINVAL', () => {
  const bad: unknown[] = [
    '', ' ', 42, null, 'serial', 'loopback:x', 'serialport', 'serialport:', 'serialport:,9600',
    'serialport:/dev/x,fast', 'serialport:/dev/x,10', 'serialport:/dev/x,9000000', 'pty:relative',
    'pty:/tmp/', 'pty:/tmp/a,b', 'pty:/tmp/a:b', 'pty:/tmp/a b',
  ];
  for (const s of bad) {
    try {
      parseSpec(s);
      assert.unreachable(`accepted ${JSON.stringify(s)}`);
    } catch (e) {
      assert.instance(e, MttyError, JSON.stringify(s));
      assert.is((e as MttyError).code, 'EINVAL', JSON.stringify(s));
      assert.is((e as MttyError).errno, 22);
    }
  }
});

test('createBackend validates without side effects', () => {
  assert.throws(() => createBackend('nonsense'), (e: unknown) => e instanceof MttyError && e.code === 'EINVAL');
  const b = createBackend('pty:/tmp/never-opened');
  assert.is(b.kind, 'pty');
  assert.is(b.status().state, 'idle');
});

test.run();
