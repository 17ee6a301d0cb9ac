/**
 * The lab's one-CPU scheduler: routines run one access at a time, in order,
 * and an interrupt preempts the running routine between two accesses (never
 * in the middle of one), then the routine resumes with its pending access.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GuestCpu } from '../src/lab/guest-cpu.js';
import type { GuestOp, GuestRoutine } from '../src/lab/guest-ops.js';

const read = (offset: number, why: string): GuestOp => ({ kind: 'read', port: 0, offset, why });

function* reads(tag: string, n: number, seen: number[]): GuestRoutine {
  for (let i = 0; i < n; i++) seen.push(yield read(i, `${tag}${i}`));
}

/** Perform every access, answering reads with `answer`, and return the `why` tags in order. */
function drain(cpu: GuestCpu, answer = 7, onStep?: (tag: string) => void): string[] {
  const order: string[] = [];
  for (let next = cpu.peek(), guard = 0; next && guard < 100; next = cpu.peek(), guard++) {
    order.push(next.op.why);
    cpu.complete(answer);
    onStep?.(next.op.why);
  }
  return order;
}

test('tasks run in submission order and receive what their reads returned', () => {
  const seen: number[] = [];
  const cpu = new GuestCpu(() => ({ title: 'isr', isr: true, routine: reads('isr', 1, []) }));
  cpu.submit({ title: 'a', routine: reads('a', 2, seen) });
  cpu.submit({ title: 'b', routine: reads('b', 1, seen) });
  assert.equal(cpu.titles().map((t) => t.state), ['running', 'waiting'], 'the first task is the one Step runs next');
  assert.equal(drain(cpu), ['a0', 'a1', 'b0']);
  assert.equal(seen, [7, 7, 7]);
  assert.ok(cpu.idle);
});

test('an interrupt preempts between two accesses and the task resumes afterwards', () => {
  const cpu = new GuestCpu(() => ({ title: 'interrupt handler', isr: true, routine: reads('isr', 2, []) }));
  cpu.submit({ title: 'tx', routine: reads('tx', 3, []) });
  const order = drain(cpu, 0, (tag) => {
    if (tag === 'tx0') {
      cpu.interrupt();
      assert.equal(cpu.titles().map((t) => `${t.title}:${t.state}`), ['interrupt handler:running', 'tx:preempted']);
    }
  });
  assert.equal(order, ['tx0', 'isr0', 'isr1', 'tx1', 'tx2']);
});

test('an interrupt raised inside the handler runs the handler again after it returns', () => {
  let runs = 0;
  const cpu = new GuestCpu(() => ({ title: 'isr', isr: true, routine: reads(`isr${runs++}-`, 1, []) }));
  cpu.interrupt();
  const order = drain(cpu, 0, (tag) => {
    if (tag === 'isr0-0') cpu.interrupt();
  });
  assert.equal(order, ['isr0-0', 'isr1-0']);
});

test('clear() drops running and waiting tasks', () => {
  const cpu = new GuestCpu(() => ({ title: 'isr', isr: true, routine: reads('isr', 1, []) }));
  cpu.submit({ title: 'a', routine: reads('a', 3, []) });
  assert.ok(cpu.peek());
  cpu.clear();
  assert.ok(cpu.idle);
  assert.equal(cpu.titles(), []);
});

test.run();
