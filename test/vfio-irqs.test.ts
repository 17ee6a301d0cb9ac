import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IrqSet, VfioDevice } from '../src/vfio/api.js';
import {
  VFIO_IRQ_SET_ACTION_MASK as MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER as TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK as UNMASK,
  VFIO_IRQ_SET_DATA_BOOL as BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD as EVENTFD,
  VFIO_IRQ_SET_DATA_NONE as NONE,
  regionOffset,
} from '../src/vfio/uapi.js';
import { CountingSink, expectErrnoSync, freshMtty } from './support/mtty-support.js';
import type { UartProfile } from '../src/mtty/port-uart.js';

const INTX = 0;
const MSI = 1;
const BAR0 = regionOffset(0);
const BAR1 = regionOffset(1);
const IER = 1;
const IIR = 2;

async function open(profile: UartProfile = 'pc16550d') {
  const m = await freshMtty({ profile });
  const mdev = m.type2.create();
  const dev = mdev.open();
  return { ...m, mdev, dev, vendor: mdev.vendor };
}

const set = (dev: VfioDevice, s: Partial<IrqSet> & { flags: number; index: number }) =>
  dev.setIrqs({ start: 0, count: 1, ...s });

function enableIntx(dev: VfioDevice) {
  const sink = new CountingSink();
  set(dev, { flags: EVENTFD | TRIGGER, index: INTX, data: [sink] });
  return sink;
}

test('SET_IRQS before GET_INFO is EINVAL (num_irqs not cached yet)', async () => {
  const { dev } = await open();
  expectErrnoSync(() => set(dev, { flags: EVENTFD | TRIGGER, index: INTX, data: [new CountingSink()] }), 'EINVAL');
  dev.getInfo();
  enableIntx(dev);
});

test('core validation: index, flags, start/count, data type, payload', async () => {
  const { dev } = await open();
  dev.getInfo();
  expectErrnoSync(() => set(dev, { flags: NONE | TRIGGER, index: 5 }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: 0x40 | NONE | TRIGGER, index: INTX }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: NONE | BOOL | TRIGGER, index: INTX }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: TRIGGER, index: INTX }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: NONE | TRIGGER, index: INTX, start: 5 }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: NONE | TRIGGER, index: INTX, start: 2, count: 4 }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: BOOL | TRIGGER, index: INTX, data: [] }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: EVENTFD | TRIGGER, index: INTX }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: EVENTFD | TRIGGER, index: INTX, data: [{} as never] }), 'EBADF');
  expectErrnoSync(() => set(dev, { flags: NONE | TRIGGER, index: -1 }), 'EINVAL');
  // No action bit, or several: silently accepted.
  set(dev, { flags: NONE, index: INTX });
  set(dev, { flags: NONE | MASK | UNMASK, index: INTX });
});

test('ENOTTY: INTx MASK/UNMASK via eventfd, MSI MASK/UNMASK, MSI-X/ERR/REQ', async () => {
  const { dev } = await open();
  dev.getInfo();
  enableIntx(dev);
  expectErrnoSync(() => set(dev, { flags: EVENTFD | MASK, index: INTX, data: [new CountingSink()] }), 'ENOTTY');
  expectErrnoSync(() => set(dev, { flags: EVENTFD | UNMASK, index: INTX, data: [new CountingSink()] }), 'ENOTTY');
  expectErrnoSync(() => set(dev, { flags: NONE | MASK, index: MSI }), 'ENOTTY');
  expectErrnoSync(() => set(dev, { flags: NONE | UNMASK, index: MSI }), 'ENOTTY');
  for (const index of [2, 3, 4]) expectErrnoSync(() => set(dev, { flags: NONE | TRIGGER, index }), 'ENOTTY');
});

test('INTx mask/unmask need INTx enabled, start 0, count 1', async () => {
  const { dev } = await open();
  dev.getInfo();
  expectErrnoSync(() => set(dev, { flags: NONE | MASK, index: INTX }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: NONE | UNMASK, index: INTX }), 'EINVAL');
  enableIntx(dev);
  expectErrnoSync(() => set(dev, { flags: NONE | MASK, index: INTX, count: 2 }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: NONE | MASK, index: INTX, start: 1 }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: NONE | TRIGGER, index: INTX, count: 2 }), 'EINVAL');
});

