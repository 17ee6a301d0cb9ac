/**
 * The interrupt timeline of one device against virtual time: the INTx line as
 * the VMM sees it (asserted from the device's eventfd signal until the VMM's
 * UNMASK after the guest's handler), each port's UART INTR output, and every
 * access as a tick, IIR reads labelled with the reason they reported.
 * Zoom with the buttons or Ctrl+wheel, scroll with the slider or the wheel;
 * "follow" keeps the newest access in view.
 */
import type { LabSession } from '../lab-session.js';
import type { LabEntry } from '../lab-device.js';
import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const LANE = 26;
const LEFT = 110;
const MARGIN = 10;
/** Visible spans, ns: 10 µs ... 10 s. */
const SPANS = [10e3, 30e3, 100e3, 300e3, 1e6, 3e6, 10e6, 30e6, 100e6, 300e6, 1e9, 3e9, 10e9];
/** Ticks drawn at most (beyond that, every n-th, so a long log stays fast). */
const MAX_TICKS = 1500;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export function timeLabel(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  return `${(ns / 1e3).toFixed(1)} µs`;
}

/** IIR reason -> short mark. */
function iirMark(iir: string): string {
  if (iir.startsWith('no interrupt')) return 'none';
  if (iir.startsWith('RX data')) return 'RX';
  if (iir.startsWith('THR empty')) return 'THRE';
  if (iir.startsWith('character timeout')) return 'timeout';
  if (iir.startsWith('receiver line')) return 'line';
  if (iir.startsWith('modem')) return 'modem';
  return '?';
}

export class Timeline {
  readonly root: HTMLElement;
  private readonly select: HTMLSelectElement;
  private readonly plot: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly follow: HTMLInputElement;
  private readonly spanLabel: HTMLElement;
  /** 100 µs: a typed key's accesses (1 µs each) and its interrupts fit. */
  private spanIndex = 2;
  private uuid = '';
  private lastKey = '';

  constructor(private readonly session: LabSession) {
    this.select = h('select', { id: 'timeline-device', 'aria-label': 'device shown on the timeline' });
    this.plot = h('div', { class: 'timeline-plot', id: 'timeline-plot' });
    this.slider = h('input', { type: 'range', id: 'timeline-scroll', min: 0, max: 1000, value: 1000, 'aria-label': 'scroll the timeline' });
    this.follow = h('input', { type: 'checkbox', id: 'timeline-follow', checked: true });
    this.spanLabel = h('span', { class: 'span-label', id: 'timeline-span' });
    const zoom = (d: number) => {
      this.spanIndex = Math.max(0, Math.min(SPANS.length - 1, this.spanIndex + d));
      this.render(true);
    };
    this.root = h('section', { class: 'timeline card', id: 'timeline' },
      h('div', { class: 'timeline-head' },
        h('h2', {}, 'Interrupt timeline ', h('small', {}, 'virtual time')),
        this.select,
        h('button', { type: 'button', id: 'zoom-in', title: 'zoom in (Ctrl+wheel)', onclick: () => zoom(-1) }, '+'),
        h('button', { type: 'button', id: 'zoom-out', title: 'zoom out (Ctrl+wheel)', onclick: () => zoom(1) }, '−'),
        this.spanLabel,
        h('label', { class: 'follow' }, this.follow, ' follow'),
      ),
      this.plot,
      this.slider,
    );
    this.select.addEventListener('change', () => {
      this.uuid = this.select.value;
      this.render(true);
    });
    this.slider.addEventListener('input', () => {
      this.follow.checked = false;
      this.render(true);
    });
    this.follow.addEventListener('change', () => this.render(true));
    this.plot.addEventListener('wheel', (ev) => {
      if (ev.ctrlKey) zoom(ev.deltaY > 0 ? 1 : -1);
      else {
        this.follow.checked = false;
        this.slider.valueAsNumber = Math.max(0, Math.min(1000, this.slider.valueAsNumber + (ev.deltaY > 0 ? 25 : -25)));
        this.render(true);
      }
      ev.preventDefault();
    }, { passive: false });
  }

  update(): void {
    const devs = [...this.session.devices.values()];
    const opts = devs.map((d) => `${d.uuid}`).join();
    if (opts !== [...this.select.options].map((o) => o.value).join()) {
      this.select.replaceChildren(...devs.map((d) => h('option', { value: d.uuid }, `${d.uuid.slice(0, 8)} (${d.typeId})`)));
      if (!devs.some((d) => d.uuid === this.uuid)) this.uuid = devs[devs.length - 1]?.uuid ?? '';
      this.select.value = this.uuid;
    }
    this.render(false);
  }

  /** The device the timeline shows (the newest one unless the student picked another). */
  show(uuid: string): void {
    this.uuid = uuid;
    this.select.value = uuid;
    this.render(true);
  }

