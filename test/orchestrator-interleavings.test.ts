import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Orchestrator } from 'node-orchestrator';
import { describeOp, opArbitrary, Scenario } from './support/mixed-ops.js';
import { edgeWorker } from './support/probe.js';

/*
 * The Orchestrator against real worker threads (#11, "Tests that explore interleavings"): random
 * mixes of runs (alone or coalesced), maps, aborts before submission, while queued or staged and
 * while running, timeouts, crashes, resizes, releases and close(), in an order fc.scheduler
 * chooses. Each mix must settle every run exactly once as its kind says, return inFlight and
 * queued to 0, never run more tasks at once than the highest limit in force (tasks count
 * themselves in shared memory), keep FIFO order within a priority (checked with one slot), and
 * leave no thread after close(). Fixed seeds; a failure prints the seed, the shrunk mix and the
 * order the scheduler chose. The worker's timing is real, so a replay is exact for the mix and the
 * main thread's order, not for the threads' timing.
 */

const configArbitrary = fc.record({
  coalesce: fc.boolean(),
  baseLimit: fc.integer({ min: 1, max: 2 }),
});

describe('Orchestrator: random mixes of operations against real workers (fc.scheduler, property)', () => {
  it('#11 every run settles once as it should, slots return, at most limit run, FIFO within a priority, nothing left after close()', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        configArbitrary,
        fc.array(opArbitrary, { minLength: 1, maxLength: 14, size: 'max' }),
        async (s, config, ops) => {
          const orchestrator = new Orchestrator({
            worker: edgeWorker,
            adaptive: false,
            minLimit: 1,
            baseLimit: config.baseLimit,
            maxLimit: 3,
            closeTimeoutMs: 60_000,
            cancelGraceMs: 60_000,
            batch: config.coalesce ? { maxSize: 4, maxDelayMs: 0 } : undefined,
          });
          const scenario = new Scenario(orchestrator);
          try {
            ops.forEach((op, i) => {
              void s
                .schedule(Promise.resolve(), `#${i} ${describeOp(op)}`)
                .then(() => scenario.execute(i, op));
            });
            await s.waitIdle();
            expect(await scenario.finish()).toEqual([]);
          } finally {
            scenario.releaseAll();
            await orchestrator.close();
          }
        },
      ),
      // A mix that hangs (a run stranded forever) fails its run after `timeout` instead of the
      // whole test; with real threads, shrinking is left off.
      { numRuns: 40, seed: 1104, endOnFailure: true, timeout: 15_000 },
    );
  }, 120_000);
});
