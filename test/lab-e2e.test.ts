/**
 * End to end in a real browser, the way a class uses the lab: `mtty lab
 * --export` writes the static site, a plain static file server (a few lines
 * of node:http below, no mtty process) serves it, and headless Debian
 * chromium (playwright-core) drives the page's own controls. A student
 * completes every built-in exercise by hand, reloads and finds everything
 * again, saves the session to a file, clears it and loads the file back,
 * and steps a recorded Linux guest. No page errors, no request leaves the
 * origin. Every wait is bounded. Screenshots go to docs/ only with
 * MTTY_UPDATE_SCREENSHOTS=1 (so a test run never dirties the tracked pictures).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { exportLab } from '../src/lab/export.js';
import { BUILTIN_EXERCISES } from '../src/lab/exercises.js';

const DOCS = process.env.MTTY_UPDATE_SCREENSHOTS === '1'
  ? fileURLToPath(new URL('../../docs/', import.meta.url))
  : join(mkdtempSync(join(tmpdir(), 'mtty-lab-shots-')), '/');
const UUID = 'c0ffee00-6d74-7479-8250-16550a000002';
const WAIT = 15_000;

let site: string;
let server: Server;
let origin: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const foreignRequests: string[] = [];

const card = `details.device[data-uuid="${UUID}"]`;
const port = (p: number) => `${card} section.port[data-port="${p}"]`;
const reg = (p: number, name: string) => `${port(p)} tr[data-reg="${name}"] td.hex`;

/** Wait (bounded) until the element's text matches, then return it. */
async function waitText(selector: string, want: string | RegExp, timeout = WAIT): Promise<string> {
  const [source, flags, plain] = typeof want === 'string' ? ['', '', want] : [want.source, want.flags, null];
  try {
    await page.waitForFunction(
      ({ selector, source, flags, plain }) => {
        const t = document.querySelector(selector)?.textContent ?? '';
        return plain !== null ? t.includes(plain) : new RegExp(source, flags).test(t);
      },
      { selector, source, flags, plain },
      { timeout },
    );
  } catch (e) {
    const now = await page.locator(selector).first().textContent().catch(() => '(missing)');
    throw new Error(`waiting for ${String(want)} in ${selector}; it reads: ${now}\n${(e as Error).message}`);
  }
  return (await page.locator(selector).first().textContent()) ?? '';
}

async function done(id: string): Promise<void> {
  await page.waitForSelector(`li[data-exercise="${id}"].done`, { timeout: WAIT });
}

async function writeReg(p: number, offset: number, value: string): Promise<void> {
  await page.selectOption(`${port(p)} select.reg-offset`, String(offset));
  await page.fill(`${port(p)} input.reg-value`, value);
  await page.click(`${port(p)} button.reg-write`);
}

async function readReg(p: number, offset: number): Promise<void> {
  await page.selectOption(`${port(p)} select.reg-offset`, String(offset));
  await page.click(`${port(p)} button.reg-read`);
}

