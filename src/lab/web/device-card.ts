/**
 * One mediated device on the page, collapsible: its identity, INTx state and
 * Remove button; per port a terminal, the register inspector and the
 * student's tools (write/read any register with the bit decoder previewing
 * the value, the baud picker, the loopback switch, the line's modem inputs
 * and receive-side events); the config space with a read tool; and the
 * device's part of the access log. Built once per device (terminals keep
 * their state) and refreshed by update().
 */
import type { LabDevice, LabEntry } from '../lab-device.js';
import type { LabSession, LineEvent } from '../lab-session.js';
import { BAUD_RATES } from '../lab-session.js';
import { decodeRegister, hex2, type RegName } from '../../uart/decode.js';
import { registerName } from '../../uart/registers.js';
import type { RegisterView, RegisterViewRegs } from '../register-view.js';
import { fill, h } from './dom.js';
import { registerTable } from './register-table.js';
import { PortTerminal } from './terminal.js';

interface PortView {
  root: HTMLElement;
  irq: HTMLElement;
  region: HTMLElement;
  regs: HTMLElement;
  detail: HTMLElement;
  terminal: PortTerminal;
  offset: HTMLSelectElement;
  value: HTMLInputElement;
  preview: HTMLElement;
  modem: HTMLInputElement[];
  loop: HTMLInputElement;
  baud: HTMLSelectElement;
  shown?: RegisterView;
  /** Register whose fields are spelled out under the table (click a row to change). */
  focus: RegName;
}

export interface DeviceCardActions {
  type(uuid: string, port: number, text: string): void;
  remove(uuid: string): void;
  /** Run a student action; errors go to the banner. */
  act(fn: () => unknown): void;
}

const LOG_ROWS = 150;
const MODEM = [['CTS', 0x10], ['DSR', 0x20], ['DCD', 0x80], ['RI', 0x40]] as const;
/** Offsets in the inspector order, with the register each one reaches now. */
const OFFSETS = [0, 1, 2, 3, 4, 5, 6, 7];

function parseByte(text: string): number | null {
  const t = text.trim().toLowerCase();
  const m = /^(?:0x)?([0-9a-f]{1,2})$/.exec(t);
  return m ? parseInt(m[1], 16) : null;
}

export class DeviceCard {
  readonly root: HTMLDetailsElement;
  private readonly ports: PortView[] = [];
  private readonly config: HTMLElement;
  private readonly cfgResult: HTMLElement;
  private readonly intx: HTMLElement;
  private readonly log: HTMLElement;
  private readonly summaryTtys: HTMLElement;
  private lastLogSeq = -1;

