import { afterEach, describe, expect, it } from 'vitest';
import { track } from './support/deferred.js';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { edgeWorker } from './support/probe.js';

afterEach(closeAll);

/**
 * One orchestrator whose `run()` calls of one tick travel in one batch. A long grace keeps the
 * grace timer out of the way: nothing but the delivery of results can settle an item here.
 */
function coalescing() {
  return createOrchestrator({
    worker: edgeWorker,
    baseLimit: 1,
    maxLimit: 1,
    cancelGraceMs: 60_000,
    closeTimeoutMs: 100,
    batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: Infinity },
  });
}

describe('batch results reach the main thread as they finish (#11.8)', () => {
  it.each([
    // A synchronous task: the second run has a signal of its own, so the worker sends what is
    // finished before it starts it.
    ['probe', { signal: new AbortController().signal }],
    // An async task: its result leaves as soon as it settles.
    ['probeAsync', {}],
  ])(
    '#11.8 a coalesced run of %s resolves while a later run of its batch is still running',
    async (task, secondOptions) => {
      const orchestrator = coalescing();
      const gate = new Gate();
      const first = orchestrator.run(task, { n: 1 });
      const second = track(orchestrator.run(task, { n: 2, shared: gate.shared }, secondOptions));
      second.promise.catch(() => undefined);
      await gate.waitStarted(1);
      // The failure mode is this test's timeout: the first result held back until the batch ends.
      await expect(first).resolves.toBe(1);
      expect(second.settled).toBe(false);
      gate.release();
      await expect(second.promise).resolves.toBe(2);
    },
    10_000,
  );

  it('#11.8 a cancelled coalesced run rejects once its task has stopped, while the rest of its batch runs', async () => {
    const orchestrator = coalescing();
    const firstGate = new Gate();
    const secondGate = new Gate();
    const controller = new AbortController();
    const reason = new Error('cancel the first');
    const first = orchestrator.run(
      'probe',
      { n: 1, shared: firstGate.shared },
      { signal: controller.signal },
    );
    // It may reject before the assertion below is reached; that is the point, not an unhandled error.
    first.catch(() => undefined);
    const second = track(
      orchestrator.run(
        'probe',
        { n: 2, shared: secondGate.shared },
        { signal: new AbortController().signal },
      ),
    );
    second.promise.catch(() => undefined);
    await firstGate.waitStarted(1);
    controller.abort(reason);
    // The first stops at its next throwIfAborted, and the second starts: the first has stopped.
    await secondGate.waitStarted(1);
    await expect(first).rejects.toBe(reason);
    expect(second.settled).toBe(false);
    secondGate.release();
    await expect(second.promise).resolves.toBe(2);
  }, 10_000);
});

describe('a thrown batch item flushes like one that succeeds (#11.9)', () => {
  it('#11.9 300 coalesced runs that throw, then one that crashes the thread: at most the last unsent chunk is lost', async () => {
    const orchestrator = createOrchestrator({
      worker: edgeWorker,
      baseLimit: 1,
      maxLimit: 1,
      batch: { maxSize: 512, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    // One tick, one batch: items 0..299 throw, item 300 exits the thread.
    const runs = Array.from({ length: 301 }, (_, n) => orchestrator.run('failOrExit', { n, exitAt: 300 }));
    const codes = (await Promise.allSettled(runs)).map((r) =>
      r.status === 'rejected' ? (r.reason as { code?: string }).code : 'resolved',
    );
    expect(codes[300]).toBe('ERR_WORKER_CRASHED');
    const thrown = codes.slice(0, 300);
    const failed = thrown.filter((code) => code === 'ERR_TASK_FAILED').length;
    expect(thrown.filter((code) => code !== 'ERR_TASK_FAILED' && code !== 'ERR_WORKER_CRASHED')).toEqual([]);
    // The README's bound: a chunk leaves every 64 items (or 1 ms), so at most 64 results die with the thread.
    expect(failed).toBeGreaterThanOrEqual(300 - 64);
  });
});