/** The simplest static server there is: files from `root`, GET only, nothing else. */
function staticServer(root: string): Promise<Server> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
  const s = createServer((req, res) => {
    const rel = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
    const file = join(root, rel.endsWith('/') ? rel + 'index.html' : rel);
    readFile(file).then(
      (body) => res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

test.before(async () => {
  site = join(mkdtempSync(join(tmpdir(), 'mtty-lab-site-')), 'course', 'lab');
  await exportLab(site);
  // Served from a sub-folder, as on a course web page.
  server = await staticServer(join(site, '..', '..'));
  const a = server.address() as { port: number };
  origin = `http://127.0.0.1:${a.port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1680, height: 1050 }, deviceScaleFactor: 1, acceptDownloads: true });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(origin + '/') && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) foreignRequests.push(r.url());
  });
  page.on('dialog', (d) => void d.accept());
});

test.after(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
});

test('the exported site is static: HTML, bundle, CSS, wasm and the recording, nothing else needed', () => {
  const html = readFileSync(join(site, 'index.html'), 'utf8');
  assert.match(html, /Content-Security-Policy" content="default-src 'self'/);
  assert.ok(readFileSync(join(site, 'wasm/uart.wasm')).subarray(0, 4).equals(Buffer.from([0, 0x61, 0x73, 0x6d])));
  // The only absolute URLs in the bundle are XML namespace names (never fetched) and a credit in xterm.js's comments.
  const urls = new Set(readFileSync(join(site, 'app.js'), 'utf8').match(/https?:\/\/[a-zA-Z0-9./_-]+/g) ?? []);
  assert.equal([...urls].filter((u) => !/^http:\/\/www\.w3\.org\/|^http:\/\/bellard\.org\/jslinux\/$/.test(u)), []);
});

test('at 1024x768 the page loads from the plain static server and the create form is in view', async () => {
  await page.setViewportSize({ width: 1024, height: 768 });
  await page.goto(`${origin}/course/lab/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT });
  await waitText('#parent tr[data-type="mtty-2"] td.avail', '12');
  const box = await page.locator('#create-device').boundingBox();
  assert.ok(box && box.y + box.height <= 768, `Create is above the fold (${JSON.stringify(box)})`);
  // Keyboard: the create form is reachable with Tab and works with Enter.
  await page.focus('#create-uuid');
  await page.fill('#create-uuid', UUID);
  await page.keyboard.press('Enter');
  await page.waitForSelector(card, { timeout: WAIT });
  await waitText(`${card} .ttys`, 'BAR0 ttyS1, BAR1 ttyS2');
  await waitText(`${port(0)} h3`, '/dev/ttyS1');
  await waitText(`${card} .irq-count`, /^\d+$/);
  await page.screenshot({ path: `${DOCS}lab-1024.png` });
  await page.setViewportSize({ width: 1680, height: 1050 });
});

test('every built-in exercise, done by a student with the page controls', async () => {
  assert.is(await page.locator('li[data-exercise]').count(), BUILTIN_EXERCISES.exercises.length);
  await page.click('#cat-mtty-2');
  await done('create-mtty2');

  await page.selectOption(`${card} select.cfg-offset`, '0');
  await page.click(`${card} button.cfg-read`);
  await waitText(`${card} .cfg-result`, 'CFG R 0x00 = 0x32534348');
  await page.selectOption(`${card} select.cfg-offset`, '8');
  await page.click(`${card} button.cfg-read`);
  await done('config-ids');

  // The bit decoder previews what a write will do.
  await page.selectOption(`${port(0)} select.reg-offset`, '3');
  await page.fill(`${port(0)} input.reg-value`, '0x83');
  await waitText(`${port(0)} .preview`, 'W LCR 0x83 = 8N1, DLAB on');
  await page.click(`${port(0)} button.reg-write`);
  await writeReg(0, 0, '0c');
  await writeReg(0, 1, '00');
  await writeReg(0, 3, '03');
  await waitText(reg(0, 'DLL'), '0x0c');
  await done('baud-9600');

  await writeReg(0, 2, '0x81');
  await readReg(0, 2);
  await done('fifo-trigger8');

  await writeReg(0, 1, '0x02');
  await writeReg(0, 1, '0x00');
  await done('thre-irq');

  await page.check(`${port(0)} input.loop`);
  await waitText(reg(0, 'MCR'), /0x1[0-9a-f]/);
  await readReg(0, 6);
  await page.uncheck(`${port(0)} input.loop`);
  await done('loopback-msr');

  await page.click(`${port(1)} .term`);
  await page.keyboard.type('x');
  await waitText(`${port(1)} .xterm-rows`, 'x');
  await page.check('input[name="profile"][value="pc16550d"]');
  await page.click(`${port(1)} .term`);
  await page.keyboard.type('y');
  // A 16550 hands a byte below its trigger level over after the character timeout: the free-running clock gets there.
  await waitText(`${port(1)} .xterm-rows`, 'xy');
  await done('profiles');

  await page.click(`${port(1)} button.inject-byte-btn`);
  await done('char-timeout');
  await page.click(`${port(1)} button.inject-overrun`);
  await done('overrun');
  await waitText('#exercise-progress', `${BUILTIN_EXERCISES.exercises.length - 1} / ${BUILTIN_EXERCISES.exercises.length} done`);

  // The timeline drew INTx and IIR reasons; the clock moves in free mode; the counter is not zero.
  await page.waitForSelector('#timeline-plot svg .intx-on', { timeout: WAIT });
  await page.waitForSelector('#timeline-plot svg .iir-mark', { timeout: WAIT });
  const t1 = await page.locator('#clock').textContent();
  await page.waitForFunction((t) => document.querySelector('#clock')?.textContent !== t, t1, { timeout: WAIT });
  assert.not.match(t1 ?? '', /^t = 0\.0 µs$/);
  await page.click('#zoom-out');
  await waitText('#timeline-span', 'window 300.0 µs');
  await page.screenshot({ path: `${DOCS}lab-overview.png`, fullPage: false });
  await page.locator('#timeline').screenshot({ path: `${DOCS}lab-timeline.png` });
  await page.locator(port(0)).screenshot({ path: `${DOCS}lab-inspector.png` });
  await page.locator('#exercises').screenshot({ path: `${DOCS}lab-exercises.png` });
});

test('reload: devices, access log, terminal text and progress are still there', async () => {
  const logBefore = await page.locator(`${card} ol.log li`).count();
  const lastLine = await page.locator(`${card} ol.log li:last-child code.line`).textContent();
  // The session is written at most every 300 ms after a change: wait until storage has every action.
  await page.waitForFunction(() => {
    const s = (window as unknown as { mttyLab: { session: { actions: unknown[] } } }).mttyLab.session;
    const key = Object.keys(localStorage).find((k) => k.startsWith('mtty-lab:v1:'));
    return !!key && JSON.parse(localStorage.getItem(key) ?? '{}').actions?.length === s.actions.length;
  }, undefined, { timeout: WAIT });
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT });
  await page.waitForSelector(card, { timeout: WAIT });
  await waitText('#exercise-progress', `${BUILTIN_EXERCISES.exercises.length - 1} / ${BUILTIN_EXERCISES.exercises.length} done`);
  await waitText(`${port(1)} .xterm-rows`, 'xy');
  await waitText(`${card} ol.log`, lastLine ?? '');
  assert.ok((await page.locator(`${card} ol.log li`).count()) >= Math.min(logBefore, 150));
  await waitText(reg(0, 'DLL'), '0x0c');
  assert.ok(await page.isChecked('input[name="profile"][value="pc16550d"]'));
});

