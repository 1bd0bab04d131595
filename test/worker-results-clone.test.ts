import { afterEach, describe, expect, it } from 'vitest';
import { DataCloneError } from 'node-orchestrator';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { edgeWorker } from './support/probe.js';
import { rejection, valueOrCode } from './support/runs.js';

afterEach(closeAll);

describe('a result that cannot be cloned fails its own item only (#11.12)', () => {
  it('#11.12 a run whose result cannot be cloned rejects with ERR_DATA_CLONE naming the result, and its thread lives', async () => {
    const orchestrator = createOrchestrator({ worker: edgeWorker, minLimit: 1, baseLimit: 1, maxLimit: 1 });
    const before = await orchestrator.run('threadId', undefined);
    const error = await rejection(orchestrator.run('uncloneableOn', { n: 1, bad: 1 }));
    expect(error).toBeInstanceOf(DataCloneError);
    expect(error.message).toMatch(/uncloneableOn/);
    expect(error.message).toMatch(/result/i);
    expect(await orchestrator.run('threadId', undefined)).toBe(before);
  });

  it('#11.12 in a coalesced batch, the item whose result cannot be cloned fails alone; the others keep their results', async () => {
    const orchestrator = createOrchestrator({
      worker: edgeWorker,
      minLimit: 1,
      baseLimit: 1,
      maxLimit: 1,
      batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    const before = await orchestrator.run('threadId', undefined);
    const runs = [0, 1, 2, 3].map((n) => orchestrator.run('uncloneableOn', { n, bad: 1 }));
    const outcomes = (await Promise.allSettled(runs)).map(valueOrCode);
    expect(outcomes).toEqual([0, 'ERR_DATA_CLONE', 2, 3]);
    expect(await orchestrator.run('threadId', undefined)).toBe(before);
  });

  it('#11.12 in a map, the item whose result cannot be cloned gets an ERR_DATA_CLONE record; the others succeed', async () => {
    const orchestrator = createOrchestrator({ worker: edgeWorker, minLimit: 1, baseLimit: 1, maxLimit: 1 });
    const inputs = Array.from({ length: 40 }, (_, n) => ({ n, bad: 20 }));
    const records: unknown[] = [];
    for await (const record of orchestrator.map('uncloneableOn', inputs, { ordered: true })) {
      records.push(record.ok ? record.value : (record.error as { code?: string }).code);
    }
    expect(records).toEqual(inputs.map(({ n }) => (n === 20 ? 'ERR_DATA_CLONE' : n)));
  });
});
