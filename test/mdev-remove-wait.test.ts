/**
 * MdevDevice.remove() waits for the opener to close, like the kernel's remove
 * write; `openedBy` names who it waits for, and `timeoutMs` gives up with
 * EBUSY leaving the device exactly as it was (still active, still open, and
 * removable later).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMtty, MttyError } from '../src/index.js';

test('remove({timeoutMs}) on an open device: EBUSY naming the opener, device untouched; a later remove completes on close', async () => {
  const mtty = await loadMtty();
  const mdev = mtty.parent.type('mtty-2')!.create();
  const dev = mdev.open('QEMU (pid 4242)');
  assert.is(mdev.openedBy, 'QEMU (pid 4242)');
  try {
    await mdev.remove({ timeoutMs: 20 });
    assert.unreachable('removed an open device');
  } catch (e) {
    assert.ok(e instanceof MttyError);
    assert.is((e as MttyError).code, 'EBUSY');
    assert.match((e as MttyError).message, /still open by QEMU \(pid 4242\) after 20 ms; not removed/);
  }
  assert.is(mdev.state, 'active');
  dev.write(7, 1, 0x5a); // BAR0 SCR (region 0, offset 7): the opener's handle still works
  assert.is(mtty.parent.type('mtty-2')!.availableInstances, 11);
  // A plain remove waits for the close, then the device is gone and its ports come back.
  const removing = mdev.remove();
  assert.is(mdev.state, 'removing');
  let done = false;
  void removing.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.not.ok(done, 'still waiting for the opener');
  dev.close();
  await removing;
  assert.is(mdev.state, 'gone');
  assert.is(mdev.openedBy, undefined);
  assert.is(mtty.parent.type('mtty-2')!.availableInstances, 12);
  await mtty.unload();
});

test('remove({timeoutMs}) on a closed device removes at once; a bad timeout is EINVAL', async () => {
  const mtty = await loadMtty();
  const a = mtty.parent.type('mtty-1')!.create();
  await a.remove({ timeoutMs: 0 });
  assert.is(a.state, 'gone');
  const b = mtty.parent.type('mtty-1')!.create();
  const h = b.open();
  await b.remove({ timeoutMs: -1 }).then(
    () => assert.unreachable('accepted -1'),
    (e: MttyError) => assert.is(e.code, 'EINVAL'),
  );
  assert.is(b.state, 'active', 'a refused remove changed nothing');
  h.close();
  assert.is(b.state, 'active');
  await mtty.unload();
});

test.run();