test('IER=0x02 on an empty port: exactly one INTx signal, silence until UNMASK (pc16550d: level)', async () => {
  const { dev, vendor } = await open('pc16550d');
  dev.getInfo();
  const sink = enableIntx(dev);
  dev.write(BAR0 + IER, 1, 0x02);
  assert.is(sink.count, 1);
  assert.is(vendor.interrupts.masked, true, 'automasked');
  // More interrupt sources while masked: nothing.
  dev.write(BAR1 + IER, 1, 0x02);
  dev.write(BAR0 + IER, 1, 0x00);
  dev.write(BAR0 + IER, 1, 0x02);
  assert.is(sink.count, 1);
  // UNMASK with the line still asserted signals again, as vfio-pci does for a level INTx.
  set(dev, { flags: NONE | UNMASK, index: INTX });
  assert.is(sink.count, 2);
  // The guest's handler reads IIR (clears THRE) on both ports, then unmasks: the line is low, no signal.
  assert.is(dev.read(BAR0 + IIR, 1) & 0x0f, 0x02);
  assert.is(dev.read(BAR1 + IIR, 1) & 0x0f, 0x02);
  assert.is(dev.read(BAR0 + IIR, 1) & 0x01, 0x01);
  set(dev, { flags: NONE | UNMASK, index: INTX });
  assert.is(sink.count, 2);
  // A new rising edge interrupts once more.
  dev.write(BAR0 + IER, 1, 0x00);
  dev.write(BAR0 + IER, 1, 0x02);
  assert.is(sink.count, 3);
});

test('IER=0x02 on an empty port: exactly one INTx signal, silence until UNMASK (mtty profile: events)', async () => {
  const { dev } = await open('mtty');
  dev.getInfo();
  const sink = enableIntx(dev);
  dev.write(BAR0 + IER, 1, 0x02);
  assert.is(sink.count, 1);
  dev.write(BAR0 + IER, 1, 0x02); // another trigger point, dropped while masked
  assert.is(sink.count, 1);
  set(dev, { flags: NONE | UNMASK, index: INTX });
  assert.is(sink.count, 1, 'the sample does not re-assert on unmask');
  dev.write(BAR0 + IER, 1, 0x02);
  assert.is(sink.count, 2);
});

test('MASK by BOOL, BOOL false is a no-op; software trigger obeys the mask', async () => {
  const { dev, vendor } = await open('mtty');
  dev.getInfo();
  const sink = enableIntx(dev);
  set(dev, { flags: BOOL | TRIGGER, index: INTX, data: [true] });
  assert.is(sink.count, 1);
  set(dev, { flags: NONE | TRIGGER, index: INTX });
  assert.is(sink.count, 1, 'masked after the first');
  set(dev, { flags: BOOL | UNMASK, index: INTX, data: [false] });
  assert.is(vendor.interrupts.masked, true);
  set(dev, { flags: BOOL | UNMASK, index: INTX, data: [true] });
  set(dev, { flags: BOOL | MASK, index: INTX, data: [true] });
  set(dev, { flags: BOOL | TRIGGER, index: INTX, data: [true] });
  assert.is(sink.count, 1);
  set(dev, { flags: NONE | UNMASK, index: INTX });
  set(dev, { flags: BOOL | TRIGGER, index: INTX, data: [false] });
  assert.is(sink.count, 1);
  set(dev, { flags: NONE | TRIGGER, index: INTX });
  assert.is(sink.count, 2);
});

test('disable with count 0; fd -1 leaves INTx disabled; trigger needs the index enabled', async () => {
  const { dev, vendor } = await open();
  dev.getInfo();
  expectErrnoSync(() => set(dev, { flags: NONE | TRIGGER, index: INTX }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: NONE | TRIGGER, index: INTX, count: 0 }), 'EINVAL');
  const sink = enableIntx(dev);
  assert.is(vendor.interrupts.mode, 'intx');
  set(dev, { flags: NONE | TRIGGER, index: INTX, count: 0 });
  assert.is(vendor.interrupts.mode, 'none');
  dev.write(BAR0 + IER, 1, 0x02);
  assert.is(sink.count, 0);
  enableIntx(dev);
  set(dev, { flags: EVENTFD | TRIGGER, index: INTX, data: [null] });
  assert.is(vendor.interrupts.mode, 'none');
});

test('MSI: delivered every time, never masked; INTx -> MSI needs INTx disabled first', async () => {
  const { dev, vendor } = await open('mtty');
  dev.getInfo();
  enableIntx(dev);
  const msi = new CountingSink();
  expectErrnoSync(() => set(dev, { flags: EVENTFD | TRIGGER, index: MSI, data: [msi] }), 'EINVAL');
  set(dev, { flags: NONE | TRIGGER, index: INTX, count: 0 });
  set(dev, { flags: EVENTFD | TRIGGER, index: MSI, data: [msi] });
  assert.is(vendor.interrupts.mode, 'msi');
  dev.write(BAR0 + IER, 1, 0x02);
  dev.write(BAR0 + IER, 1, 0x02);
  set(dev, { flags: NONE | TRIGGER, index: MSI });
  assert.is(msi.count, 3);
  expectErrnoSync(() => set(dev, { flags: EVENTFD | TRIGGER, index: INTX, data: [new CountingSink()] }), 'EINVAL');
  set(dev, { flags: NONE | TRIGGER, index: MSI, count: 0 });
  assert.is(vendor.interrupts.mode, 'none');
  enableIntx(dev);
});

