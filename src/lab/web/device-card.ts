/**
 * One mediated device on the page: its identity and Remove button, the config
 * space (lspci), and per port a terminal, the interrupt line, and the
 * register inspector; below, the access log of every guest access. Built once
 * per device (terminals keep their state) and refreshed by update().
 */
import type { LabDevice, StepRecord } from '../lab-device.js';
import { decodeRegister, type RegName } from '../decode-register.js';
import type { RegisterSnapshot, SnapshotRegs } from '../register-snapshot.js';
import { fill, h } from './dom.js';
import { registerTable } from './register-table.js';
import { PortTerminal } from './terminal.js';

interface PortView {
  root: HTMLElement;
  irq: HTMLElement;
  /** The BAR as VFIO describes it (GET_REGION_INFO). */
  region: HTMLElement;
  regs: HTMLElement;
  detail: HTMLElement;
  terminal: PortTerminal;
  shown?: RegisterSnapshot;
  /** Register whose fields are spelled out under the table (click a row to change). */
  focus: RegName;
}

export interface DeviceCardActions {
  type(uuid: string, port: number, text: string): void;
  remove(uuid: string): void;
}

const LOG_ROWS = 150;

export class DeviceCard {
  readonly root: HTMLElement;
  private readonly ports: PortView[] = [];
  private readonly config: HTMLElement;
  private readonly intx: HTMLElement;
  private readonly log: HTMLElement;
  private lastLogSeq = -1;

  constructor(private readonly dev: LabDevice, actions: DeviceCardActions) {
    this.config = h('pre', { class: 'lspci' });
    this.intx = h('div', { class: 'intx' });
    this.log = h('ol', { class: 'log' });
    const portsEl = h('div', { class: 'ports' });
    this.root = h(
      'article',
      { class: 'device card', 'data-uuid': dev.uuid },
      h('header', { class: 'device-head' },
        h('div', {},
          h('h2', {}, dev.uuid),
          h('span', { class: 'type-tag' }, `${dev.typeId} · ${dev.portCount} port${dev.portCount > 1 ? 's' : ''}`),
        ),
        this.intx,
        h('button', { class: 'danger remove', onclick: () => actions.remove(dev.uuid), title: `echo 1 > /sys/bus/mdev/devices/${dev.uuid}/remove` }, 'Remove'),
      ),
      portsEl,
      h('div', { class: 'device-lower' },
        h('section', { class: 'config' }, h('h3', {}, 'PCI config space ', h('small', {}, 'lspci -vv -xxx (region 7, 255 bytes)')), this.config),
        h('section', { class: 'logbox' }, h('h3', {}, 'Access log ', h('small', {}, 'every guest access, decoded')), this.log),
      ),
    );
    for (let p = 0; p < dev.portCount; p++) {
      const termHost = h('div', { class: 'term' });
      const view: PortView = {
        root: h('section', { class: 'port', 'data-port': p }),
        irq: h('div', { class: 'irq' }),
        region: h('span', { class: 'region' }),
        regs: h('div', { class: 'regs-wrap' }),
        detail: h('div', { class: 'reg-detail' }),
        terminal: undefined as unknown as PortTerminal,
        focus: 'LSR',
      };
      fill(view.root,
        h('header', { class: 'port-head' }, h('h3', {}, `Port ${p} · ttyS${p}`), h('span', { class: 'bar' }, `BAR${p}`), view.region, view.irq),
        h('div', { class: 'port-left' }, termHost, view.detail),
        h('div', { class: 'port-right' },
          h('h4', {}, 'Register inspector ', h('small', {}, 'side-effect-free peeks · click a row for its bits')),
          view.regs),
      );
      view.regs.addEventListener('click', (ev) => {
        const row = (ev.target as HTMLElement).closest('tr[data-reg]');
        if (row) {
          view.focus = row.getAttribute('data-reg') as RegName;
          this.renderPort(p, view, false);
        }
      });
      portsEl.append(view.root);
      view.terminal = new PortTerminal(termHost, (text) => actions.type(dev.uuid, p, text));
      this.ports.push(view);
    }
  }

  /** A byte the guest driver read from this port's RBR. */
  received(port: number, byte: number): void {
    this.ports[port]?.terminal.show(byte);
  }

