/**
 * Step mode's panel: what the guest will do next (and why), the queue of
 * driver routines (an interrupt handler preempting a transmit shows up here),
 * and, after each Step, the access performed and what it changed, in words.
 */
import type { LabSession } from '../lab-session.js';
import type { StepRecord } from '../lab-device.js';
import { fill, h } from './dom.js';

export interface StepActions {
  step(): void;
  runAll(): void;
  advance(): void;
}

export class StepPanel {
  readonly root: HTMLElement;
  private readonly next: HTMLElement;
  private readonly queue: HTMLElement;
  private readonly last: HTMLElement;
  private readonly stepBtn: HTMLButtonElement;
  private lastRecord: { uuid: string; rec: StepRecord } | null = null;

  constructor(private readonly session: LabSession, actions: StepActions) {
    this.next = h('div', { class: 'next' });
    this.queue = h('ol', { class: 'queue' });
    this.last = h('div', { class: 'last', id: 'step-explain' });
    this.stepBtn = h('button', { id: 'step', class: 'primary big', onclick: () => actions.step(), title: 'perform one register access (key: space)' }, 'Step ▶');
    this.root = h('section', { class: 'step-panel card', id: 'step-panel' },
      h('h2', {}, 'Step mode ', h('small', {}, 'one register access at a time')),
      h('div', { class: 'step-buttons' },
        this.stepBtn,
        h('button', { id: 'run-all', onclick: () => actions.runAll(), title: 'perform every queued access' }, 'Run to idle'),
        h('button', { id: 'advance-time', onclick: () => actions.advance(), title: 'let 1 ms of virtual time pass (character timeout...)' }, '+1 ms'),
      ),
      h('h3', {}, 'Next access'), this.next,
      h('h3', {}, 'Last step'), this.last,
      h('h3', {}, 'Queue'), this.queue,
    );
  }

  stepped(uuid: string, rec: StepRecord): void {
    this.lastRecord = { uuid, rec };
  }

  update(): void {
    const devs = [...this.session.devices.values()];
    const busy = devs.find((d) => d.describeNext());
    const nxt = busy?.describeNext();
    this.stepBtn.disabled = !nxt;
    fill(this.next, nxt
      ? [h('code', { class: 'line' }, nxt.line), h('div', { class: 'why' }, `${nxt.task}: ${nxt.why}`)]
      : h('p', { class: 'muted' }, 'The guest is idle. Type in a terminal or create a device to queue accesses.'));
    const l = this.lastRecord;
    fill(this.last, l
      ? [
          h('code', { class: 'line' }, `#${l.rec.seq} ${l.rec.line}`),
          h('div', { class: 'why' }, `${l.rec.task}: ${l.rec.op.why}`),
          h('ul', { class: 'changes' }, ...(l.rec.changes.length ? l.rec.changes : ['no register changed']).map((c) => h('li', {}, c))),
        ]
      : h('p', { class: 'muted' }, 'Nothing stepped yet.'));
    fill(this.queue, ...devs.flatMap((d) => d.cpu.titles().map((t) => h('li', { class: t.state }, h('span', { class: 'state' }, t.state), ` ${t.title}`, h('small', {}, ` (${d.uuid.slice(0, 8)})`)))));
  }
}