test('close drops eventfds and the mask; reopen starts with no IRQ configured', async () => {
  const { dev, mdev, vendor } = await open('mtty');
  dev.getInfo();
  const sink = enableIntx(dev);
  dev.write(BAR0 + IER, 1, 0x02);
  assert.is(sink.count, 1);
  dev.close();
  assert.is(vendor.interrupts.mode, 'none');
  assert.is(vendor.interrupts.masked, false);
  const again = mdev.open();
  again.write(BAR0 + IER, 1, 0x02);
  assert.is(sink.count, 1);
  again.close();
});

test('the two ports share INTA: a second port rising while the line is high is seen at UNMASK', async () => {
  const { dev } = await open('pc16550d');
  dev.getInfo();
  const sink = enableIntx(dev);
  dev.write(BAR0 + IER, 1, 0x02);
  dev.write(BAR1 + IER, 1, 0x02);
  assert.is(sink.count, 1);
  dev.read(BAR0 + IIR, 1); // port 0 acknowledged, port 1 still asserting
  set(dev, { flags: NONE | UNMASK, index: INTX });
  assert.is(sink.count, 2);
});

test('pc16550d: enabling INTx while the line is already asserted signals at once', async () => {
  const { dev } = await open('pc16550d');
  dev.getInfo();
  dev.write(BAR0 + IER, 1, 0x02); // THRE pending before any eventfd is bound
  const sink = enableIntx(dev);
  assert.is(sink.count, 1);
});

test('an eventfd handler may access the device at once: signals come after the UART call returned', async () => {
  for (const profile of ['pc16550d', 'mtty'] as const) {
    const { dev } = await open(profile);
    dev.getInfo();
    const seen: number[] = [];
    const handler = {
      signal() {
        // A guest ISR run synchronously: read IIR, drain RBR, unmask.
        seen.push(dev.read(BAR0 + IIR, 1) & 0x0f);
        while (dev.read(BAR0 + 5, 1) & 0x01) seen.push(dev.read(BAR0, 1));
        set(dev, { flags: NONE | UNMASK, index: INTX });
      },
    };
    set(dev, { flags: EVENTFD | TRIGGER, index: INTX, data: [handler] });
    dev.write(BAR0 + 2, 1, 0x07);
    dev.write(BAR0 + IER, 1, 0x01);
    dev.write(BAR0, 1, 0x41);
    assert.ok(seen.includes(0x41), `${profile}: the handler drained the looped-back byte (${seen})`);
  }
});

test('bad SET_IRQS shapes are EINVAL, never a TypeError', async () => {
  const { dev } = await open();
  dev.getInfo();
  expectErrnoSync(() => dev.setIrqs({} as IrqSet), 'EINVAL');
  expectErrnoSync(() => dev.setIrqs({ flags: 'x', index: 0, start: 0, count: 1 } as unknown as IrqSet), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: BOOL | TRIGGER, index: INTX, data: 'yes' as never }), 'EINVAL');
});

test('a bad eventfd is only looked up where an fd is bound: other paths give their own errno; a failed bind keeps the old set-up', async () => {
  const { dev, vendor } = await open();
  dev.getInfo();
  const junk = [42 as never];
  expectErrnoSync(() => set(dev, { flags: EVENTFD | TRIGGER, index: 2, data: junk }), 'ENOTTY');
  expectErrnoSync(() => set(dev, { flags: EVENTFD | TRIGGER, index: 4, data: junk }), 'ENOTTY');
  set(dev, { flags: EVENTFD, index: INTX, data: junk }); // no action bit: accepted, nothing done
  const msi = new CountingSink();
  set(dev, { flags: EVENTFD | TRIGGER, index: MSI, data: [msi] });
  // INTx cannot be enabled while MSI is: EINVAL before any fd is looked at.
  expectErrnoSync(() => set(dev, { flags: EVENTFD | TRIGGER, index: INTX, data: junk }), 'EINVAL');
  expectErrnoSync(() => set(dev, { flags: EVENTFD | TRIGGER, index: MSI, data: junk }), 'EBADF');
  assert.is(vendor.interrupts.mode, 'msi');
  set(dev, { flags: NONE | TRIGGER, index: MSI });
  assert.is(msi.count, 1);
  set(dev, { flags: NONE | TRIGGER, index: MSI, count: 0 });
  enableIntx(dev);
  expectErrnoSync(() => set(dev, { flags: EVENTFD | MASK, index: INTX, data: junk }), 'ENOTTY');
  expectErrnoSync(() => set(dev, { flags: EVENTFD | UNMASK, index: INTX, data: junk }), 'ENOTTY');
});

test.run();
