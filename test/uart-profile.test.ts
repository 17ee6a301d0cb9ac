/**
 * The profile definitions (src/uart/profile.ts) are the one source of the
 * profile list, its parsing, reset values and interrupt style (issue 11 item 2).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Uart, UART_PROFILES, UART_PROFILE_NAMES, parseUartProfile, findUartProfile } from '../src/uart/index.js';
import { loadMtty } from '../src/mtty/load.js';
import { ManualClock } from '../src/clock/clock.js';
import { MttyError } from '../src/errors/errno.js';

test('every profile has a name, a code equal to its index, an irq style and reset values', () => {
  assert.equal(UART_PROFILE_NAMES, ['pc16550d', 'mtty']);
  UART_PROFILES.forEach((p, i) => {
    assert.is(p.code, i);
    assert.ok(p.irq === 'level' || p.irq === 'pulse');
    assert.ok(p.quirks.length > 0);
  });
  assert.is(parseUartProfile('pc16550d').irq, 'level');
  assert.is(parseUartProfile('mtty').irq, 'pulse');
});

test('a port after reset has the divisor its definition declares (the core takes it from there)', () => {
  for (const p of UART_PROFILES) {
    const u = Uart.create({ profile: p.name });
    u.write(3, 0x80);
    u.write(0, 0x01);
    u.write(3, 0x03);
    u.reset();
    assert.is(u.lineSettings.divisor, p.reset.divisor, p.name);
    assert.is(u.profileDefinition, p);
    u.dispose();
  }
});

test('an unknown name fails with EINVAL naming the choices, wherever it enters', async () => {
  assert.is(findUartProfile('16750'), undefined);
  for (const fn of [() => parseUartProfile('16750'), () => Uart.create({ profile: '16750' as never }), () => loadMtty({ profile: '16750' as never })]) {
    try {
      await fn();
      assert.unreachable('accepted 16750');
    } catch (e) {
      assert.instance(e, MttyError);
      assert.is((e as MttyError).code, 'EINVAL');
      assert.match((e as Error).message, 'pc16550d or mtty');
    }
  }
});

test('the profile follows a restored snapshot (the wrapper keeps the definition without asking the core)', () => {
  const a = Uart.create({ profile: 'mtty' });
  const b = Uart.create({ profile: 'pc16550d' });
  b.restoreState(a.saveState());
  assert.is(b.profile, 'mtty');
  assert.is(b.profileDefinition.irq, 'pulse');
  b.profile = 'pc16550d';
  assert.is(b.profileDefinition.irq, 'level');
  a.dispose();
  b.dispose();
});

test("MttyPort's interrupt style is the profile's declared irq style, also after a switch at run time", async () => {
  const mtty = await loadMtty({ ports: 1, clock: new ManualClock(), profile: 'mtty' });
  const dev = mtty.parent.type('mtty-1')!.create().vendor;
  const port = dev.ports[0]!;
  assert.is(port.levelTriggered, false);
  port.uart.profile = 'pc16550d';
  assert.is(port.levelTriggered, true);
  await mtty.unload();
});

test.run();
