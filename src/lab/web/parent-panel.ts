/**
 * The parent device as sysfs shows it: its supported types with
 * available_instances, the create form (type, UUID, Generate) and the tree
 * under /sys/devices/virtual/mtty/mtty. Each action is shown as the shell
 * command it stands for, so the page teaches the real interface.
 */
import type { LabSession } from '../lab-session.js';
import { fill, h } from './dom.js';

export interface ParentActions {
  create(typeId: string, uuid: string): void;
  /** `cat <type>/available_instances` (logged: an exercise asks for it). */
  cat(typeId: string): void;
}

export class ParentPanel {
  readonly root: HTMLElement;
  private readonly types: HTMLElement;
  private readonly tree: HTMLElement;
  private readonly select: HTMLSelectElement;
  private readonly uuid: HTMLInputElement;
  private readonly command: HTMLElement;
  private readonly status: HTMLElement;

  constructor(private readonly session: LabSession, private readonly actions: ParentActions) {
    this.types = h('tbody', {});
    this.tree = h('pre', { class: 'tree' });
    this.select = h('select', { id: 'create-type', 'aria-label': 'mdev type' });
    this.uuid = h('input', { id: 'create-uuid', type: 'text', spellcheck: 'false', autocomplete: 'off', placeholder: 'UUID (8-4-4-4-12 hex)', size: 38 });
    this.command = h('code', { class: 'cmd' });
    this.status = h('div', { id: 'create-status', class: 'status', role: 'status' });
    const generate = h('button', { id: 'generate-uuid', type: 'button', onclick: () => this.generate() }, 'Generate');
    const create = h('button', { id: 'create-device', class: 'primary', type: 'submit' }, 'Create');
    const form = h('form', { class: 'create' }, h('label', {}, 'type ', this.select), h('label', { class: 'uuid' }, 'uuid ', this.uuid), generate, create);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      actions.create(this.select.value, this.uuid.value.trim());
    });
    const refreshCmd = () => this.showCommand();
    this.select.addEventListener('change', refreshCmd);
    this.uuid.addEventListener('input', refreshCmd);
    this.root = h('section', { class: 'parent card', id: 'parent' },
      h('h2', {}, 'Parent device ', h('code', {}, session.parentPath)),
      h('table', { class: 'types' },
        h('thead', {}, h('tr', {}, h('th', {}, 'type'), h('th', {}, 'name'), h('th', {}, 'device_api'), h('th', {}, 'available_', h('wbr'), 'instances'), h('th', {}, ''))),
        this.types),
      form,
      h('p', { class: 'cmdline' }, '$ ', this.command),
      this.status,
      h('details', { class: 'tree-box' }, h('summary', {}, 'sysfs tree'), this.tree),
    );
    for (const t of session.types()) this.select.append(h('option', { value: t.id }, `${t.id} (${t.name})`));
    this.select.value = session.types().find((t) => t.id.endsWith('-2'))?.id ?? this.select.value;
    this.generate();
  }

  private generate(): void {
    this.uuid.value = this.session.newUuid();
    this.showCommand();
  }

  private showCommand(): void {
    this.command.textContent = `echo ${this.uuid.value || '<uuid>'} > ${this.session.parentPath}/mdev_supported_types/${this.select.value}/create`;
  }

  /** After a successful create: a fresh UUID is ready for the next one. */
  created(uuid: string): void {
    this.setStatus('ok', `created ${uuid}`);
    this.generate();
  }

  setStatus(kind: 'ok' | 'error', text: string): void {
    this.status.className = `status ${kind}`;
    this.status.textContent = text;
  }

  update(): void {
    fill(this.types, ...this.session.types().map((t) =>
      h('tr', { 'data-type': t.id },
        h('td', {}, h('code', {}, t.id)), h('td', {}, t.name), h('td', {}, t.deviceApi),
        h('td', { class: 'avail' }, String(t.available)),
        h('td', {}, h('button', { type: 'button', class: 'cat', id: `cat-${t.id}`, title: `cat ${t.sysfsPath}/available_instances`, onclick: () => this.actions.cat(t.id) }, 'cat')))));
    this.tree.textContent = this.session.mtty.sysfs.tree(this.session.parentPath);
  }
}
