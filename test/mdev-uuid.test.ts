import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validate as uuidValidate } from 'uuid';
import { generateMdevUuid, parseMdevUuid } from '../src/mdev/uuid.js';
import { parseRemoveValue } from '../src/mdev/remove-value.js';
import { DOC_UUID, expectErrnoSync } from './support/mtty-support.js';

test('the kernel doc UUID is accepted although RFC validation rejects it', () => {
  assert.is(uuidValidate(DOC_UUID), false, 'the uuid package would reject it');
  assert.is(parseMdevUuid(DOC_UUID), DOC_UUID);
  assert.is(parseMdevUuid(DOC_UUID + '\n'), DOC_UUID, "echo's newline");
});

test('either case is accepted; the name is lower case', () => {
  assert.is(parseMdevUuid(DOC_UUID.toUpperCase()), DOC_UUID);
  assert.is(parseMdevUuid('83B8f4f2-509F-382f-3c1e-E6BFE0FA1001\n'), DOC_UUID);
});

test('length must be 36 or 37 bytes', () => {
  expectErrnoSync(() => parseMdevUuid(DOC_UUID.slice(0, 35)), 'EINVAL');
  expectErrnoSync(() => parseMdevUuid(DOC_UUID + '\n\n'), 'EINVAL');
  expectErrnoSync(() => parseMdevUuid(''), 'EINVAL');
  expectErrnoSync(() => parseMdevUuid(`{${DOC_UUID}}`), 'EINVAL');
});

test('8-4-4-4-12 hex digits with dashes', () => {
  expectErrnoSync(() => parseMdevUuid('83b8f4f2x509f-382f-3c1e-e6bfe0fa1001'), 'EINVAL');
  expectErrnoSync(() => parseMdevUuid('83b8f4g2-509f-382f-3c1e-e6bfe0fa1001'), 'EINVAL');
  expectErrnoSync(() => parseMdevUuid('83b8f4f2-509f-382f-3c1ee-6bfe0fa1001'), 'EINVAL');
  expectErrnoSync(() => parseMdevUuid('83b8f4f2-509f-382f-3c1e-e6bfe0fa100é'), 'EINVAL');
});

test('non-text input is EINVAL, not a TypeError', () => {
  expectErrnoSync(() => parseMdevUuid(42 as unknown as string), 'EINVAL');
  expectErrnoSync(() => parseRemoveValue(undefined as unknown as string), 'EINVAL');
});

test('generated UUIDs are v4 and pass the kernel check', () => {
  const u = generateMdevUuid();
  assert.is(parseMdevUuid(u), u);
  assert.is(u[14], '4');
});

test('remove value: kstrtoul base 0', () => {
  assert.is(parseRemoveValue('1'), true);
  assert.is(parseRemoveValue('1\n'), true);
  assert.is(parseRemoveValue('0x1'), true);
  assert.is(parseRemoveValue('+1'), true);
  assert.is(parseRemoveValue('010'), true);
  assert.is(parseRemoveValue('0'), false);
  assert.is(parseRemoveValue('0\n'), false);
  assert.is(parseRemoveValue('0x0'), false);
  for (const junk of ['', '\n', 'yes', '1 ', ' 1', '08', '0x', '-1', '1\n\n', 'true']) {
    expectErrnoSync(() => parseRemoveValue(junk), 'EINVAL');
  }
});

test('remove value: a number beyond an unsigned long is EINVAL (kstrtoul ERANGE), the largest one removes', () => {
  assert.is(parseRemoveValue('18446744073709551615'), true);
  assert.is(parseRemoveValue('0xffffffffffffffff'), true);
  assert.is(parseRemoveValue('00000000000000000000000000001'), true);
  for (const big of ['18446744073709551616', '0x10000000000000000', '02000000000000000000000', '99999999999999999999999999\n']) {
    expectErrnoSync(() => parseRemoveValue(big), 'EINVAL');
  }
});

test.run();
