/**
 * End to end in a real browser: the lab server on an ephemeral 127.0.0.1
 * port, headless Debian chromium through playwright-core, and the page's own
 * controls. Creates an mtty-2 device, types into port 1 and sees the text come
 * back, steps one access at a time to watch IIR/LSR change, switches the UART
 * profile, removes the device. Every wait is bounded (waitFor* timeouts); the
 * assertions are on DOM text. Takes the screenshots docs/lab.md shows: into a
 * temporary folder normally, into docs/ with MTTY_UPDATE_SCREENSHOTS=1 (so a
 * test run never dirties the tracked pictures).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLabServer, type LabServer } from '../src/lab/server.js';

const DOCS = process.env.MTTY_UPDATE_SCREENSHOTS === '1'
  ? fileURLToPath(new URL('../../docs/', import.meta.url))
  : join(mkdtempSync(join(tmpdir(), 'mtty-lab-shots-')), '/');
const UUID = 'c0ffee00-6d74-7479-8250-16550a000002';
const WAIT = 10_000;

let server: LabServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const foreignRequests: string[] = [];

const port1 = `article.device[data-uuid="${UUID}"] section.port[data-port="1"]`;
const reg = (name: string) => `${port1} tr[data-reg="${name}"] td.hex`;

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

test.before(async () => {
  server = await startLabServer({ port: 0, host: '127.0.0.1' });
  // launch() gives every run a fresh temporary user-data dir (removed on close).
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1680, height: 1050 }, deviceScaleFactor: 1 });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });
});

test.after(async () => {
  await browser?.close();
  await server?.close();
});

test('the page loads from the built files only and shows the parent', async () => {
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT });
  await waitText('#parent h2', '/sys/devices/virtual/mtty/mtty');
  assert.is(await waitText('#parent tr[data-type="mtty-1"] td.avail', '24'), '24');
  assert.is(await waitText('#parent tr[data-type="mtty-2"] td.avail', '12'), '12');
  assert.equal(foreignRequests, [], 'nothing is fetched from outside the lab server');
});

test('create an mtty-2 device: the device card appears, available_instances drops', async () => {
  await page.selectOption('#create-type', 'mtty-2');
  await page.fill('#create-uuid', UUID);
  await waitText('.cmdline', `echo ${UUID} > /sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/create`);
  await page.click('#create-device');
  await page.waitForSelector(`article.device[data-uuid="${UUID}"]`, { timeout: WAIT });
  await waitText('#create-status', `created ${UUID}`);
  await waitText('#parent tr[data-type="mtty-2"] td.avail', '11');
  await waitText('#parent tr[data-type="mtty-1"] td.avail', '22');
  await waitText('#parent pre.tree', UUID);
  // The guest booted: BIOS placed BAR1, the driver programmed 8N1 and IER.
  await waitText(`article.device[data-uuid="${UUID}"] pre.lspci`, 'Region 1: I/O ports at c158');
  await waitText(reg('LCR'), '0x03');
  await waitText(reg('IER'), '0x01');
});

test('a duplicate UUID is refused with the errno name', async () => {
  await page.fill('#create-uuid', UUID);
  await page.click('#create-device');
  await waitText('#create-status', /^EEXIST \(File exists\): /);
  assert.is(await page.locator('article.device').count(), 1);
});

test('typing into port 1 goes through THR, loops back, interrupts, and comes back from RBR', async () => {
  await page.click(`${port1} .term`);
  await page.keyboard.type('hello');
  await waitText(`${port1} .xterm-rows`, 'hello');
  const irqs = Number(await waitText(`article.device[data-uuid="${UUID}"] .irq-count`, /^[1-9]\d*$/));
  assert.ok(irqs >= 5, `one interrupt per byte at least, got ${irqs}`);
  const log = `article.device[data-uuid="${UUID}"] ol.log`;
  await waitText(log, "ttyS1 W THR 0x68 'h'");
  await waitText(log, 'ttyS1 R IIR 0xc4 = RX data available');
  await waitText(log, "ttyS1 R RBR 0x6f 'o'");
  await waitText(log, 'IOCTL SET_IRQS INTx UNMASK');
  // Idle again: nothing pending.
  await waitText(reg('IIR'), '0xc1');
  await waitText(reg('LSR'), '0x60');
});

test('step mode: one access per Step, IIR and LSR change and are explained', async () => {
  await page.check('input[name="mode"][value="step"]');
  await page.waitForSelector('body[data-mode="step"]', { timeout: WAIT });
  await page.click(`${port1} .term`);
  await page.keyboard.type('A');
  await waitText('#step-panel .next', 'ttyS1 R LSR');
  // Bounded: the THR write is the second access of the transmit routine.
  for (let i = 0; i < 4; i++) {
    const before = (await page.locator('#step-explain').textContent()) ?? '';
    await page.click('#step');
    await page.waitForFunction((b) => (document.querySelector('#step-explain')?.textContent ?? '') !== b, before, { timeout: WAIT });
    if ((await page.locator('#step-explain').textContent())?.includes("W THR 0x41 'A'")) break;
  }
  const explained = await waitText('#step-explain', "ttyS1 W THR 0x41 'A'");
  assert.match(explained, /LSR 0x60 -> 0x01: DR set/);
  assert.match(explained, /IIR 0xc1 -> 0xc4/);
  assert.match(explained, /signalled INTx/);
  assert.is(await waitText(reg('IIR'), '0xc4'), '0xc4');
  assert.is(await waitText(reg('LSR'), '0x01'), '0x01');
  await waitText(`${port1} tr[data-reg="IIR"] td.meaning`, 'RX data available');
  await waitText('#step-panel .next', 'ttyS0 R IIR');
  await waitText('#step-panel ol.queue', 'interrupt handler');
  // The byte is still in the UART: the terminal has not shown it yet.
  assert.not.match((await page.locator(`${port1} .xterm-rows`).textContent()) ?? '', /helloA/);
  // The moment worth a picture: the byte sits in the UART, the interrupt is raised, the handler is next.
  await page.locator(port1).screenshot({ path: `${DOCS}lab-inspector.png` });
  await page.locator('#step-panel').screenshot({ path: `${DOCS}lab-step.png` });
  // A tall viewport so the sticky left column (step panel, parent, sysfs tree) is shown whole.
  await page.setViewportSize({ width: 1680, height: 1560 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${DOCS}lab-overview.png` });
  await page.setViewportSize({ width: 1680, height: 1050 });
  await page.click('#run-all');
  await waitText(`${port1} .xterm-rows`, 'helloA');
  await waitText(reg('IIR'), '0xc1');
  await waitText(reg('LSR'), '0x60');
  await waitText('#step-panel .next', 'The guest is idle');
});

test('profile switch: the same registers answered by the PC16550D model', async () => {
  await page.check('input[name="mode"][value="run"]');
  await page.check('input[name="profile"][value="pc16550d"]');
  await page.waitForSelector('body[data-profile="pc16550d"][data-mode="run"]', { timeout: WAIT });
  await page.click(`${port1} .term`);
  await page.keyboard.type('!');
  await waitText(`${port1} .xterm-rows`, 'helloA!');
  // A 16550 keeps THRE while received data waits; the sample clears it.
  await waitText(`article.device[data-uuid="${UUID}"] ol.log`, 'ttyS1 R LSR 0x61 = DR THRE TEMT');
  await page.check('input[name="profile"][value="mtty"]');
  await page.waitForSelector('body[data-profile="mtty"]', { timeout: WAIT });
});

test('remove the device: the card goes, available_instances comes back', async () => {
  await page.click(`article.device[data-uuid="${UUID}"] button.remove`);
  await page.waitForSelector(`article.device[data-uuid="${UUID}"]`, { state: 'detached', timeout: WAIT });
  await waitText('#create-status', `removed ${UUID}`);
  await waitText('#parent tr[data-type="mtty-2"] td.avail', '12');
  await waitText('#parent tr[data-type="mtty-1"] td.avail', '24');
  assert.not.match((await page.locator('#parent pre.tree').textContent()) ?? '', new RegExp(UUID));
  await waitText('#no-devices', 'No mediated device yet');
});

test('no page errors and no foreign requests during the session', () => {
  assert.equal(pageErrors, []);
  assert.equal(foreignRequests, []);
});

test.run();
