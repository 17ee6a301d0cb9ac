/**
 * `mtty lab --export DIR`: the built lab as a self-contained static site.
 * index.html, app.js, app.css, wasm/uart.wasm and the recorded lessons: no
 * server API, no request to another origin (the page's CSP says so too), so
 * any static web server or course page can host it, under any path. Every
 * student's browser then runs its own mtty, UART and guest.
 */
import { cp, mkdir, readdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fail } from '../errors/errno.js';
import { DEFAULT_LAB_ROOT } from './server.js';

/** Copy the built lab (without source maps) into `dir`, which must be empty or absent. Returns the files written. */
export async function exportLab(dir: string, root = DEFAULT_LAB_ROOT): Promise<string[]> {
  if (!existsSync(path.join(root, 'index.html'))) fail('ENOENT', `the lab page is not built (${root}); run 'npm run build:lab'`);
  const target = path.resolve(dir);
  if (existsSync(target)) {
    if (!(await stat(target)).isDirectory()) fail('EEXIST', `${dir} exists and is not a directory`);
    if ((await readdir(target)).length) fail('EEXIST', `${dir} is not empty; export into a new or empty directory`);
  }
  await mkdir(target, { recursive: true });
  const written: string[] = [];
  await cp(root, target, {
    recursive: true,
    filter: (src) => {
      if (src.endsWith('.map')) return false;
      if (src !== root && !src.endsWith(path.sep)) written.push(path.relative(root, src));
      return true;
    },
  });
  return written.filter((f) => path.extname(f));
}