test('remove the open device: the last exercise is done, available_instances comes back', async () => {
  await page.click(`${card} button.remove`);
  await page.waitForSelector(card, { state: 'detached', timeout: WAIT });
  await waitText('#parent tr[data-type="mtty-2"] td.avail', '12');
  await done('remove-open');
  await waitText('#exercise-progress', `${BUILTIN_EXERCISES.exercises.length} / ${BUILTIN_EXERCISES.exercises.length} done`);
});

test('save the session to a file, clear it, load the file: everything is back', async () => {
  await page.selectOption('#create-type', 'mtty-1');
  await page.fill('#create-uuid', UUID);
  await page.click('#create-device');
  await page.waitForSelector(card, { timeout: WAIT });
  await page.click(`${port(0)} .term`);
  await page.keyboard.type('saved');
  await waitText(`${port(0)} .xterm-rows`, 'saved');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#session-save')]);
  const file = await dl.path();
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  assert.is(saved.v, 1);
  assert.ok(saved.actions.some((a: { a: string }) => a.a === 'type'));
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const csvText = readFileSync(await csv.path(), 'utf8');
  assert.match(csvText, /^seq,t_us,device,source,task,access,why,intx,changes\r\n/);
  assert.match(csvText, /ttyS1 W THR 0x73 's'/);

  await Promise.all([page.waitForEvent('load'), page.click('#session-clear')]);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT });
  await waitText('#no-devices', 'No mediated device yet');
  await waitText('#exercise-progress', `0 / ${BUILTIN_EXERCISES.exercises.length} done`);
  assert.is(await page.locator('details.device').count(), 0);

  await Promise.all([page.waitForEvent('load'), page.setInputFiles('#session-file', file)]);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT });
  await page.waitForSelector(card, { timeout: WAIT });
  await waitText(`${port(0)} .xterm-rows`, 'saved');
  await waitText('#exercise-progress', `${BUILTIN_EXERCISES.exercises.length} / ${BUILTIN_EXERCISES.exercises.length} done`);
  await waitText(`${card} ol.log`, "ttyS1 W THR 0x73 's'");

  // A bad session file is refused with the field named, and the lab keeps going.
  const bad = join(mkdtempSync(join(tmpdir(), 'mtty-bad-')), 'bad.json');
  writeFileSync(bad, JSON.stringify({ ...saved, actions: [{ a: 'write', at: 0 }] }));
  await page.setInputFiles('#session-file', bad);
  await waitText('#banner', /EINVAL .*actions\[0\]\.uuid/);
  await page.waitForSelector(card, { timeout: WAIT });
});

