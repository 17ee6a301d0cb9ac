import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DOC_UUID, expectErrno, expectErrnoSync, freshMtty } from './support/mtty-support.js';

const PARENT = '/sys/devices/virtual/mtty/mtty';
const TYPES = `${PARENT}/mdev_supported_types`;

test('type attributes read like the kernel (values end with a newline)', async () => {
  const { sysfs } = await freshMtty();
  assert.equal(sysfs.list(TYPES), ['mtty-1', 'mtty-2']);
  assert.equal(sysfs.list(`${TYPES}/mtty-2`), ['available_instances', 'create', 'device_api', 'devices', 'name']);
  assert.is(sysfs.read(`${TYPES}/mtty-1/name`), 'Single port serial\n');
  assert.is(sysfs.read(`${TYPES}/mtty-2/name`), 'Dual port serial\n');
  assert.is(sysfs.read(`${TYPES}/mtty-2/device_api`), 'vfio-pci\n');
  assert.is(sysfs.read(`${TYPES}/mtty-1/available_instances`), '24\n');
  assert.is(sysfs.read(`${TYPES}/mtty-2/available_instances`), '12\n');
  // mdevctl's view through the class link.
  assert.is(sysfs.read('/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/available_instances'), '12\n');
  assert.is(sysfs.realpath('/sys/class/mdev_bus/mtty'), PARENT);
  assert.is(sysfs.realpath('/sys/class/mtty/mtty'), PARENT);
});

test('kernel doc steps 2 and 8 through sysfs', async () => {
  const { sysfs, bus } = await freshMtty();
  const n = await sysfs.write(`${TYPES}/mtty-2/create`, `${DOC_UUID}\n`);
  assert.is(n, 37);
  assert.is(sysfs.read(`${TYPES}/mtty-2/available_instances`), '11\n');
  assert.is(sysfs.read(`${TYPES}/mtty-1/available_instances`), '22\n');
  assert.equal(sysfs.list(`${TYPES}/mtty-2/devices`), [DOC_UUID]);
  const dev = `/sys/bus/mdev/devices/${DOC_UUID}`;
  assert.is(sysfs.realpath(dev), `${PARENT}/${DOC_UUID}`);
  assert.is(sysfs.read(`${dev}/vendor/sample_mdev_dev`), `This is MDEV ${DOC_UUID}\n`);
  assert.is(sysfs.readlink(`${dev}/mdev_type`), '../mdev_supported_types/mtty-2');
  assert.is(sysfs.realpath(`${dev}/mdev_type`), `${TYPES}/mtty-2`);
  assert.is(sysfs.read(`${dev}/mdev_type/name`), 'Dual port serial\n');
  assert.is(sysfs.realpath(`${TYPES}/mtty-2/devices/${DOC_UUID}`), `${PARENT}/${DOC_UUID}`);
  await expectErrno(() => sysfs.write(`${TYPES}/mtty-1/create`, DOC_UUID), 'EEXIST');
  await expectErrno(() => sysfs.write(`${dev}/remove`, 'yes\n'), 'EINVAL');
  assert.is(await sysfs.write(`${dev}/remove`, '0\n'), 2, '0 is accepted and does nothing');
  assert.ok(bus.device(DOC_UUID));
  assert.is(await sysfs.write(`${dev}/remove`, '1\n'), 2);
  assert.is(bus.device(DOC_UUID), undefined);
  assert.is(sysfs.exists(dev), false);
  await expectErrno(() => sysfs.write(`${dev}/remove`, '1\n'), 'ENOENT');
  assert.is(sysfs.read(`${TYPES}/mtty-2/available_instances`), '12\n');
});

test('remove through sysfs of an open device resolves after close; the remove file disappears at once', async () => {
  const { sysfs, type1 } = await freshMtty();
  const dev = type1.create(DOC_UUID);
  const h = dev.open();
  const path = `/sys/bus/mdev/devices/${DOC_UUID}`;
  let done = false;
  const w = sysfs.write(`${path}/remove`, '0x1').then((n) => {
    done = true;
    return n;
  });
  await Promise.resolve();
  assert.is(done, false);
  assert.is(sysfs.exists(`${path}/remove`), false);
  assert.is(sysfs.exists(`${path}/mdev_type`), false);
  assert.equal(sysfs.list(`/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-1/devices`), []);
  assert.ok(sysfs.exists(`${path}/vendor/sample_mdev_dev`), 'the device itself is still there until closed');
  h.close();
  assert.is(await w, 3);
  assert.is(sysfs.exists(path), false);
});

test('errors: unknown paths ENOENT, wrong direction EACCES, directories EINVAL', async () => {
  const { sysfs } = await freshMtty();
  expectErrnoSync(() => sysfs.read(`${TYPES}/mtty-3/name`), 'ENOENT');
  expectErrnoSync(() => sysfs.read('/sys/nothing'), 'ENOENT');
  expectErrnoSync(() => sysfs.read('relative/path'), 'ENOENT');
  expectErrnoSync(() => sysfs.read(`${TYPES}/mtty-2/create`), 'EACCES');
  await expectErrno(() => sysfs.write(`${TYPES}/mtty-2/name`, 'x'), 'EACCES');
  await expectErrno(() => sysfs.write(`${TYPES}/mtty-2/available_instances`, '99'), 'EACCES');
  expectErrnoSync(() => sysfs.read(TYPES), 'EINVAL');
  expectErrnoSync(() => sysfs.list(`${TYPES}/mtty-2/name`), 'EINVAL');
  await expectErrno(() => sysfs.write(`${TYPES}/mtty-2/create`, 'garbage\n'), 'EINVAL');
  expectErrnoSync(() => sysfs.read(`${PARENT}/power/autosuspend_delay_ms`), 'EIO');
  assert.is(sysfs.read(`${PARENT}/power/control`), 'auto\n');
});

test('tree of the parent looks like kernel doc step 1 (without the pre-5.14 mtty_dev group)', async () => {
  const { sysfs } = await freshMtty();
  const expected = [
    '/sys/devices/virtual/mtty/mtty/',
    '|-- mdev_supported_types',
    '|   |-- mtty-1',
    '|   |   |-- available_instances',
    '|   |   |-- create',
    '|   |   |-- device_api',
    '|   |   |-- devices',
    '|   |   `-- name',
    '|   `-- mtty-2',
    '|       |-- available_instances',
    '|       |-- create',
    '|       |-- device_api',
    '|       |-- devices',
    '|       `-- name',
    '|-- power',
    '|   |-- autosuspend_delay_ms',
    '|   |-- control',
    '|   |-- runtime_active_time',
    '|   |-- runtime_status',
    '|   `-- runtime_suspended_time',
    '|-- subsystem -> ../../../../class/mtty',
    '`-- uevent',
    '',
    '7 directories, 14 files',
    '',
  ].join('\n');
  assert.is(sysfs.tree(`${PARENT}/`), expected);
});

test('tree shows a created device and its links', async () => {
  const { sysfs, type2 } = await freshMtty();
  type2.create(DOC_UUID);
  const text = sysfs.tree(`${PARENT}/`);
  assert.match(text, `|       |-- devices\n|       |   \`-- ${DOC_UUID} -> ../../../${DOC_UUID}`);
  assert.match(text, `|-- ${DOC_UUID}\n|   |-- mdev_type -> ../mdev_supported_types/mtty-2\n|   |-- remove`);
  assert.match(text, '|   `-- vendor\n|       `-- sample_mdev_dev');
});

test.run();
