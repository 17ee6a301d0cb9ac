/**
 * The lab page: loads the same mdev/mtty TypeScript and WebAssembly UART the
 * CLI uses, builds a LabSession, restores the student's session (a share
 * link first, else browser storage), and wires the views to it. Rendering is
 * coalesced to one pass per animation frame; views only read the session.
 * Nothing here talks to a server: the page works from any static web server.
 */
import './wasm-location.js';
import '@xterm/xterm/css/xterm.css';
import './style.css';
import { MttyError } from '../../errors/errno.js';
import { LabSession, type LabProfile } from '../lab-session.js';
import { loadMtty } from '../../mtty/load.js';
import { findUartProfile, UART_PROFILES } from '../../uart/profile.js';
import { journalCsv, journalJson, parseSession, sessionFromFragment, shareFragment, type SessionState } from '../session-file.js';
import { LESSONS } from '../recording.js';
import { DeviceCard } from './device-card.js';
import { ParentPanel } from './parent-panel.js';
import { StepPanel } from './step-panel.js';
import { Timeline, timeLabel } from './timeline.js';
import { ExercisesPanel } from './exercises-panel.js';
import { download, readPicked } from './download.js';
import { h } from './dom.js';

const app = document.getElementById('app') as HTMLElement;
const banner = document.getElementById('banner') as HTMLElement;
const clockEl = document.getElementById('clock') as HTMLElement;
/** One storage slot per lab copy (two labs on one course site keep their own sessions). */
const STORAGE_KEY = `mtty-lab:v1:${location.pathname}`;

function message(e: unknown): string {
  return e instanceof MttyError || e instanceof Error ? e.message : String(e);
}

function showBanner(text: string | null): void {
  banner.hidden = !text;
  banner.textContent = text ?? '';
}

/** Lessons can link straight to a set-up: ?profile=pc16550d&mode=step */
const params = new URLSearchParams(location.search);
const initialProfile: LabProfile = findUartProfile(params.get('profile'))?.name ?? 'mtty';

// One UART model button per profile the core defines (src/uart/profile.ts), labelled by its definition.
for (const p of UART_PROFILES) {
  const input = h('input', { type: 'radio', name: 'profile', value: p.name, title: p.summary });
  document.getElementById('profile')!.append(h('label', {}, input, ` ${p.label}`));
}
const initialMode = params.get('mode') === 'step' ? 'step' : 'run';

const cards = new Map<string, DeviceCard>();
/** Set when the page reloads to a replaced session (Clear, Load file). */
let leaving = false;
/** What each port's tty received, so a card created after a replay shows its terminal text. */
const received = new Map<string, number[][]>();

async function readLesson(file: string): Promise<string> {
  const res = await fetch(new URL(file, location.href));
  if (!res.ok) throw new MttyError('ENOENT', `lesson ${file}: HTTP ${res.status}`);
  return res.text();
}

/** The session to start from: a share link wins over storage. Bad input is reported, never fatal. */
function savedSession(): { state: SessionState; from: string } | null {
  try {
    const linked = sessionFromFragment(location.hash);
    if (linked) return { state: linked, from: 'the share link' };
  } catch (e) {
    showBanner(`The share link could not be read: ${message(e)}`);
  }
  const stored = localStorage.getItem(STORAGE_KEY);
  if (!stored) return null;
  try {
    return { state: parseSession(stored), from: 'this browser' };
  } catch (e) {
    localStorage.removeItem(STORAGE_KEY);
    showBanner(`The saved session could not be read and was dropped: ${message(e)}`);
    return null;
  }
}

