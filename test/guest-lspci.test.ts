import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMtty } from '../src/index.js';
import { GuestMachine } from '../src/guest/index.js';

test('lspci -xxvv: header lines and the byte-exact dump of the kernel doc', async () => {
  const mtty = await loadMtty({ profile: 'mtty' });
  const dev = mtty.parent.type('mtty-2')!.create('83b8f4f2-509f-382f-3c1e-e6bfe0fa1001').open();
  const guest = new GuestMachine();
  guest.attach(dev);
  const lines = guest.lspci(dev).split('\n');
  assert.equal(lines, [
    '00:05.0 Serial controller: Device 4348:3253 (rev 10) (prog-if 02 [16550])',
    '\tSubsystem: Device 4348:3253',
    '\tPhysical Slot: 5',
    '\tControl: I/O+ Mem- BusMaster- SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx-',
    '\tStatus: Cap- 66MHz- UDF- FastB2B- ParErr- DEVSEL=medium >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-',
    '\tInterrupt: pin A routed to IRQ 10',
    '\tRegion 0: I/O ports at c150 [size=8]',
    '\tRegion 1: I/O ports at c158 [size=8]',
    '\tKernel driver in use: serial',
    '00: 48 43 53 32 01 00 00 02 10 02 00 07 00 00 00 00',
    '10: 51 c1 00 00 59 c1 00 00 00 00 00 00 00 00 00 00',
    '20: 00 00 00 00 00 00 00 00 00 00 00 00 48 43 53 32',
    '30: 00 00 00 00 00 00 00 00 00 00 00 00 0a 01 00 00',
    '',
  ]);
  guest.detach(dev);
  dev.close();
  await mtty.unload();
});

test('lspci of an mtty-1 shows one region and BAR1 zero', async () => {
  const mtty = await loadMtty();
  const dev = mtty.parent.type('mtty-1')!.create().open();
  const guest = new GuestMachine();
  guest.attach(dev);
  const text = guest.lspci(dev);
  assert.ok(text.includes('\tRegion 0: I/O ports at c150 [size=8]\n'));
  assert.not.ok(text.includes('Region 1'));
  assert.ok(text.includes('\n10: 51 c1 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n'));
  guest.detach(dev);
  dev.close();
  await mtty.unload();
});

test.run();