  private render(force: boolean): void {
    const entries = this.session.journal.filter((e) => e.uuid === this.uuid);
    const last = entries[entries.length - 1];
    const key = `${this.uuid}:${last?.seq ?? 0}:${this.session.now}`;
    if (!force && key === this.lastKey) return;
    this.lastKey = key;
    const span = SPANS[this.spanIndex];
    this.spanLabel.textContent = `window ${timeLabel(span)}`;
    const dev = this.session.devices.get(this.uuid);
    if (!dev || entries.length === 0) {
      this.plot.replaceChildren(h('p', { class: 'muted' }, 'Create a device: its interrupts and accesses are drawn here.'));
      return;
    }
    const first = entries[0].t;
    const end = Math.max(this.session.now, last.t);
    // "follow" keeps the newest access in view (a little room after it), not the idle clock.
    const maxStart = Math.max(first, Math.min(end, last.t + span * 0.15) - span);
    const start = this.follow.checked ? maxStart : first + ((maxStart - first) * this.slider.valueAsNumber) / 1000;
    if (this.follow.checked) this.slider.valueAsNumber = 1000;
    const width = Math.max(480, this.plot.clientWidth || 800);
    const lanes = ['INTx (VMM)', 'MSI', ...Array.from({ length: dev.portCount }, (_, p) => `${dev.ttyName(p)} INTR`), 'IIR says', 'accesses'];
    const height = lanes.length * LANE + 24;
    const x = (t: number) => LEFT + ((t - start) / span) * (width - LEFT - MARGIN);
    const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'tl', role: 'img', 'aria-label': 'interrupt timeline' });
    lanes.forEach((name, i) => {
      root.append(svg('text', { x: 4, y: i * LANE + 17, class: 'lane-name' }, name));
      root.append(svg('line', { x1: LEFT, x2: width - MARGIN, y1: i * LANE + LANE - 2, y2: i * LANE + LANE - 2, class: 'lane-base' }));
    });
    // Axis.
    for (let k = 0; k <= 4; k++) {
      const t = start + (span * k) / 4;
      root.append(svg('text', { x: x(t), y: height - 4, class: 'axis', 'text-anchor': k === 0 ? 'start' : k === 4 ? 'end' : 'middle' }, k === 0 ? timeLabel(t) : `+${timeLabel((span * k) / 4)}`));
    }
    const visible = entries.filter((e) => e.t >= start - span && e.t <= start + span * 2);
    // INTx: high from a signal to the next UNMASK.
    const intx: [number, number][] = [];
    let up: number | null = null;
    for (const e of entries) {
      if (e.irq && up === null) up = e.t;
      if (e.line === 'IOCTL SET_IRQS INTx UNMASK' && up !== null) {
        intx.push([up, e.t]);
        up = null;
      }
    }
    if (up !== null) intx.push([up, end]);
    const bar = (lane: number, a: number, b: number, cls: string, tip: string) => {
      if (x(b) < LEFT || x(a) > width - MARGIN) return; // outside the window
      const x0 = Math.max(LEFT, x(a));
      const x1 = Math.min(width - MARGIN, Math.max(x(b), x0 + 2));
      const r = svg('rect', { x: x0, y: lane * LANE + 5, width: Math.max(2, x1 - x0), height: LANE - 9, class: cls });
      r.append(svg('title', {}, tip));
      root.append(r);
    };
    for (const [a, b] of intx) bar(0, a, b, 'intx-on', `INTx asserted and masked ${timeLabel(a)} .. ${timeLabel(b)} (signal -> UNMASK)`);
    root.append(svg('text', { x: LEFT + 6, y: 1 * LANE + 17, class: 'axis' }, 'not used: the lab\'s VMM wires INTx only'));
    // Each port's INTR as a step function of the entries' snapshots.
    for (let p = 0; p < dev.portCount; p++) {
      let from: number | null = null;
      for (const e of entries) {
        const on = (e.intr >> p) & 1;
        if (on && from === null) from = e.t;
        if (!on && from !== null) {
          bar(2 + p, from, e.t, 'intr-on', `${dev.ttyName(p)} INTR high ${timeLabel(from)} .. ${timeLabel(e.t)}`);
          from = null;
        }
      }
      if (from !== null) bar(2 + p, from, end, 'intr-on', `${dev.ttyName(p)} INTR high since ${timeLabel(from)}`);
    }
    // Accesses.
    const lane = lanes.length - 1;
    const step = Math.max(1, Math.ceil(visible.length / MAX_TICKS));
    let lastLabel = -Infinity;
    visible.forEach((e: LabEntry, i) => {
      if (e.t < start || e.t > start + span) return;
      if (i % step && !e.iir && !e.irq) return;
      const cx = x(e.t);
      const cls = `tick ${e.source}${e.irq ? ' irq' : ''}${e.iir ? ' iir' : ''}`;
      const g = svg('g', { class: cls, 'data-seq': e.seq });
      g.append(svg('line', { x1: cx, x2: cx, y1: lane * LANE + 4, y2: lane * LANE + LANE - 3 }));
      if (e.iir) {
        const mark = iirMark(e.iir);
        g.append(svg('line', { x1: cx, x2: cx, y1: (lane - 1) * LANE + 4, y2: lane * LANE, class: 'iir-stem' }));
        // Labels closer than a word apart would overprint: the stem stays, the hover names it.
        if (cx - lastLabel > 34) {
          g.append(svg('text', { x: cx + 2, y: (lane - 1) * LANE + 15, class: `iir-mark iir-${mark}` }, mark));
          lastLabel = cx;
        }
      }
      g.append(svg('title', {}, `#${e.seq} ${timeLabel(e.t)} ${e.source}: ${e.line}\n${e.why}`));
      root.append(g);
    });
    root.append(svg('line', { x1: x(this.session.now), x2: x(this.session.now), y1: 0, y2: height - 18, class: 'now' }));
    this.plot.replaceChildren(root);
  }
}
