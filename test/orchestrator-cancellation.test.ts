import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskTimeoutError } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

afterEach(closeAll);

describe('Orchestrator cancellation', () => {
  it('an already-aborted signal rejects with its reason and never reaches a worker', async () => {
    const orchestrator = createOrchestrator();
    const gate = new Gate();
    const reason = new Error('never mind');
    await expect(
      orchestrator.run('gate', { shared: gate.shared }, { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    expect(gate.started).toBe(0);
    expect(orchestrator.inFlight).toBe(0);
  });

  it('a queued run whose signal aborts leaves the queue and never reaches a worker', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 1 });
    const gate = new Gate();
    const running = orchestrator.run('gate', { shared: gate.shared });
    const first = orchestrator.run('echo', 'first in line');
    const controller = new AbortController();
    const queued = orchestrator.run('gate', { shared: gate.shared }, { signal: controller.signal });
    await gate.waitStarted(1);
    expect(orchestrator.queued).toBe(2);
    controller.abort('changed my mind');
    expect(orchestrator.queued).toBe(1);
    await expect(queued).rejects.toBe('changed my mind');
    gate.release();
    await expect(running).resolves.toMatchObject({ released: true });
    await expect(first).resolves.toBe('first in line');
    expect(gate.started).toBe(1);
  });

  it('a run waiting behind the running task that is cancelled is withdrawn at once, without waiting for that task', async () => {
    const orchestrator = createOrchestrator({
      baseLimit: 1,
      minLimit: 1,
      maxLimit: 1,
      cancelGraceMs: 60_000,
    });
    const gate = new Gate();
    const running = orchestrator.run('gate', { shared: gate.shared });
    await gate.waitStarted(1);
    const controller = new AbortController();
    const waiting = orchestrator.run('gate', { shared: gate.shared }, { signal: controller.signal });
    controller.abort('withdrawn');
    await expect(waiting).rejects.toBe('withdrawn');
    expect(gate.started).toBe(1);
    gate.release();
    await running;
    expect(gate.started).toBe(1);
  });

  it('a synchronous loop sees the abort through throwIfAborted and the run rejects with the reason', async () => {
    const orchestrator = createOrchestrator({ cancelGraceMs: 60_000 });
    const gate = new Gate();
    const controller = new AbortController();
    const run = orchestrator.run('gate', { shared: gate.shared }, { signal: controller.signal });
    await gate.waitStarted(1);
    const threadsBefore = orchestrator.threads;
    controller.abort(new Error('stop now'));
    await expect(run).rejects.toThrow('stop now');
    // The task stopped by itself: its thread was not terminated and serves the next task.
    expect(orchestrator.threads).toBe(threadsBefore);
    await expect(orchestrator.run('echo', 1)).resolves.toBe(1);
  });

  it("an async task's ctx.signal aborts when the run is cancelled", async () => {
    const orchestrator = createOrchestrator({ cancelGraceMs: 60_000 });
    const gate = new Gate();
    const controller = new AbortController();
    const run = orchestrator.run('awaitAbort', { shared: gate.shared }, { signal: controller.signal });
    await gate.waitStarted(1);
    controller.abort('bye');
    await expect(run).rejects.toBe('bye');
    expect(orchestrator.inFlight).toBe(0);
  });

  it('a task that ignores the abort has its thread terminated after cancelGraceMs, and the pool carries on', async () => {
    const orchestrator = createOrchestrator({ cancelGraceMs: 20 });
    const gate = new Gate();
    const controller = new AbortController();
    const before = (await orchestrator.run('threadId', null)) as number;
    const run = orchestrator.run(
      'gate',
      { shared: gate.shared, cooperative: false },
      { signal: controller.signal },
    );
    await gate.waitStarted(1);
    controller.abort('terminate it');
    await expect(run).rejects.toBe('terminate it');
    expect(orchestrator.inFlight).toBe(0);
    const threadIds = await Promise.all([1, 2, 3, 4].map(() => orchestrator.run('threadId', null)));
    expect(threadIds.every((id) => typeof id === 'number')).toBe(true);
    expect(before).toBeTypeOf('number');
    gate.release();
  });

  it('runs sharing one signal add one listener to it, all reject on abort, and leave no listener', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 1 });
    const gate = new Gate();
    const controller = new AbortController();
    const runs = Array.from({ length: 100 }, () =>
      orchestrator.run('gate', { shared: gate.shared }, { signal: controller.signal }),
    );
    const outcomes = Promise.allSettled(runs);
    await gate.waitStarted(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort('all of them');
    for (const outcome of await outcomes)
      expect(outcome).toEqual({ status: 'rejected', reason: 'all of them' });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    const shared = new AbortController();
    await Promise.all([1, 2, 3].map((n) => orchestrator.run('echo', n, { signal: shared.signal })));
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('timeoutMs counts queue time and rejects with ERR_TASK_TIMEOUT without the task ever starting', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 1 });
    const gate = new Gate();
    const running = orchestrator.run('gate', { shared: gate.shared });
    const next = orchestrator.run('echo', 'next');
    await gate.waitStarted(1);
    const timed = orchestrator.run('gate', { shared: gate.shared }, { timeoutMs: 5 });
    await expect(timed).rejects.toBeInstanceOf(TaskTimeoutError);
    await expect(timed).rejects.toThrow(/Task "gate" timed out after 5 ms/);
    gate.release();
    await Promise.all([running, next]);
    expect(gate.started).toBe(1);
  });

  it('timeoutMs stops a running task that checks throwIfAborted, without terminating its thread', async () => {
    const orchestrator = createOrchestrator({
      baseLimit: 1,
      minLimit: 1,
      maxLimit: 1,
      cancelGraceMs: 60_000,
    });
    const gate = new Gate();
    // A warm thread takes the task at once, well inside the deadline.
    const thread = await orchestrator.run('threadId', null);
    await expect(orchestrator.run('gate', { shared: gate.shared }, { timeoutMs: 300 })).rejects.toMatchObject(
      {
        code: 'ERR_TASK_TIMEOUT',
      },
    );
    expect(gate.started).toBe(1);
    expect(orchestrator.inFlight).toBe(0);
    await expect(orchestrator.run('threadId', null)).resolves.toBe(thread);
  });
});
