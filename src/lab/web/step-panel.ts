/**
 * Step mode's panel: what the guest will do next (and why), the queue of
 * guest routines (an interrupt handler preempting a write shows up here),
 * and, after each Step, the access performed and what it changed, in words.
 */
import type { LabSession } from '../lab-session.js';
import type { LabEntry } from '../lab-device.js';
import { registerName } from '../../uart/registers.js';
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
  private lastEntry: LabEntry | null = null;

  constructor(private readonly session: LabSession, actions: StepActions) {
    this.next = h('div', { class: 'next' });
    this.queue = h('ol', { class: 'queue' });
    this.last = h('div', { class: 'last', id: 'step-explain' });
    this.stepBtn = h('button', { id: 'step', class: 'primary big', onclick: () => actions.step(), title: 'perform one register access (key: space)' }, 'Step ▶');
    this.root = h('section', { class: 'step-panel card', id: 'step-panel' },
      h('h2', {}, 'Step mode ', h('small', {}, 'one access at a time')),
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

  stepped(e: LabEntry | null): void {
    this.lastEntry = e;
  }

  update(): void {
    const devs = [...this.session.devices.values()].filter((d) => d.isOpen);
    let nxt: { uuid: string; task: string; line: string; why: string } | null = null;
    for (const d of devs) {
      const n = d.machine.peek();
      if (!n) continue;
      const op = n.op;
      let line: string;
      if (op.kind === 'in' || op.kind === 'out') {
        const at = d.machine.io.resolve(op.port);
        const name = at ? registerName(at.offset, op.kind === 'in' ? 'r' : 'w', d.registerView(at.region).dlab) : '';
        line = at ? `${d.ttyName(at.region)} ${op.kind === 'in' ? 'R' : 'W'} ${name}${op.kind === 'out' ? ` 0x${op.value.toString(16).padStart(2, '0')}` : ''}` : `I/O 0x${op.port.toString(16)}`;
      } else if (op.kind === 'cfg-read') line = `CFG R 0x${op.offset.toString(16).padStart(2, '0')}`;
      else if (op.kind === 'cfg-write') line = `CFG W 0x${op.offset.toString(16).padStart(2, '0')} 0x${op.value.toString(16)}`;
      else line = 'IOCTL SET_IRQS INTx UNMASK';
      nxt = { uuid: d.uuid, task: n.task, line, why: op.why };
      break;
    }
    this.stepBtn.disabled = !nxt;
    fill(this.next, nxt
      ? [h('code', { class: 'line' }, nxt.line), h('div', { class: 'why' }, `${nxt.task}: ${nxt.why}`)]
      : h('p', { class: 'muted' }, 'The guest is idle. Type in a terminal or create a device to queue accesses.'));
    const l = this.lastEntry;
    fill(this.last, l
      ? [
          h('code', { class: 'line' }, `#${l.seq} ${l.line}`),
          h('div', { class: 'why' }, `${l.task}: ${l.why}`),
          h('ul', { class: 'changes' }, ...(l.changes.length ? l.changes : ['no register changed']).map((c) => h('li', {}, c))),
        ]
      : h('p', { class: 'muted' }, 'Nothing stepped yet.'));
    fill(this.queue, ...devs.flatMap((d) => d.machine.titles().map((t) => h('li', { class: t.state }, h('span', { class: 'state' }, t.state), ` ${t.title}`, h('small', {}, ` (${d.uuid.slice(0, 8)})`)))));
  }
}
