import { afterEach, describe, expect, it } from 'vitest';
import { InvalidConfigError, Orchestrator, type OrchestratorOptions } from 'node-orchestrator';
import { track } from './support/deferred.js';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { edgeWorker } from './support/probe.js';
import { RUN_MODES } from './support/runs.js';

afterEach(closeAll);

/** Well above the largest delay setTimeout honours (2^31 − 1 ms); Node turns such a delay into 1 ms. */
const BEYOND_INT32 = 2 ** 32;

/**
 * Lets real time pass without a main-thread timer: a task spins `ms` of wall-clock time on another
 * thread, and the main thread waits for its answer. A timer that Node clamped to 1 ms, armed before,
 * has fired by then (the event loop woke for it long before the answer came).
 */
async function letRealTimePass(orchestrator: Orchestrator, ms = 20): Promise<void> {
  await orchestrator.run('spin', ms);
  await new Promise((resolve) => setImmediate(resolve));
}

/**
 * The orchestrator, or undefined when the constructor refuses `field` with an InvalidConfigError
 * naming it (the other answer the issue accepts for a delay it cannot honour).
 */
function createOrRefuse(field: string, options: Partial<OrchestratorOptions>): Orchestrator | undefined {
  try {
    return createOrchestrator({ worker: edgeWorker, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).issues.map((issue) => issue.field)).toContain(field);
    return undefined;
  }
}

describe('delays beyond 2^31−1 ms and Infinity (#11.4)', () => {
  it.each(RUN_MODES)(
    '#11.4 %s with timeoutMs above 2^31−1 ms does not time out early',
    async (_kind, options) => {
      const orchestrator = createOrchestrator({ worker: edgeWorker, baseLimit: 2, maxLimit: 2, ...options });
      const gate = new Gate();
      const run = track(orchestrator.run('gate', { shared: gate.shared }, { timeoutMs: BEYOND_INT32 }));
      const first = await Promise.race([
        run.promise.then(
          () => 'settled',
          (error: unknown) => error,
        ),
        gate.waitStarted(1).then(() => 'started'),
      ]);
      if (first !== 'started') {
        // Refusing the value is the other answer the issue accepts: a RangeError naming the option.
        expect(first).toBeInstanceOf(RangeError);
        expect((first as Error).message).toMatch(/timeoutMs/);
        return;
      }
      await letRealTimePass(orchestrator);
      expect(run.settled).toBe(false);
      gate.release();
      await expect(run.promise).resolves.toMatchObject({ released: true });
    },
  );

  it('#11.4 closeTimeoutMs above 2^31−1 ms lets accepted work finish instead of cancelling it at once', async () => {
    const orchestrator = createOrRefuse('closeTimeoutMs', {
      baseLimit: 2,
      maxLimit: 2,
      closeTimeoutMs: BEYOND_INT32,
    });
    if (orchestrator === undefined) return;
    const gate = new Gate();
    const held = track(orchestrator.run('gate', { shared: gate.shared }));
    await gate.waitStarted(1);
    // Accepted before close(): it spins on the other thread while close() waits.
    const elapsed = orchestrator.run('spin', 20);
    const closing = track(orchestrator.close());
    await expect(elapsed).resolves.toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect({ held: held.settled, closing: closing.settled }).toEqual({ held: false, closing: false });
    gate.release();
    await expect(held.promise).resolves.toMatchObject({ released: true });
    await closing.promise;
  });

  it('#11.4 idleTimeoutMs above 2^31−1 ms does not retire an idle thread at once', async () => {
    const orchestrator = createOrRefuse('idleTimeoutMs', {
      minLimit: 1,
      baseLimit: 2,
      maxLimit: 2,
      idleTimeoutMs: BEYOND_INT32,
    });
    if (orchestrator === undefined) return;
    const gate = new Gate();
    const both = [0, 1].map(() => orchestrator.run('gate', { shared: gate.shared }));
    await gate.waitStarted(2);
    expect(orchestrator.threads).toBe(2);
    gate.release();
    await Promise.all(both);
    // One thread spins, the other stays idle meanwhile.
    await letRealTimePass(orchestrator);
    expect(orchestrator.threads).toBe(2);
  });

  it.each(RUN_MODES)(
    '#11.4 cancelGraceMs: Infinity never terminates %s that ignores its abort',
    async (_mode, options) => {
      const orchestrator = createOrchestrator({
        worker: edgeWorker,
        baseLimit: 2,
        maxLimit: 2,
        cancelGraceMs: Number.POSITIVE_INFINITY,
        ...options,
      });
      const gate = new Gate();
      const controller = new AbortController();
      const reason = new Error('cancelled by the test');
      const run = track(
        orchestrator.run('probe', { shared: gate.shared, cooperative: false }, { signal: controller.signal }),
      );
      await gate.waitStarted(1);
      controller.abort(reason);
      await letRealTimePass(orchestrator);
      expect(run.settled).toBe(false);
      // The task was never terminated: released, it returns, and the run rejects with its reason.
      gate.release();
      await expect(run.promise).rejects.toBe(reason);
    },
  );
});