  constructor(private readonly dev: LabDevice, private readonly session: LabSession, actions: DeviceCardActions) {
    this.config = h('pre', { class: 'lspci' });
    this.intx = h('span', { class: 'intx' });
    this.log = h('ol', { class: 'log', tabindex: 0, 'aria-label': 'access log' });
    this.summaryTtys = h('span', { class: 'ttys' });
    this.cfgResult = h('code', { class: 'cfg-result' });
    const portsEl = h('div', { class: 'ports' });
    const cfgOffset = h('select', { class: 'cfg-offset', 'aria-label': 'config offset' },
      ...Array.from({ length: 16 }, (_, i) => h('option', { value: i * 4 }, `0x${(i * 4).toString(16).padStart(2, '0')}`)));
    this.root = h('details', { class: 'device card', 'data-uuid': dev.uuid, open: true },
      h('summary', { class: 'device-head' },
        h('h2', {}, dev.uuid),
        h('span', { class: 'type-tag' }, `${dev.typeId} · `, this.summaryTtys),
        this.intx,
        h('button', { class: 'danger remove', type: 'button', onclick: (ev: Event) => { ev.preventDefault(); actions.remove(dev.uuid); }, title: `echo 1 > /sys/bus/mdev/devices/${dev.uuid}/remove` }, 'Remove'),
      ),
      portsEl,
      h('div', { class: 'device-lower' },
        h('section', { class: 'config' },
          h('h3', {}, 'PCI config space ', h('small', {}, 'lspci -vv -xxx (region 7, 255 bytes)')),
          h('div', { class: 'tool-row' }, 'read dword at ', cfgOffset,
            h('button', { type: 'button', class: 'cfg-read', onclick: () => actions.act(() => {
              const e = this.session.readConfig(dev.uuid, Number(cfgOffset.value));
              this.cfgResult.textContent = e.line;
            }) }, 'Read'), this.cfgResult),
          this.config),
        h('section', { class: 'logbox' }, h('h3', {}, 'Access log ', h('small', {}, 'this device: guest, student and VMM accesses, decoded')), this.log),
      ),
    );
    for (let p = 0; p < dev.portCount; p++) {
      const termHost = h('div', { class: 'term' });
      const offset = h('select', { class: 'reg-offset', 'aria-label': 'register' });
      const value = h('input', { type: 'text', class: 'reg-value', value: '0x00', size: 5, spellcheck: 'false', 'aria-label': 'value (hex)' });
      const preview = h('div', { class: 'preview', 'aria-live': 'polite' });
      const loop = h('input', { type: 'checkbox', class: 'loop' });
      const baud = h('select', { class: 'baud', 'aria-label': 'baud rate' }, ...BAUD_RATES.map((b) => h('option', { value: b }, String(b))));
      baud.value = '115200';
      const modem = MODEM.map(([name]) => h('input', { type: 'checkbox', class: `modem modem-${name}`, 'aria-label': name }));
      const injectByte = h('input', { type: 'text', class: 'inject-byte', value: '0x41', size: 5, 'aria-label': 'byte to receive (hex)' });
      const view: PortView = {
        root: h('section', { class: 'port', 'data-port': p }),
        irq: h('div', { class: 'irq' }),
        region: h('span', { class: 'region' }),
        regs: h('div', { class: 'regs-wrap' }),
        detail: h('div', { class: 'reg-detail' }),
        terminal: undefined as unknown as PortTerminal,
        offset, value, preview, modem, loop, baud,
        focus: 'LSR',
      };
      const byte = (input: HTMLInputElement) => {
        const v = parseByte(input.value);
        if (v === null) throw new Error(`EINVAL (Invalid argument): '${input.value}' is not a byte (00..ff, hex)`);
        return v;
      };
      value.addEventListener('input', () => this.renderPreview(p, view));
      offset.addEventListener('change', () => this.renderPreview(p, view));
      const inject = (kind: LineEvent) => actions.act(() => this.session.inject(dev.uuid, p, kind, kind === 'break' ? 0 : byte(injectByte)));
      fill(view.root,
        h('header', { class: 'port-head' }, h('h3', {}, `/dev/${dev.ttyName(p)}`), h('span', { class: 'bar' }, `BAR${p}`), view.region, view.irq),
        h('div', { class: 'port-left' },
          termHost,
          h('div', { class: 'tools' },
            h('h4', {}, 'Register tool ', h('small', {}, 'what the write will do, before you press Write')),
            h('div', { class: 'tool-row' }, offset, value,
              h('button', { type: 'button', class: 'reg-write primary', onclick: () => actions.act(() => this.session.writeRegister(dev.uuid, p, Number(offset.value), byte(value))) }, 'Write'),
              h('button', { type: 'button', class: 'reg-read', onclick: () => actions.act(() => this.session.readRegister(dev.uuid, p, Number(offset.value))) }, 'Read')),
            preview,
            h('div', { class: 'tool-row' },
              h('label', {}, 'baud ', baud),
              h('button', { type: 'button', class: 'baud-set', onclick: () => actions.act(() => this.session.setBaud(dev.uuid, p, Number(baud.value))) }, 'Set divisor'),
              h('label', { class: 'switch' }, loop, ' MCR loopback')),
            h('h4', {}, 'Line ', h('small', {}, 'the far end: modem inputs and what arrives on SIN')),
            h('div', { class: 'tool-row' }, ...MODEM.map(([name], i) => h('label', { class: 'chk' }, modem[i], ` ${name}`))),
            h('div', { class: 'tool-row' }, injectByte,
              h('button', { type: 'button', class: 'inject-byte-btn', onclick: () => inject('byte') }, 'Receive'),
              h('button', { type: 'button', class: 'inject-break', onclick: () => inject('break') }, 'Break'),
              h('button', { type: 'button', class: 'inject-parity', onclick: () => inject('parity') }, 'Parity err'),
              h('button', { type: 'button', class: 'inject-framing', onclick: () => inject('framing') }, 'Framing err'),
              h('button', { type: 'button', class: 'inject-overrun', onclick: () => inject('overrun') }, 'Overrun')),
          ),
          view.detail),
        h('div', { class: 'port-right' },
          h('h4', {}, 'Register inspector ', h('small', {}, 'side-effect-free peeks · click a row to load it into the tool')),
          view.regs),
      );
      loop.addEventListener('change', () => actions.act(() => this.session.setLoopback(dev.uuid, p, loop.checked)));
      modem.forEach((m) => m.addEventListener('change', () => actions.act(() => {
        const bits = MODEM.reduce((acc, [, bit], i) => acc | (modem[i].checked ? bit : 0), 0);
        this.session.setModemInputs(dev.uuid, p, bits);
      })));
      view.regs.addEventListener('click', (ev) => {
        const row = (ev.target as HTMLElement).closest('tr[data-reg]');
        if (!row) return;
        view.focus = row.getAttribute('data-reg') as RegName;
        const snap = this.dev.registerView(p);
        const off = ({ RBR: 0, THR: 0, DLL: 0, IER: 1, DLM: 1, IIR: 2, FCR: 2, LCR: 3, MCR: 4, LSR: 5, MSR: 6, SCR: 7 } as Record<string, number>)[view.focus];
        view.offset.value = String(off);
        const cur = view.focus === 'FCR' ? this.dev.lastFcr[p] : (snap.regs as Record<string, number>)[view.focus];
        if (cur !== undefined && cur !== null) view.value.value = hex2(cur);
        this.renderPort(p, view, false);
      });
      portsEl.append(view.root);
      view.terminal = new PortTerminal(termHost, (text) => actions.type(dev.uuid, p, text));
      this.ports.push(view);
    }
  }

