/**
 * The exercise panel: each exercise with its task, a hint on request, and a
 * done mark set by the lab's own check (exercises.ts) from the journal and
 * the registers; progress survives reloads with the session. A teacher's set
 * loads from a JSON file or a URL (same origin, or any the page may fetch).
 */
import type { LabSession } from '../lab-session.js';
import { BUILTIN_EXERCISES, parseExerciseSet } from '../exercises.js';
import { fill, h } from './dom.js';
import { readPicked } from './download.js';

export class ExercisesPanel {
  readonly root: HTMLElement;
  private readonly list: HTMLElement;
  private readonly title: HTMLElement;
  private readonly progress: HTMLElement;
  private readonly status: HTMLElement;
  private shown = '';

  constructor(private readonly session: LabSession, onError: (e: unknown) => void) {
    this.list = h('ol', { class: 'exercises', id: 'exercise-list' });
    this.title = h('span', { class: 'set-title' });
    this.progress = h('span', { class: 'progress', id: 'exercise-progress' });
    this.status = h('div', { class: 'status', id: 'exercise-status', role: 'status' });
    const file = h('input', { type: 'file', id: 'exercise-file', accept: '.json,application/json', 'aria-label': 'exercise set file' });
    const url = h('input', { type: 'text', id: 'exercise-url', placeholder: 'exercise set URL (JSON)', 'aria-label': 'exercise set URL' });
    const use = (text: string, from: string) => {
      try {
        this.session.setExercises(parseExerciseSet(text));
        this.setStatus('ok', `loaded ${this.session.exercises.exercises.length} exercises from ${from}`);
      } catch (e) {
        this.setStatus('error', e instanceof Error ? e.message : String(e));
      }
    };
    file.addEventListener('change', async () => {
      const text = await readPicked(file);
      if (text !== null) use(text, 'the file');
    });
    this.root = h('section', { class: 'card exercises-panel', id: 'exercises' },
      h('h2', {}, 'Exercises ', this.progress),
      h('p', { class: 'muted set' }, this.title, ' · each is checked from the device and the access log'),
      this.list,
      h('details', { class: 'teacher' },
        h('summary', {}, 'Teacher: load another set'),
        h('label', { class: 'file' }, 'JSON file ', file),
        h('div', { class: 'row' }, url,
          h('button', { type: 'button', id: 'exercise-load-url', onclick: async () => {
            try {
              const res = await fetch(url.value, { credentials: 'omit' });
              if (!res.ok) throw new Error(`HTTP ${res.status} for ${url.value}`);
              use(await res.text(), url.value);
            } catch (e) {
              this.setStatus('error', e instanceof Error ? e.message : String(e));
            }
          } }, 'Load'),
          h('button', { type: 'button', id: 'exercise-builtin', onclick: () => {
            this.session.setExercises(BUILTIN_EXERCISES);
            this.setStatus('ok', 'back to the built-in set');
          } }, 'Built-in set')),
        this.status,
      ),
    );
    void onError;
  }

  private setStatus(kind: 'ok' | 'error', text: string): void {
    this.status.className = `status ${kind}`;
    this.status.textContent = text;
  }

  update(): void {
    const set = this.session.exercises;
    const done = set.exercises.filter((e) => this.session.done.has(e.id)).length;
    const key = `${set.title}:${[...this.session.done].join()}`;
    this.progress.textContent = `${done} / ${set.exercises.length} done`;
    if (key === this.shown) return;
    this.shown = key;
    this.title.textContent = set.title;
    fill(this.list, ...set.exercises.map((e) => {
      const ok = this.session.done.has(e.id);
      return h('li', { class: ok ? 'done' : '', 'data-exercise': e.id },
        h('span', { class: 'mark', 'aria-label': ok ? 'done' : 'not done yet' }, ok ? '✓' : '○'),
        h('div', {},
          h('b', {}, e.title),
          h('p', {}, e.task),
          e.hint ? h('details', { class: 'hint' }, h('summary', {}, 'hint'), h('p', {}, e.hint)) : null));
    }));
  }
}
