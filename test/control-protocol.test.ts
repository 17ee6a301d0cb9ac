import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LineSplitter, parseRequest } from '../src/control/protocol.js';
import { defaultConfigDir, defaultSocketPath } from '../src/control/paths.js';
import { MttyError } from '../src/errors/errno.js';

test('LineSplitter: lines across chunks, CRLF, blank lines, oversize resync', () => {
  const lines: string[] = [];
  let over = 0;
  const s = new LineSplitter((l) => lines.push(l), () => over++, 10);
  s.push('{"a"');
  s.push(':1}\r\n\n{"b":2}\n0123456789abc');
  s.push('def\nok\n');
  assert.equal(lines, ['{"a":1}', '{"b":2}', 'ok']);
  assert.is(over, 1);
});

test('parseRequest: defaults and errors', () => {
  assert.equal(parseRequest('{"op":"ping"}'), { id: null, op: 'ping', args: {} });
  for (const bad of ['nope', '1', '{"id":1}', '{"id":{},"op":"x"}', '{"op":"x","args":[]}']) {
    assert.throws(() => parseRequest(bad), (e: unknown) => e instanceof MttyError && e.code === 'EINVAL', bad);
  }
});

test('default paths follow XDG, with per-uid /tmp fallback', () => {
  assert.is(defaultSocketPath({ XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/mtty/control.sock');
  assert.match(defaultSocketPath({}), /^\/tmp\/mtty-\d+\/control\.sock$/);
  assert.is(defaultConfigDir({ XDG_CONFIG_HOME: '/home/a/.config' }), '/home/a/.config/mtty/etc/mdevctl.d'); // mdevctl's layout under mtty's root
  assert.is(defaultConfigDir({ HOME: '/home/b' }), '/home/b/.config/mtty/etc/mdevctl.d');
});

test.run();
