import { afterEach, describe, expect, it } from 'vitest';
import { QueueFullError, WorkerCrashedError } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

afterEach(closeAll);

describe('Orchestrator faults', () => {
  it('a worker that exits fails its run with ERR_WORKER_CRASHED and the pool carries on', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
    const crashed = orchestrator.run('exit', 3);
    const others = [1, 2, 3, 4, 5].map((n) => orchestrator.run('echo', n));
    await expect(crashed).rejects.toBeInstanceOf(WorkerCrashedError);
    await expect(crashed).rejects.toThrow(/worker running task "exit" crashed: .*code: 3/);
    await expect(Promise.all(others)).resolves.toEqual([1, 2, 3, 4, 5]);
    await expect(orchestrator.run('echo', 'after')).resolves.toBe('after');
    expect(orchestrator.inFlight).toBe(0);
  });

  it('a worker module that throws while loading fails every run with ERR_WORKER_CRASHED and its error', async () => {
    const orchestrator = createOrchestrator({
      worker: new URL('./fixtures/broken-at-load.mjs', import.meta.url),
      baseLimit: 1,
      maxLimit: 1,
    });
    const runs = [orchestrator.run('anything', 1), orchestrator.run('anything', 2)];
    for (const run of runs) {
      await expect(run).rejects.toBeInstanceOf(WorkerCrashedError);
      await expect(run).rejects.toThrow(/crashed: broken at load/);
    }
  });

  it('an uncaught exception in a callback inside the worker is a crash of that run only', async () => {
    const orchestrator = createOrchestrator();
    const error = (await orchestrator.run('uncaught', null).catch((e: unknown) => e)) as WorkerCrashedError;
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(error.message).toMatch(/uncaught in a callback/);
    await expect(orchestrator.run('add', { a: 1, b: 1 })).resolves.toBe(2);
  });

  it('a task that exceeds resourceLimits fails with ERR_WORKER_CRASHED', async () => {
    const orchestrator = createOrchestrator({
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    });
    await expect(orchestrator.run('exhaustMemory', null)).rejects.toMatchObject({
      code: 'ERR_WORKER_CRASHED',
    });
    await expect(orchestrator.run('echo', 'alive')).resolves.toBe('alive');
  });

  it('sheds a submission beyond maxQueue at once with ERR_QUEUE_FULL', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 1, maxQueue: 2 });
    const gate = new Gate();
    const admitted = orchestrator.run('gate', { shared: gate.shared });
    const queued = [2, 3].map(() => orchestrator.run('gate', { shared: gate.shared }));
    expect(orchestrator.queued).toBe(2);
    const shed = orchestrator.run('echo', 'too many');
    await expect(shed).rejects.toBeInstanceOf(QueueFullError);
    await expect(shed).rejects.toThrow(/maxQueue 2.*"echo" was shed/);
    gate.release();
    await Promise.all([admitted, ...queued]);
    expect(orchestrator.queued).toBe(0);
    await expect(orchestrator.run('echo', 'room again')).resolves.toBe('room again');
  });

  it('says it is full exactly while a submission would be shed', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 1, maxQueue: 1 });
    const gate = new Gate();
    const states: boolean[] = [orchestrator.full];
    // One admitted to the slot, then one queued (maxQueue 1).
    const admitted = [1, 2].map(() => {
      const run = orchestrator.run('gate', { shared: gate.shared });
      states.push(orchestrator.full);
      return run;
    });
    expect(states).toEqual([false, false, true]);
    await expect(orchestrator.run('echo', 'shed')).rejects.toBeInstanceOf(QueueFullError);
    gate.release();
    await Promise.all(admitted);
    expect(orchestrator.full).toBe(false);
    await expect(orchestrator.run('echo', 'admitted')).resolves.toBe('admitted');
  });

  it('is never full without a maxQueue while slots are busy, nor with maxQueue 0 while a slot is free', async () => {
    const unbounded = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 1 });
    const gate = new Gate();
    const held = [1, 2, 3, 4].map(() => unbounded.run('gate', { shared: gate.shared }));
    expect([unbounded.queued, unbounded.full]).toEqual([3, false]);
    const none = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 1, maxQueue: 0 });
    const states = [none.full];
    const started = none.run('gate', { shared: gate.shared });
    states.push(none.full);
    expect(states).toEqual([false, true]);
    await expect(none.run('echo', 'shed')).rejects.toBeInstanceOf(QueueFullError);
    gate.release();
    await Promise.all([...held, started]);
  });
});