  /** A byte the guest's tty received on this port. */
  received(port: number, byte: number): void {
    this.ports[port]?.terminal.show(byte);
  }

  terminalText(port: number): string {
    return this.ports[port]?.terminal.text() ?? '';
  }

  update(): void {
    const d = this.dev;
    this.summaryTtys.textContent = Array.from({ length: d.portCount }, (_, p) => `BAR${p} ${d.ttyName(p)}`).join(', ');
    fill(this.intx,
      h('span', { class: `pill ${d.intxMasked ? 'warn' : 'ok'}` }, d.intxMasked ? 'INTx masked' : 'INTx armed'),
      h('span', { class: 'pill count', title: 'eventfd signals from the device (VFIO INTx)' }, 'interrupts: ', h('b', { class: `irq-count${d.irqSignals ? '' : ' zero'}` }, d.irqSignals)),
      d.droppedIrqs ? h('span', { class: 'pill warn', title: 'events the device raised while INTx was masked: mtty drops them' }, `dropped: ${d.droppedIrqs}`) : null,
    );
    if (!this.root.open) return; // a collapsed card costs nothing to refresh
    this.ports.forEach((v, p) => this.renderPort(p, v, true));
    this.config.textContent = d.isOpen ? d.lspciText() : '(device closed)';
    this.renderLog();
  }

  private renderPreview(p: number, v: PortView): void {
    const snap = v.shown ?? this.dev.registerView(p);
    const val = parseByte(v.value.value);
    const off = Number(v.offset.value);
    const name = registerName(off, 'w', snap.dlab) as RegName;
    if (val === null) {
      fill(v.preview, h('span', { class: 'bad' }, 'enter a byte in hex (00..ff)'));
      return;
    }
    const dec = decodeRegister(name, val, name === 'DLL' ? (snap.regs.DLM << 8) | val : name === 'DLM' ? (val << 8) | snap.regs.DLL : undefined);
    fill(v.preview,
      h('p', {}, h('b', {}, `W ${name} ${hex2(val)}`), ` = ${dec.summary}`),
      h('ul', {}, ...[...dec.fields].reverse().filter((f) => f.name !== '-').map((f) => h('li', { class: f.value ? 'on' : '' }, h('code', {}, `bit ${f.bits} ${f.name}=${f.value}`), ` ${f.text}`))),
    );
  }

