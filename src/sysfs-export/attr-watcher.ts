/**
 * Watching the exported write-only attributes (create, remove) for writes.
 * One fs.watch per directory holding such files; a change to one of them
 * reads the file and hands the text to `onWrite`, which performs the store
 * through the facade. While a write is being performed further events for
 * that file are folded into one re-check after it, so nothing is done twice.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { looksComplete, PARTIAL_WRITE_GRACE_MS } from './write-value.js';

export type WriteHandler = (file: string, text: string) => Promise<void>;

interface FileState {
  busy: boolean;
  again: boolean;
  timer: NodeJS.Timeout | null;
}

export class AttrWatcher {
  private readonly dirs = new Map<string, { watcher: FSWatcher; names: Set<string> }>();
  private readonly files = new Map<string, FileState>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly onWrite: WriteHandler,
    private readonly log: (line: string) => void,
  ) {}

  /** Watch exactly these files (disk paths): start watchers for new directories, stop the ones no longer needed. */
  setFiles(paths: string[]): void {
    if (this.closed) return;
    const byDir = new Map<string, Set<string>>();
    for (const p of paths) {
      const slash = p.lastIndexOf('/');
      const set = byDir.get(p.slice(0, slash)) ?? new Set<string>();
      set.add(p.slice(slash + 1));
      byDir.set(p.slice(0, slash), set);
    }
    for (const [dir, w] of this.dirs) {
      if (!byDir.has(dir)) {
        w.watcher.close();
        this.dirs.delete(dir);
      }
    }
    for (const [dir, names] of byDir) {
      const existing = this.dirs.get(dir);
      if (existing) {
        existing.names = names;
        continue;
      }
      let watcher: FSWatcher;
      try {
        watcher = watch(dir, { persistent: false }, (_event, name) => {
          const entry = this.dirs.get(dir);
          if (name && entry?.names.has(String(name))) this.poke(`${dir}/${String(name)}`);
        });
      } catch (e) {
        this.log(`cannot watch ${dir}: ${(e as Error).message}`);
        continue;
      }
      watcher.on('error', () => undefined); // the directory went away with its device
      this.dirs.set(dir, { watcher, names });
      // A write may have landed before the watch existed.
      for (const n of names) this.poke(`${dir}/${n}`);
    }
    for (const f of [...this.files.keys()]) if (!paths.includes(f) && !this.files.get(f)?.busy) this.dropFile(f);
  }

  /** Wait for writes being performed now (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.dirs.values()) w.watcher.close();
    this.dirs.clear();
    for (const f of this.files.keys()) this.dropFile(f);
    await this.idle();
  }

  private dropFile(f: string): void {
    const s = this.files.get(f);
    if (s?.timer) clearTimeout(s.timer);
    this.files.delete(f);
  }

  /** Something happened to `file`: look at it now (or after the write in progress). */
  private poke(file: string, graceOver = false): void {
    if (this.closed) return;
    let s = this.files.get(file);
    if (!s) this.files.set(file, (s = { busy: false, again: false, timer: null }));
    if (s.busy) {
      s.again = true;
      return;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // gone (remove deletes its own file) or not yet there
    }
    if (text === '') return; // O_TRUNC, or our own reset
    const name = file.slice(file.lastIndexOf('/') + 1);
    if (!graceOver && !looksComplete(name, text)) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = setTimeout(() => {
        s.timer = null;
        this.poke(file, true);
      }, PARTIAL_WRITE_GRACE_MS);
      return;
    }
    if (s.timer) {
      clearTimeout(s.timer);
      s.timer = null;
    }
    s.busy = true;
    s.again = false;
    const run = this.onWrite(file, text)
      .catch((e: unknown) => this.log(`write to ${file} failed: ${(e as Error).message}`))
      .finally(() => {
        s.busy = false;
        this.running.delete(run);
        if (s.again) this.poke(file);
      });
    this.running.add(run);
  }
}
