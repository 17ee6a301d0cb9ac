/**
 * The guest's one CPU: routines run one access at a time, in order; an
 * interrupt preempts the running routine between two accesses (never inside
 * an interrupts-off section), then the routine resumes. run() and step() give
 * the same access order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GuestCpu, type GuestRoutine } from '../src/guest/index.js';

/** A CPU with nothing mapped (reads float to 0xff) that records the accesses it performs. */
function cpu() {
  const c = new GuestCpu();
  const seen: string[] = [];
  c.observer = { after: (op, _v, task) => seen.push(`${task}:${op.why}`) };
  return { c, seen };
}

function* reads(tag: string, n: number, got: number[] = []): GuestRoutine<boolean> {
  for (let i = 0; i < n; i++) got.push(yield { kind: 'in', port: 0x80, why: `${tag}${i}` });
  return true;
}

test('queued routines run in order and receive what their reads returned', () => {
  const { c, seen } = cpu();
  c.mode = 'step';
  const got: number[] = [];
  c.submit(reads('a', 2, got), 'a');
  c.submit(reads('b', 1, got), 'b');
  assert.equal(c.titles().map((t) => t.state), ['running', 'waiting']);
  while (c.step());
  assert.equal(seen, ['a:a0', 'a:a1', 'b:b0']);
  assert.equal(got, [0xff, 0xff, 0xff], 'nothing decodes port 0x80: the bus floats high');
  assert.ok(c.idle);
});

test('an interrupt preempts between two accesses and the routine resumes afterwards', () => {
  const { c, seen } = cpu();
  c.mode = 'step';
  c.irqs.request(5, 'dev', () => reads('isr', 2));
  c.submit(reads('tx', 3), 'tx');
  c.step();
  c.irqs.raise(5);
  assert.equal(c.titles().map((t) => `${t.title}:${t.state}`), ['interrupt handler (IRQ 5):running', 'tx:preempted']);
  while (c.step());
  assert.equal(seen, ['tx:tx0', 'interrupt handler (IRQ 5):isr0', 'interrupt handler (IRQ 5):isr1', 'tx:tx1', 'tx:tx2']);
  assert.is(c.irqs.count(5), 1);
});

test('no interrupt inside an interrupts-off section; it is taken when the section ends', () => {
  const { c, seen } = cpu();
  c.irqs.request(5, 'dev', () => reads('isr', 1));
  c.run((function* (): GuestRoutine {
    yield { kind: 'irq-save' };
    yield { kind: 'in', port: 0x80, why: 'locked0' };
    c.irqs.raise(5);
    yield { kind: 'in', port: 0x80, why: 'locked1' };
    yield { kind: 'irq-restore' };
    yield { kind: 'in', port: 0x80, why: 'after' };
  })(), 'task');
  assert.equal(seen, ['task:locked0', 'task:locked1', 'interrupt handler (IRQ 5):isr0', 'task:after']);
});

test('an interrupt raised inside the handler runs the handler again after it returns', () => {
  const { c, seen } = cpu();
  let runs = 0;
  c.irqs.request(5, 'dev', () => {
    const n = runs++;
    return (function* (): GuestRoutine<boolean> {
      yield { kind: 'in', port: 0x80, why: `isr${n}` };
      if (n === 0) c.irqs.raise(5);
      return true;
    })();
  });
  c.irqs.raise(5);
  c.drain();
  assert.equal(seen.map((s) => s.split(':')[1]), ['isr0', 'isr1']);
});

test('a host-side raise is taken on the next microtask in run mode, at the next step in step mode', async () => {
  const { c, seen } = cpu();
  c.irqs.request(5, 'dev', () => reads('isr', 1));
  c.irqs.raise(5);
  assert.equal(seen, [], 'not re-entered from the raise itself');
  await Promise.resolve();
  assert.equal(seen.length, 1);
  c.mode = 'step';
  c.irqs.raise(5);
  await Promise.resolve();
  assert.equal(seen.length, 1);
  assert.ok(c.step());
  assert.equal(seen.length, 2);
});

test('run() and step() give the same order; a failing routine unwinds and leaves the CPU usable', () => {
  const order = (mode: 'run' | 'step') => {
    const { c, seen } = cpu();
    c.irqs.request(5, 'dev', () => reads('isr', 1));
    const r = (function* (): GuestRoutine {
      yield { kind: 'in', port: 0x80, why: 'a' };
      c.irqs.raise(5);
      yield { kind: 'in', port: 0x80, why: 'b' };
    })();
    if (mode === 'run') c.run(r, 't');
    else {
      c.mode = 'step';
      c.submit(r, 't');
      while (c.step());
    }
    return seen;
  };
  assert.equal(order('run'), order('step'));
  const { c } = cpu();
  assert.throws(() => c.run((function* (): GuestRoutine {
    yield { kind: 'irq-save' };
    throw new Error('driver bug');
  })()), /driver bug/);
  assert.ok(c.idle);
  c.irqs.request(6, 'x', () => false);
  c.irqs.raise(6);
  c.drain();
  assert.is(c.irqs.count(6), 1, 'interrupts are taken again: the failed section did not leave them off');
});

test.run();
