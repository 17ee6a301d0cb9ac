import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alignedChunks } from '../src/vfio/aligned-chunks.js';
import {
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_PCI_CONFIG_REGION_INDEX,
  regionOffset,
} from '../src/vfio/uapi.js';
import { DOC_UUID, expectErrnoSync, freshMtty } from './support/mtty-support.js';

const BAR0 = regionOffset(0);
const BAR1 = regionOffset(1);
const CFG = regionOffset(VFIO_PCI_CONFIG_REGION_INDEX);

async function openDual() {
  const m = await freshMtty();
  const mdev = m.type2.create(DOC_UUID);
  return { ...m, mdev, dev: mdev.open() };
}

test('aligned chunking: widest aligned access that fits', () => {
  const sizes = (pos: number, len: number) => alignedChunks(pos, len).map((c) => `${c.pos}:${c.size}`);
  assert.equal(sizes(0, 8), ['0:4', '4:4']);
  assert.equal(sizes(1, 3), ['1:1', '2:2']);
  assert.equal(sizes(1, 7), ['1:1', '2:2', '4:4']);
  assert.equal(sizes(0xfc, 3), ['252:2', '254:1']);
  assert.equal(sizes(0, 0), []);
});

test('GET_INFO: flags PCI only (the sample does not advertise RESET), 9 regions, 5 irqs', async () => {
  const { dev } = await openDual();
  assert.equal(dev.getInfo(), { flags: VFIO_DEVICE_FLAGS_PCI, numRegions: 9, numIrqs: 5 });
  const { type1 } = await freshMtty({ advertiseReset: true });
  assert.is(type1.create().open().getInfo().flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
});

test('GET_REGION_INFO table for mtty-2 and mtty-1; index >= 9 EINVAL', async () => {
  const { dev, type1 } = await openDual();
  const sizes = [8, 8, 0, 0, 0, 0, 0, 0xff, 0];
  for (let i = 0; i < 9; i++) {
    assert.equal(dev.getRegionInfo(i), { index: i, flags: 0x3, size: sizes[i], offset: i * 2 ** 40 });
  }
  assert.is(dev.getRegionInfo(1).offset, 0x10000000000);
  expectErrnoSync(() => dev.getRegionInfo(9), 'EINVAL');
  expectErrnoSync(() => dev.getRegionInfo(-1), 'EINVAL');
  expectErrnoSync(() => dev.getRegionInfo(1.5), 'EINVAL');
  const single = type1.create().open();
  assert.is(single.getRegionInfo(0).size, 8);
  assert.is(single.getRegionInfo(1).size, 0);
});

test('GET_IRQ_INFO: EINVAL before GET_INFO; INTx 0x7/1, MSI 0x9/1; MSI-X/ERR/REQ EINVAL', async () => {
  const { dev } = await openDual();
  for (let i = 0; i < 5; i++) expectErrnoSync(() => dev.getIrqInfo(i), 'EINVAL');
  dev.getInfo();
  assert.equal(dev.getIrqInfo(0), { index: 0, flags: 0x7, count: 1 });
  assert.equal(dev.getIrqInfo(1), { index: 1, flags: 0x9, count: 1 });
  for (const i of [2, 3, 4, 5, -1]) expectErrnoSync(() => dev.getIrqInfo(i), 'EINVAL');
});

test('BAR access: each port behind its BAR; only the first byte of a wide access matters', async () => {
  const { dev } = await openDual();
  dev.write(BAR0 + 7, 1, 0x11);
  dev.write(BAR1 + 7, 1, 0x22);
  assert.is(dev.read(BAR0 + 7, 1), 0x11);
  assert.is(dev.read(BAR1 + 7, 1), 0x22);
  dev.write(BAR0 + 4, 4, 0xffffff00 | 0x33); // acts on MCR (offset 4) only
  assert.is(dev.read(BAR0 + 4, 1), 0x33 & 0x1f);
  assert.is(dev.read(BAR0 + 4, 4), 0x33 & 0x1f, 'a dword read returns the register in the low byte');
  assert.is(dev.read(BAR0 + 7, 1), 0x11, 'SCR untouched by the dword write at MCR');
});

test('bad accesses are EINVAL and change nothing', async () => {
  const { dev, type1 } = await openDual();
  dev.write(BAR0 + 7, 1, 0x5a);
  const cfgBefore = dev.readBytes(CFG, 255);
  expectErrnoSync(() => dev.read(BAR0 + 8, 1), 'EINVAL');
  expectErrnoSync(() => dev.write(BAR0 + 8, 1, 0), 'EINVAL');
  expectErrnoSync(() => dev.read(regionOffset(2), 1), 'EINVAL');
  expectErrnoSync(() => dev.read(regionOffset(6), 1), 'EINVAL');
  expectErrnoSync(() => dev.read(regionOffset(8), 1), 'EINVAL');
  expectErrnoSync(() => dev.read(regionOffset(9), 1), 'EINVAL');
  expectErrnoSync(() => dev.read(BAR0 + 1, 2), 'EINVAL');
  expectErrnoSync(() => dev.read(BAR0 + 2, 4), 'EINVAL');
  expectErrnoSync(() => dev.read(BAR0, 3 as 1), 'EINVAL');
  expectErrnoSync(() => dev.read(-1, 1), 'EINVAL');
  expectErrnoSync(() => dev.read(Number.NaN, 1), 'EINVAL');
  expectErrnoSync(() => dev.write(BAR0 + 7, 1, 0x100), 'EINVAL');
  expectErrnoSync(() => dev.write(BAR0 + 7, 1, 1.5), 'EINVAL');
  expectErrnoSync(() => dev.write(CFG + 0x100, 4, 0), 'EINVAL');
  expectErrnoSync(() => dev.setIrqs(null as never), 'EINVAL');
  const single = type1.create().open();
  expectErrnoSync(() => single.read(BAR1, 1), 'EINVAL');
  assert.is(dev.read(BAR0 + 7, 1), 0x5a);
  assert.equal(dev.readBytes(CFG, 255), cfgBefore);
});

test('config: read(7 << 40 | 0xfc, 4) on an mtty-2 answers 0 as the sample does; region 7 still reports 255 bytes', async () => {
  const { dev } = await openDual();
  assert.is(dev.getRegionInfo(VFIO_PCI_CONFIG_REGION_INDEX).size, 0xff);
  assert.is(dev.read(7 * 2 ** 40 + 0xfc, 4), 0);
  assert.is(dev.read(CFG + 0xf8, 4), 0);
  assert.is(dev.read(CFG + 0xfc, 2), 0);
  assert.is(dev.read(CFG + 0xfe, 1), 0);
  assert.is(dev.read(CFG + 0xff, 1), 0);
  // A full 256-byte dump (hexdump of sysfs config, lspci -xxx): the image then one zero byte.
  const all = dev.readBytes(CFG, 256);
  assert.is(all.length, 256);
  assert.equal(all.subarray(0, 255), dev.readBytes(CFG, 255));
  assert.is(all[255], 0);
  assert.is(all[0], 0x48);
  dev.write(CFG + 0xfc, 4, 0x12345678); // dropped, not stored
  assert.is(dev.read(CFG + 0xfc, 4), 0);
  expectErrnoSync(() => dev.read(CFG + 0x100, 1), 'EINVAL');
  expectErrnoSync(() => dev.read(CFG + 0xfd, 4), 'EINVAL');
  expectErrnoSync(() => dev.read(CFG + 0xfc, 3 as 1), 'EINVAL');
});

test('readBytes/writeBytes: split into aligned chunks; any bad chunk EFAULT with nothing done', async () => {
  const { dev } = await openDual();
  const cfg = dev.readBytes(CFG + 1, 7);
  assert.equal([...cfg], [0x43, 0x53, 0x32, 0x01, 0x00, 0x00, 0x02]);
  assert.is(dev.writeBytes(BAR0 + 7, Uint8Array.of(0x77)), 1);
  assert.is(dev.read(BAR0 + 7, 1), 0x77);
  // 2 bytes at BAR0+7 would run past the 8-byte BAR: EFAULT, and SCR keeps its value.
  expectErrnoSync(() => dev.writeBytes(BAR0 + 7, Uint8Array.of(0x01, 0x02)), 'EFAULT');
  assert.is(dev.read(BAR0 + 7, 1), 0x77);
  expectErrnoSync(() => dev.readBytes(CFG + 0xff, 2), 'EFAULT');
  expectErrnoSync(() => dev.readBytes(CFG, 257), 'EFAULT');
  expectErrnoSync(() => dev.readBytes(regionOffset(3), 4), 'EFAULT');
  expectErrnoSync(() => dev.writeBytes(BAR0, [1, 2] as unknown as Uint8Array), 'EFAULT');
  expectErrnoSync(() => dev.readBytes(BAR0, -1), 'EINVAL');
  assert.equal(dev.readBytes(BAR0, 0), new Uint8Array(0));
});

test('a closed handle answers EBADF; the device is reachable again through a new open', async () => {
  const { dev, mdev } = await openDual();
  dev.getInfo();
  dev.close();
  expectErrnoSync(() => dev.getInfo(), 'EBADF');
  expectErrnoSync(() => dev.read(BAR0, 1), 'EBADF');
  expectErrnoSync(() => dev.migration, 'EBADF');
  const again = mdev.open();
  // GET_INFO's cache belongs to the device, as in the sample: still primed after reopen.
  assert.is(again.getIrqInfo(0).count, 1);
  again.close();
});

test('migration ops taken from a handle fail EBADF after it is closed; they cannot drive the next opener', async () => {
  const { dev, mdev } = await openDual();
  const stale = dev.migration!;
  assert.is(stale.state, 2); // RUNNING
  dev.close();
  const again = mdev.open();
  expectErrnoSync(() => stale.setState(3), 'EBADF');
  expectErrnoSync(() => stale.state, 'EBADF');
  expectErrnoSync(() => stale.dataSize(), 'EBADF');
  assert.is(again.migration!.state, 2);
  assert.is(again.migration!.dataSize(), 96);
  assert.is(again.migration!.flags, 7);
  again.close();
});

test.run();