  private renderPort(p: number, v: PortView, fresh: boolean): void {
    const snap = fresh ? this.dev.registerView(p) : (v.shown ?? this.dev.registerView(p));
    const changed = new Set<RegName>();
    if (fresh && v.shown) {
      for (const k of Object.keys(snap.regs) as (keyof RegisterViewRegs)[]) if (snap.regs[k] !== v.shown.regs[k]) changed.add(k);
    }
    const bar = this.dev.attached?.fn.bars.find((b) => b.index === p);
    const region = this.dev.isOpen ? this.dev.regionInfo(p) : null;
    if (region) {
      v.region.textContent = `VFIO region ${p}: ${region.size} bytes at fd offset 0x${region.offset.toString(16)}`;
    }
    fill(v.irq,
      h('span', { class: `led ${snap.irq ? 'on' : ''}` }),
      h('span', { class: 'irq-state' }, `INTR ${snap.irq ? 'HIGH' : 'low'}`),
      bar ? h('span', { class: 'io' }, `I/O 0x${bar.address.toString(16)}`) : null,
    );
    // Offsets 0/1 name different registers while DLAB is set.
    const names = OFFSETS.map((o) => `${o}: ${registerName(o, 'w', snap.dlab)}`);
    if ([...v.offset.options].map((o) => o.text).join() !== names.join()) {
      const keep = v.offset.value || '7';
      v.offset.replaceChildren(...OFFSETS.map((o, i) => h('option', { value: o }, names[i])));
      v.offset.value = keep;
    }
    v.loop.checked = (snap.regs.MCR & 0x10) !== 0;
    if (this.dev.isOpen) {
      const inputs = this.dev.mdev.vendor.ports[p].uart.modemInputs;
      MODEM.forEach(([, bit], i) => (v.modem[i].checked = (inputs & bit) !== 0));
    }
    fill(v.regs, registerTable(snap, this.dev.lastFcr[p], fresh ? changed : new Set()));
    v.regs.querySelector(`tr[data-reg="${v.focus}"]`)?.classList.add('focus');
    const focusValue = v.focus === 'FCR' ? this.dev.lastFcr[p] : (snap.regs as Record<string, number>)[v.focus];
    if (focusValue === null || focusValue === undefined) fill(v.detail, h('p', {}, `${v.focus}: nothing to show yet`));
    else {
      const dec = decodeRegister(v.focus, focusValue, snap.regs.DLL | (snap.regs.DLM << 8));
      fill(v.detail,
        h('p', { class: 'detail-head' }, h('b', {}, v.focus), ` = ${hex2(focusValue)}: ${dec.summary}`),
        h('ul', {}, ...[...dec.fields].reverse().filter((f) => f.name !== '-').map((f) => h('li', { class: f.value ? 'on' : '' }, h('code', {}, `bit ${f.bits} ${f.name}=${f.value}`), ` ${f.text}`))),
      );
    }
    v.shown = snap;
    this.renderPreview(p, v);
  }

  private renderLog(): void {
    const recs = this.session.journal.filter((e) => e.uuid === this.dev.uuid);
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

export function logRow(r: LabEntry): HTMLLIElement {
  const kind = r.line.startsWith('CFG') ? 'cfg' : r.line.startsWith('IOCTL') ? 'unmask' : '';
  return h('li', { class: `${r.irq ? 'irq' : ''} ${kind} src-${r.source}`, 'data-seq': r.seq },
    h('span', { class: 'seq' }, r.seq),
    h('code', { class: 'line' }, r.line),
    h('span', { class: 'why', title: `${r.task}: ${r.why}${r.changes.length ? '\n' + r.changes.join('\n') : ''}` }, r.source === 'guest' ? r.why : `${r.source}: ${r.why}`),
  );
}
