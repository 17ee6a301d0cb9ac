/**
 * Run by test/definitions-durability.test.ts inside `unshare -Urm`, with a
 * small tmpfs mounted at argv[2] (read-only when argv[3] is 'erofs'). Drives
 * the real CLI (`mtty define/modify/undefine --embedded`) on a store in that
 * mount and prints, as JSON, each step's exit code and first stderr line and
 * what is left in the store directory.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';

const [mnt, mode] = process.argv.slice(2);
const store = join(mnt, 'etc', 'mdevctl.d');
const U0 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1000';
const U1 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';

async function mtty(...args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const w = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  const code = await main([...args, '--embedded', '--config-dir', store], { stdout: w(() => undefined), stderr: w((s) => (err += s)), stdin: Readable.from([]) });
  return { code, err: err.split('\n')[0] };
}

const files = () => (existsSync(join(store, 'mtty')) ? readdirSync(join(store, 'mtty')).sort() : []);
const out: Record<string, unknown> = {};

if (mode === 'erofs') {
  out.list = await mtty('list', '-d');
  out.define = await mtty('define', '-u', U1, '-t', 'mtty-1');
  out.modify = await mtty('modify', '-u', U0, '--auto');
  out.undefine = await mtty('undefine', '-u', U0);
  out.files = files();
} else {
  out.first = await mtty('define', '-u', U0, '-t', 'mtty-2');
  // Fill the filesystem: one file grows until the next write fails.
  const filler = join(mnt, 'filler');
  const chunk = Buffer.alloc(4096, 1);
  let size = 0;
  try {
    for (;;) {
      writeFileSync(filler, chunk, { flag: 'a' });
      size += chunk.length;
    }
  } catch (e) {
    out.fillError = (e as NodeJS.ErrnoException).code;
  }
  out.filled = size;
  out.full = [];
  for (let i = 0; i < 5; i++) (out.full as unknown[]).push(await mtty('define', '-u', U1, '-t', 'mtty-1'));
  out.modifyFull = await mtty('modify', '-u', U0, '--addattr', 'x', '--value', 'y');
  out.filesWhenFull = files();
  out.u0WhenFull = readFileSync(join(store, 'mtty', U0), 'utf8');
  rmSync(filler);
  out.afterFree = await mtty('define', '-u', U1, '-t', 'mtty-1');
  out.files = files();
}
process.stdout.write(JSON.stringify(out) + '\n');
