/**
 * The lab page: loads the same mdev/mtty TypeScript and WebAssembly UART the
 * CLI uses, builds a LabSession, and wires the views to it. Rendering is
 * coalesced to one pass per animation frame; views only read the session.
 */
import '@xterm/xterm/css/xterm.css';
import './style.css';
import { MttyError } from '../../errors/errno.js';
import { LabSession, type LabProfile } from '../lab-session.js';
import { loadMtty } from '../../mtty/load.js';
import { findUartProfile, UART_PROFILES } from '../../uart/profile.js';
import { DeviceCard } from './device-card.js';
import { ParentPanel } from './parent-panel.js';
import { StepPanel } from './step-panel.js';
import { h } from './dom.js';

const app = document.getElementById('app') as HTMLElement;
const banner = document.getElementById('banner') as HTMLElement;
const clockEl = document.getElementById('clock') as HTMLElement;

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
const initialMode = params.get('mode') === 'step' ? 'step' : 'run';

const cards = new Map<string, DeviceCard>();

async function boot(): Promise<void> {
  const session = await LabSession.create({
    load: loadMtty,
    profile: initialProfile,
    mode: initialMode,
    onByte: (uuid, port, byte) => cards.get(uuid)?.received(port, byte),
  });

  const devicesEl = h('div', { class: 'devices', id: 'devices' });
  const emptyNote = h('p', { class: 'empty muted', id: 'no-devices' }, 'No mediated device yet: pick mtty-2, press Generate, then Create.');

  const guard = (fn: () => void | Promise<void>) => async () => {
    try {
      showBanner(null);
      await fn();
    } catch (e) {
      showBanner(message(e));
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
  });

  const stepPanel = new StepPanel(session, {
    step: guard(() => {
      const rec = session.step();
      const owner = rec && [...session.devices.values()].find((d) => d.log.includes(rec));
      if (rec && owner) stepPanel.stepped(owner.uuid, rec);
      session.changed();
    }),
    runAll: guard(() => {
      for (const d of session.devices.values()) d.run();
      session.changed();
    }),
    advance: guard(() => session.advanceTime(1e6)),
  });

  const actions = {
    type: (uuid: string, port: number, text: string) => session.type(uuid, port, text),
    remove: (uuid: string) =>
      void guard(async () => {
        await session.removeDevice(uuid);
        parent.setStatus('ok', `removed ${uuid}`);
      })(),
  };

  app.replaceChildren(
    h('div', { class: 'left' }, parent.root, stepPanel.root),
    h('div', { class: 'right' }, emptyNote, devicesEl),
  );

  let scheduled = false;
  const render = () => {
    scheduled = false;
    for (const [uuid, dev] of session.devices) {
      if (!cards.has(uuid)) {
        const card = new DeviceCard(dev, actions);
        cards.set(uuid, card);
        devicesEl.append(card.root);
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
    stepPanel.root.classList.toggle('inactive', session.mode !== 'step');
    emptyNote.hidden = cards.size > 0;
    clockEl.textContent = `t = ${(session.clock.now() / 1000).toFixed(1)} µs`;
    document.body.dataset.mode = session.mode;
    document.body.dataset.profile = session.profile;
  };
  session.subscribe(() => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(render);
    }
  });

  // One button per profile the core defines, labelled by its definition.
  const profileSet = document.getElementById('profile')!;
  for (const p of UART_PROFILES) {
    const input = h('input', { type: 'radio', name: 'profile', value: p.name, title: p.summary }) as HTMLInputElement;
    profileSet.append(h('label', {}, input, ` ${p.label}`));
  }
  for (const input of document.querySelectorAll<HTMLInputElement>('input[name="profile"]')) {
    input.checked = input.value === session.profile;
    input.addEventListener('change', () => input.checked && session.setProfile(input.value as LabProfile));
  }
  for (const input of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) {
    input.checked = input.value === session.mode;
    input.addEventListener('change', () => input.checked && session.setMode(input.value as 'run' | 'step'));
  }

  // Space steps in step mode, unless the student is typing somewhere.
  document.addEventListener('keydown', (ev) => {
    const t = ev.target as HTMLElement;
    if (session.mode !== 'step' || ev.key !== ' ' || t.closest('input, textarea, select, .xterm')) return;
    ev.preventDefault();
    (document.getElementById('step') as HTMLButtonElement | null)?.click();
  });

  // Run mode: virtual time follows the wall clock while a UART waits for a timed event.
  let lastTick = performance.now();
  setInterval(() => {
    const now = performance.now();
    const dt = now - lastTick;
    lastTick = now;
    if (session.mode === 'run' && session.timersPending) session.advanceTime(dt * 1e6);
  }, 25);
  window.addEventListener('resize', () => cards.forEach((c) => c.resize()));

  (window as unknown as { mttyLab: unknown }).mttyLab = { session, cards };
  render();
  document.body.dataset.ready = 'true';
}

boot().catch((e) => {
  app.replaceChildren(h('div', { class: 'fatal' }, h('h2', {}, 'The lab could not start'), h('pre', {}, message(e))));
  console.error(e);
});