test('a share link restores a small session in a fresh browser', async () => {
  await page.click('#session-share');
  const link = await page.inputValue('#share-link');
  assert.match(link, /#session=[A-Za-z0-9_-]+$/);
  const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p2 = await other.newPage();
  const errors: string[] = [];
  p2.on('pageerror', (e) => errors.push(e.message));
  await p2.goto(link);
  await p2.waitForSelector('body[data-ready="true"]', { timeout: WAIT });
  await p2.waitForSelector(card, { timeout: WAIT });
  await p2.waitForFunction((sel) => (document.querySelector(sel)?.textContent ?? '').includes('saved'), `${port(0)} .xterm-rows`, { timeout: WAIT });
  assert.not.match(p2.url(), /session=/, 'the link is consumed, the session now lives in that browser');
  assert.equal(errors, []);
  await other.close();
});

test('step mode and the recorded Linux 6.1 lesson: one access per Step, explained', async () => {
  await page.check('input[name="mode"][value="step"]');
  await page.waitForSelector('body[data-mode="step"]', { timeout: WAIT });
  assert.is(await page.inputValue('#lesson'), 'linux-6.1-mtty-2', 'the recording of Linux 6.1 driving an mtty-2 is the default lesson');
  await page.click('#load-lesson');
  await waitText('#step-panel .next', 'recorded');
  // Bounded: the recording's first read comes within its first few accesses (the INTx it raises is handled between).
  for (let i = 0; i < 12; i++) {
    await page.click('#step');
    if ((await page.locator('#step-explain').textContent())?.includes('the recorded guest read')) break;
  }
  await waitText('#step-explain', /recorded \(linux-6\.1-mtty-2\.trace:\d+\)/);
  await waitText('#step-explain', 'the recorded guest read the same value');
  await page.locator('#step-panel').screenshot({ path: `${DOCS}lab-step.png` });
  await page.keyboard.press('Escape');
  await page.click('#run-all');
  await waitText('#step-panel .next', 'The guest is idle');
  const lesson = 'details.device[data-uuid^="1e550000-"]';
  await waitText(`${lesson} ol.log`, "ttyS1 W THR 0x68 'h'");
  assert.not.match((await page.locator(`${lesson} ol.log`).textContent()) ?? '', /MISMATCH/);
  // What the recorded guest read back from RBR (mtty loops its "hello" back) is shown on the port's terminal.
  await page.locator(`${lesson} section.port[data-port="0"] .term`).scrollIntoViewIfNeeded(); // xterm paints only what is on screen
  await waitText(`${lesson} section.port[data-port="0"] .xterm-rows`, 'hello');
});

test('many devices: cards collapse to one line each, the newest stays open, a header click opens one', async () => {
  await page.check('input[name="mode"][value="run"]');
  await page.selectOption('#create-type', 'mtty-2');
  await page.click('#generate-uuid');
  await page.click('#create-device');
  await page.waitForFunction(() => document.querySelectorAll('details.device').length === 3, undefined, { timeout: WAIT });
  assert.is(await page.locator('details.device[open]').count(), 1);
  const closed = page.locator(`${card} > summary`);
  const box = await closed.boundingBox();
  assert.ok(box && box.height < 120, `a collapsed card is a header line (${box?.height}px)`);
  await closed.click();
  await page.waitForSelector(`${card}[open]`, { timeout: WAIT });
});

test('a teacher loads another exercise set from a file and from a URL; a bad one is refused with the field named', async () => {
  const set = { title: 'Week 3', exercises: [{ id: 'scr', title: 'Scratch', task: 'Write 0x5a to SCR.', check: { log: '^student: \\S+ W SCR 0x5a' } }] };
  const dir = mkdtempSync(join(tmpdir(), 'mtty-set-'));
  writeFileSync(join(dir, 'week3.json'), JSON.stringify(set));
  await page.click('#exercises details.teacher > summary');
  await page.setInputFiles('#exercise-file', join(dir, 'week3.json'));
  await waitText('#exercise-status', 'loaded 1 exercises from the file');
  await waitText('#exercise-progress', '0 / 1 done');
  await writeReg(0, 7, '5a');
  await done('scr');
  // The same set next to the lab on the course site, loaded by URL.
  writeFileSync(join(site, 'week3.json'), JSON.stringify({ ...set, title: 'Week 3 (URL)' }));
  await page.fill('#exercise-url', 'week3.json');
  await page.click('#exercise-load-url');
  await waitText('#exercises p.set', 'Week 3 (URL)');
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ exercises: [{ id: 'x', title: 'X', task: 't', check: { port: { LCR: 300 } } }] }));
  await page.setInputFiles('#exercise-file', join(dir, 'bad.json'));
  await waitText('#exercise-status', /EINVAL .*exercises\[0\]\.check\.port\.LCR/);
  await page.click('#exercise-builtin');
  await waitText('#exercise-progress', `/ ${BUILTIN_EXERCISES.exercises.length} done`);
});

test('at common laptop widths every control of the parent table is inside its card (not cut off)', async () => {
  for (const width of [1024, 1280, 1366, 1440, 1680]) {
    const ctx = await browser.newContext({ viewport: { width, height: 900 } });
    const p2 = await ctx.newPage();
    await p2.goto(`${origin}/course/lab/`);
    await p2.waitForSelector('body[data-ready="true"]', { timeout: WAIT });
    const cut = await p2.evaluate(() => {
      const card = document.querySelector('#parent')!.getBoundingClientRect();
      return Array.from(document.querySelectorAll<HTMLElement>('#parent table.types button'))
        .map((b) => ({ id: b.id, right: Math.round(b.getBoundingClientRect().right), card: Math.round(card.right) }))
        .filter((b) => b.right > b.card);
    });
    await ctx.close();
    assert.equal(cut, [], `at ${width}px`);
  }
});

test('no page errors and no request left the origin', () => {
  assert.equal(pageErrors, []);
  assert.equal(foreignRequests, []);
});

test.run();