  terminalText(port: number): string {
    return this.ports[port]?.terminal.text() ?? '';
  }

  update(): void {
    const d = this.dev;
    fill(this.intx,
      h('span', { class: `pill ${d.intxMasked ? 'warn' : 'ok'}` }, d.intxMasked ? 'INTx masked' : 'INTx armed'),
      h('span', { class: 'pill count', title: 'eventfd signals from the device (VFIO INTx)' }, 'interrupts: ', h('b', { class: 'irq-count' }, d.irqSignals)),
      d.droppedIrqs ? h('span', { class: 'pill warn', title: 'events the device raised while INTx was masked: mtty drops them' }, `dropped: ${d.droppedIrqs}`) : null,
    );
    this.ports.forEach((v, p) => this.renderPort(p, v, true));
    this.config.textContent = d.isOpen ? d.lspciText() : '(device closed)';
    this.renderLog();
  }

  private renderPort(p: number, v: PortView, fresh: boolean): void {
    const snap = fresh ? this.dev.snapshot(p) : (v.shown ?? this.dev.snapshot(p));
    const changed = new Set<RegName>();
    if (fresh && v.shown) {
      for (const k of Object.keys(snap.regs) as (keyof SnapshotRegs)[]) if (snap.regs[k] !== v.shown.regs[k]) changed.add(k);
    }
    const bios = this.dev.bios.ioBase[p];
    const region = this.dev.regionInfo(p);
    if (region) {
      v.region.textContent = `VFIO region ${p}: ${region.size} bytes at fd offset 0x${region.offset.toString(16)} (${region.flags & 1 ? 'R' : ''}${region.flags & 2 ? 'W' : ''})`;
    }
    fill(v.irq,
      h('span', { class: `led ${snap.irq ? 'on' : ''}` }),
      h('span', { class: 'irq-state' }, `INTR ${snap.irq ? 'HIGH' : 'low'}`),
      bios !== undefined ? h('span', { class: 'io' }, `I/O 0x${bios.toString(16)}`) : null,
    );
    fill(v.regs, registerTable(snap, this.dev.lastFcr[p], fresh ? changed : new Set()));
    v.regs.querySelector(`tr[data-reg="${v.focus}"]`)?.classList.add('focus');
    const focusValue = v.focus === 'FCR' ? this.dev.lastFcr[p] : (snap.regs as Record<string, number>)[v.focus];
    if (focusValue === null || focusValue === undefined) fill(v.detail, h('p', {}, `${v.focus}: nothing to show yet`));
    else {
      const dec = decodeRegister(v.focus, focusValue, snap.regs.DLL | (snap.regs.DLM << 8));
      fill(v.detail,
        h('p', { class: 'detail-head' }, h('b', {}, v.focus), ` = 0x${focusValue.toString(16).padStart(2, '0')}: ${dec.summary}`),
        h('ul', {}, ...[...dec.fields].reverse().filter((f) => f.name !== '-').map((f) => h('li', { class: f.value ? 'on' : '' }, h('code', {}, `bit ${f.bits} ${f.name}=${f.value}`), ` ${f.text}`))),
      );
    }
    v.shown = snap;
  }

  private renderLog(): void {
    const recs = this.dev.log;
    const last = recs[recs.length - 1];
    if (!last || last.seq === this.lastLogSeq) return;
    this.lastLogSeq = last.seq;
    fill(this.log, ...recs.slice(-LOG_ROWS).map((r) => logRow(r)));
    this.log.scrollTop = this.log.scrollHeight;
  }

  resize(): void {
    for (const v of this.ports) v.terminal.resize();
  }

  dispose(): void {
    for (const v of this.ports) v.terminal.dispose();
    this.root.remove();
  }
}

export function logRow(r: StepRecord): HTMLLIElement {
  return h('li', { class: `${r.irq ? 'irq' : ''} ${r.op.kind}`, 'data-seq': r.seq },
    h('span', { class: 'seq' }, r.seq),
    h('code', { class: 'line' }, r.line),
    h('span', { class: 'why', title: `${r.task}: ${r.op.why}` }, r.op.why),
  );
}
