import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MttyConfigSpace } from '../src/pci/mtty-config-space.js';
import { lspciHexDump } from '../src/pci/lspci-dump.js';
import { regionOffset, VFIO_PCI_CONFIG_REGION_INDEX } from '../src/vfio/uapi.js';
import { DOC_UUID, expectErrnoSync, freshMtty } from './support/mtty-support.js';

const CFG = regionOffset(VFIO_PCI_CONFIG_REGION_INDEX);

test('initial image: the dwords the facts list', () => {
  const c = new MttyConfigSpace(2);
  assert.is(c.size, 255);
  assert.is(c.read(0x00, 4), 0x32534348);
  assert.is(c.read(0x04, 4), 0x02000001);
  assert.is(c.read(0x08, 4), 0x07000210);
  assert.is(c.read(0x10, 4), 0x00000001);
  assert.is(c.read(0x14, 4), 0x00000001);
  assert.is(c.read(0x2c, 4), 0x32534348);
  assert.is(c.read(0x3c, 4), 0x00000100);
  assert.is(c.read(0x40, 4), 0x80000023);
  assert.is(c.read(0x4c, 4), 0x00000023);
  const text = String.fromCharCode(...c.bytes().slice(0x60, 0x6f));
  assert.is(text, 'PCI Serial/UART');
  assert.is(c.read(0x6f, 1), 0);
  assert.is(c.read(0xfe, 1), 0);
});

test('mtty-1 has no BAR1 and a sizing write leaves it 0', () => {
  const c = new MttyConfigSpace(1);
  assert.is(c.read(0x14, 4), 0);
  c.write(0x14, 4, 0xffffffff);
  assert.is(c.read(0x14, 4), 0);
  c.write(0x14, 4, 0xc159);
  assert.is(c.read(0x14, 4), 0);
});

test('BAR sizing reads back 0xfffffff9 (8 bytes, I/O); relocation values are stored', () => {
  const c = new MttyConfigSpace(2);
  c.write(0x10, 4, 0xffffffff);
  assert.is(c.read(0x10, 4), 0xfffffff9);
  c.write(0x14, 4, 0xffffffff);
  assert.is(c.read(0x14, 4), 0xfffffff9);
  c.write(0x10, 4, 0xc150);
  assert.is(c.read(0x10, 4), 0xc151, 'the I/O indicator bit is kept');
  c.write(0x10, 4, 0xc153);
  assert.is(c.read(0x10, 4), 0xc153, 'other values are stored unmasked');
  assert.is(c.barAddress(0), 0xc150);
});

test('BAR2-4 are forced to 0, BAR5/ROM/command/status/pin writes are ignored', () => {
  const c = new MttyConfigSpace(2);
  for (const off of [0x18, 0x1c, 0x20]) {
    c.write(off, 4, 0xffffffff);
    assert.is(c.read(off, 4), 0, `BAR at 0x${off.toString(16)}`);
  }
  const before = c.bytes();
  c.write(0x24, 4, 0xffffffff);
  c.write(0x30, 4, 0xffffffff);
  c.write(0x04, 2, 0x0007);
  c.write(0x06, 2, 0xffff);
  c.write(0x3d, 1, 0x02);
  c.write(0x11, 1, 0xff);
  c.write(0x40, 4, 0);
  assert.equal(c.bytes(), before);
  assert.is(c.read(0x04, 2), 0x0001, 'command stays I/O enable only');
});

test('interrupt line: only the first byte of a wider write at 0x3c is taken', () => {
  const c = new MttyConfigSpace(2);
  c.write(0x3c, 4, 0xaabb020a);
  assert.is(c.read(0x3c, 4), 0x0000010a);
  assert.is(c.interruptLine, 0x0a);
  c.write(0x3c, 1, 0x0b);
  assert.is(c.read(0x3c, 1), 0x0b);
});

test('0xff and the dword at 0xfc read zeros past the image (as the sample); past 0x100 is EINVAL', () => {
  const c = new MttyConfigSpace(2);
  assert.is(c.size, 0xff, 'the image (and region 7) stays 255 bytes');
  assert.is(c.read(0xff, 1), 0);
  assert.is(c.read(0xfc, 4), 0);
  assert.is(c.read(0xfe, 2), 0);
  c.write(0xfc, 4, 0xffffffff); // dropped, as the sample drops writes it does not handle
  c.write(0xff, 1, 0x55);
  assert.is(c.read(0xfc, 4), 0);
  assert.is(c.bytes().length, 0xff);
  expectErrnoSync(() => c.read(0x100, 1), 'EINVAL');
  expectErrnoSync(() => c.read(0xfe, 4), 'EINVAL');
  expectErrnoSync(() => c.write(0x100, 1, 0), 'EINVAL');
  expectErrnoSync(() => c.load(new Uint8Array(256)), 'EINVAL');
});

test('lspci -xx after BIOS-style programming matches the kernel doc, through the VFIO config region', async () => {
  const { type2 } = await freshMtty();
  const dev = type2.create(DOC_UUID).open();
  // A BIOS sizes each BAR, then assigns an address, then routes the interrupt.
  for (const [bar, addr] of [
    [0x10, 0xc151],
    [0x14, 0xc159],
  ]) {
    dev.write(CFG + bar, 4, 0xffffffff);
    assert.is(dev.read(CFG + bar, 4), 0xfffffff9);
    dev.write(CFG + bar, 4, addr);
  }
  dev.write(CFG + 0x3c, 1, 0x0a);
  const bytes = dev.readBytes(CFG, 64);
  assert.is(
    lspciHexDump(bytes),
    [
      '00: 48 43 53 32 01 00 00 02 10 02 00 07 00 00 00 00',
      '10: 51 c1 00 00 59 c1 00 00 00 00 00 00 00 00 00 00',
      '20: 00 00 00 00 00 00 00 00 00 00 00 00 48 43 53 32',
      '30: 00 00 00 00 00 00 00 00 00 00 00 00 0a 01 00 00',
    ].join('\n'),
  );
  // The whole region in one read(): 255 bytes split into aligned chunks.
  assert.is(dev.readBytes(CFG, 255).length, 255);
  dev.close();
});

test.run();
