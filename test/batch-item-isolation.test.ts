import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { edgeWorker } from './support/probe.js';

afterEach(closeAll);

describe('items of one batch are isolated as if each ran alone (#11.17)', () => {
  it('#11.17 coalesced runs given one and the same input object each get their own copy', async () => {
    const orchestrator = createOrchestrator({
      worker: edgeWorker,
      baseLimit: 1,
      maxLimit: 1,
      batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    const data = { n: 1 };
    // One tick, one batch; each run's task writes a mark into its input.
    const seen = await Promise.all([0, 1, 2, 3].map(() => orchestrator.run('markInput', data)));
    expect(seen).toEqual([null, null, null, null]);
    expect(data).toEqual({ n: 1 });
  });

  it('#11.17 a map over a generator that yields the same object every time gives each item its own copy', async () => {
    const orchestrator = createOrchestrator({ worker: edgeWorker, baseLimit: 2, maxLimit: 2 });
    const data = { n: 1 };
    function* sameObject(): Generator<{ n: number }> {
      for (let i = 0; i < 2000; i++) yield data;
    }
    let items = 0;
    let sawAnotherItemsMark = 0;
    for await (const record of orchestrator.map('markInput', sameObject())) {
      items++;
      if (!record.ok || record.value !== null) sawAnotherItemsMark++;
    }
    expect({ items, sawAnotherItemsMark }).toEqual({ items: 2000, sawAnotherItemsMark: 0 });
  });
});
