import { afterEach, describe, expect, it } from 'vitest';
import type { MapRecord } from 'node-orchestrator';
import { holdBothThreads } from './support/hold.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { until } from './support/poll.js';
import { edgeWorker, StartLog } from './support/probe.js';

afterEach(closeAll);

/** Submitted in this order while both threads are held: [label, priority]. */
const PLAN: readonly [number, number][] = [
  [101, 10],
  [102, 10],
  [201, 5],
  [301, 0],
  [202, 5],
  [302, 0],
  [103, 10],
  [203, 5],
];

/** Priority first, then submission order within a priority. */
const EXPECTED = [101, 102, 103, 201, 202, 203, 301, 302];

describe('priority and FIFO order hold through staging (#11.6)', () => {
  it.each([
    ['runs with a signal each', {}, { signal: new AbortController().signal }],
    ['coalesced runs', { batch: { maxSize: 1, maxDelayMs: 0, maxBatchMs: Infinity } }, {}],
  ])(
    '#11.6 %s start in priority order, FIFO within a priority, however many are staged',
    async (_kind, options, runOptions) => {
      const orchestrator = createOrchestrator({
        worker: edgeWorker,
        baseLimit: 2,
        maxLimit: 2,
        closeTimeoutMs: 100,
        ...options,
      });
      const { first, second, held } = await holdBothThreads(orchestrator, {
        signal: new AbortController().signal,
      });
      const log = new StartLog();
      const runs = PLAN.map(([n, priority]) =>
        orchestrator.run('probe', { n, order: log.shared }, { ...runOptions, priority }),
      );
      first.release();
      await Promise.all(runs);
      expect(log.entries()).toEqual(EXPECTED);
      second.release();
      await held;
    },
  );

  it('#11.6 the batches of a map start in input order, however many are staged', async () => {
    const orchestrator = createOrchestrator({
      worker: edgeWorker,
      baseLimit: 2,
      maxLimit: 2,
      closeTimeoutMs: 100,
    });
    const { first, second, held } = await holdBothThreads(orchestrator, {
      signal: new AbortController().signal,
    });
    const log = new StartLog();
    const inputs = Array.from({ length: 8 }, (_, n) => ({ n, order: log.shared }));
    const records: MapRecord[] = [];
    const consumed = (async () => {
      for await (const record of orchestrator.map('probe', inputs, { batchSize: 1 })) records.push(record);
    })();
    // The map has filled its window: its batches wait behind the held threads.
    await until(() => orchestrator.inFlight + orchestrator.queued >= 2 + 6);
    first.release();
    await consumed;
    expect(records.every((record) => record.ok)).toBe(true);
    expect(log.entries()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    second.release();
    await held;
  });
});