async function boot(): Promise<void> {
  const session = await LabSession.create({
    load: loadMtty,
    profile: initialProfile,
    mode: initialMode,
    readLesson,
    onByte: (uuid, port, byte) => {
      const per = received.get(uuid) ?? [];
      (per[port] ??= []).push(byte);
      received.set(uuid, per);
      cards.get(uuid)?.received(port, byte);
    },
  });

  const devicesEl = h('div', { class: 'devices', id: 'devices' });
  const emptyNote = h('p', { class: 'empty muted', id: 'no-devices' }, 'No mediated device yet: pick mtty-2, press Generate, then Create.');

  const guard = (fn: () => unknown) => async () => {
    try {
      showBanner(null);
      await fn();
    } catch (e) {
      showBanner(message(e));
      session.changed();
    }
  };

  const parent = new ParentPanel(session, {
    create: async (typeId, uuid) => {
      try {
        const dev = await session.createDevice(typeId, uuid);
        parent.created(dev.uuid);
      } catch (e) {
        parent.setStatus('error', message(e));
        session.changed();
      }
    },
    cat: (typeId) => void guard(() => parent.setStatus('ok', `available_instances of ${typeId}: ${session.catAvailable(typeId)}`))(),
  });

  const stepPanel: StepPanel = new StepPanel(session, {
    step: guard((): void => stepPanel.stepped(session.step())),
    runAll: guard(() => session.runAll()),
    advance: guard(() => session.advanceTime(1e6, true)),
  });
  const timeline = new Timeline(session);
  const exercises = new ExercisesPanel(session, (e) => showBanner(message(e)));

  const actions = {
    type: (uuid: string, port: number, text: string) => void guard(() => session.type(uuid, port, text))(),
    remove: (uuid: string) =>
      void guard(async () => {
        await session.removeDevice(uuid);
        parent.setStatus('ok', `removed ${uuid}`);
      })(),
    act: (fn: () => unknown) => void guard(fn)(),
  };

  // The session bar: save / load / share / clear, and the journal as CSV or JSON.
  const shareOut = h('input', { type: 'text', id: 'share-link', readonly: true, 'aria-label': 'share link', placeholder: 'press Share link' });
  const loadFile = h('input', { type: 'file', id: 'session-file', accept: '.json,application/json', 'aria-label': 'session file' });
  loadFile.addEventListener('change', () => void guard(async () => {
    const text = await readPicked(loadFile);
    if (text === null) return;
    const state = parseSession(text); // EINVAL names the bad field; nothing is replaced then
    leaving = true;
    localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    location.hash = '';
    location.reload();
  })());
  const stamp = () => new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const lessonSelect = h('select', { id: 'lesson', 'aria-label': 'recorded lesson' }, ...LESSONS.map((l) => h('option', { value: l.id }, l.title)));
  const lessonAbout = h('p', { class: 'muted lesson-about' }, LESSONS[0].about);
  lessonSelect.addEventListener('change', () => (lessonAbout.textContent = LESSONS.find((l) => l.id === lessonSelect.value)?.about ?? ''));
  const sessionBar = h('section', { class: 'card session-bar', id: 'session' },
    h('h2', {}, 'Session ', h('small', {}, 'kept in this browser across reloads')),
    h('div', { class: 'tool-row' },
      h('button', { type: 'button', id: 'session-save', onclick: () => download(`mtty-lab-session-${stamp()}.json`, JSON.stringify(session.state(), null, 1), 'application/json') }, 'Save file'),
      h('label', { class: 'file-btn' }, 'Load file ', loadFile),
      h('button', { type: 'button', id: 'session-clear', class: 'danger', onclick: () => {
        if (!confirm('Clear this session (devices, log and progress)?')) return;
        leaving = true;
        localStorage.removeItem(STORAGE_KEY);
        location.hash = '';
        location.reload();
      } }, 'Clear')),
    h('div', { class: 'tool-row' },
      h('button', { type: 'button', id: 'session-share', onclick: guard(() => {
        shareOut.value = `${location.origin}${location.pathname}${location.search}#${shareFragment(session.state())}`;
        shareOut.select();
      }) }, 'Share link'),
      shareOut),
    h('div', { class: 'tool-row' }, 'access log: ',
      h('button', { type: 'button', id: 'export-csv', onclick: () => download(`mtty-lab-log-${stamp()}.csv`, journalCsv(session.journal), 'text/csv') }, 'CSV'),
      h('button', { type: 'button', id: 'export-json', onclick: () => download(`mtty-lab-log-${stamp()}.json`, journalJson(session.journal), 'application/json') }, 'JSON')),
    h('h3', {}, 'A real guest, step by step'),
    h('div', { class: 'tool-row' }, lessonSelect,
      h('button', { type: 'button', id: 'load-lesson', onclick: guard(async () => {
        const lesson = LESSONS.find((l) => l.id === lessonSelect.value) ?? LESSONS[0];
        const dev = await session.loadLesson(lesson);
        timeline.show(dev.uuid);
        // Bring the lesson's card into view once it is drawn (a terminal off screen is not painted).
        requestAnimationFrame(() => requestAnimationFrame(() => cards.get(dev.uuid)?.root.scrollIntoView({ block: 'start' })));
      }) }, 'Load lesson')),
    lessonAbout,
  );

  app.replaceChildren(
    h('div', { class: 'left' }, parent.root, stepPanel.root, exercises.root, sessionBar),
    h('div', { class: 'right' }, timeline.root, emptyNote, devicesEl),
  );

  let scheduled = false;
  const render = () => {
    scheduled = false;
    for (const [uuid, dev] of session.devices) {
      if (!cards.has(uuid)) {
        const card = new DeviceCard(dev, session, actions);
        cards.set(uuid, card);
        devicesEl.append(card.root);
        // With many devices, only the newest card stays open: a class of 12 is a list, not a wall.
        if (cards.size > 2) for (const c of cards.values()) if (c !== card) c.root.open = false;
        card.root.addEventListener('toggle', () => {
          if (card.root.open) {
            card.update();
            card.resize();
          }
        });
        (received.get(uuid) ?? []).forEach((bytes, port) => bytes?.forEach((b) => card.received(port, b)));
        card.resize();
      }
    }
    for (const [uuid, card] of cards) {
      if (!session.devices.has(uuid)) {
        card.dispose();
        cards.delete(uuid);
      }
    }
    parent.update();
    for (const card of cards.values()) card.update();
    stepPanel.update();
    timeline.update();
    exercises.update();
    stepPanel.root.classList.toggle('inactive', session.mode !== 'step');
    emptyNote.hidden = cards.size > 0;
    clockEl.textContent = `t = ${timeLabel(session.now)}`;
    document.body.dataset.mode = session.mode;
    document.body.dataset.profile = session.profile;
    for (const input of document.querySelectorAll<HTMLInputElement>('input[name="profile"]')) input.checked = input.value === session.profile;
    for (const input of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) input.checked = input.value === session.mode;
  };

  // Keep the session in this browser: after each change, at most every 300 ms.
  let saveTimer: ReturnType<typeof setTimeout> | null = null;
  const persist = () => {
    saveTimer = null;
    if (leaving) return; // Clear / Load file replaced what is stored: the page going away must not write it back
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(session.state()));
    } catch (e) {
      showBanner(`This browser would not keep the session (${message(e)}): save it as a file.`);
    }
  };
  session.subscribe(() => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(render);
    }
    if (!saveTimer) saveTimer = setTimeout(persist, 300);
  });

  for (const input of document.querySelectorAll<HTMLInputElement>('input[name="profile"]')) {
    input.addEventListener('change', () => input.checked && void guard(() => session.setProfile(input.value as LabProfile))());
  }
  for (const input of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) {
    input.addEventListener('change', () => input.checked && void guard(() => session.setMode(input.value as 'run' | 'step'))());
  }

  // Space steps in step mode, unless the student is typing somewhere.
  document.addEventListener('keydown', (ev) => {
    const t = ev.target as HTMLElement;
    if (session.mode !== 'step' || ev.key !== ' ' || t.closest('input, textarea, select, button, summary, .xterm')) return;
    ev.preventDefault();
    (document.getElementById('step') as HTMLButtonElement | null)?.click();
  });

  const saved = savedSession();
  if (saved) {
    try {
      await session.restore(saved.state);
      if (saved.from === 'the share link') history.replaceState(null, '', location.pathname + location.search);
      persist();
    } catch (e) {
      showBanner(`The session from ${saved.from} could not be restored: ${message(e)}`);
    }
  }

  // Free mode: virtual time follows the wall clock (timeouts fire, the clock moves).
  let lastTick = performance.now();
  setInterval(() => {
    const now = performance.now();
    const dt = now - lastTick;
    lastTick = now;
    if (session.mode === 'run') {
      session.advanceTime(Math.round(dt * 1e6));
      clockEl.textContent = `t = ${timeLabel(session.now)}`;
    }
  }, 50);
  window.addEventListener('resize', () => cards.forEach((c) => c.resize()));
  window.addEventListener('beforeunload', () => persist());

  (window as unknown as { mttyLab: unknown }).mttyLab = { session, cards };
  render();
  document.body.dataset.ready = 'true';
}

boot().catch((e) => {
  app.replaceChildren(h('div', { class: 'fatal' }, h('h2', {}, 'The lab could not start'), h('pre', {}, message(e))));
  console.error(e);
});
