import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, ClosedError } from 'node-orchestrator';
import { runUntilExit } from './support/exit-fixture.js';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

afterEach(closeAll);

describe('Orchestrator.close', () => {
  it('refuses new runs with ERR_CLOSED as soon as close() is called', async () => {
    const orchestrator = createOrchestrator();
    const closing = orchestrator.close();
    expect(orchestrator.accepting).toBe(false);
    await expect(orchestrator.run('echo', 1)).rejects.toBeInstanceOf(ClosedError);
    await closing;
  });

  it('lets accepted work finish within closeTimeoutMs', async () => {
    const orchestrator = createOrchestrator({ closeTimeoutMs: 60_000 });
    const gate = new Gate();
    const running = orchestrator.run('gate', { shared: gate.shared });
    const queued = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => orchestrator.run('echo', n));
    await gate.waitStarted(1);
    const closing = orchestrator.close();
    gate.release();
    await expect(running).resolves.toMatchObject({ released: true });
    await expect(Promise.all(queued)).resolves.toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await closing;
    expect(orchestrator.inFlight).toBe(0);
  });

  it('cancels what is left after closeTimeoutMs with ERR_ABORTED, running and queued alike', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 1, closeTimeoutMs: 1 });
    const gate = new Gate();
    const running = orchestrator.run('gate', { shared: gate.shared });
    const queued = [1, 2, 3].map(() => orchestrator.run('gate', { shared: gate.shared }));
    const outcomes = Promise.allSettled([running, ...queued]);
    await gate.waitStarted(1);
    await orchestrator.close();
    for (const outcome of await outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(AbortedError);
    }
    expect(gate.started).toBe(1);
    expect(orchestrator.inFlight).toBe(0);
    expect(orchestrator.queued).toBe(0);
  });

  it('is idempotent: every call returns the same promise, and asyncDispose is close()', async () => {
    const orchestrator = createOrchestrator();
    const first = orchestrator.close();
    expect(orchestrator.close()).toBe(first);
    expect(orchestrator[Symbol.asyncDispose]()).toBe(first);
    await first;
  });

  it('leaves nothing behind: a process that used the orchestrator exits by itself after close()', async () => {
    const { code, signal, output } = await runUntilExit('exit-after-close.mjs');
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(output).toContain('results 3 0 closed');
  });
});
