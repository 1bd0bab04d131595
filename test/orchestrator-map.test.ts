import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerCrashedError, type MapRecord } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { deferred } from './support/deferred.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

afterEach(closeAll);

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function* numbers(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

describe('Orchestrator.map', () => {
  it('yields one record per input, in input order when ordered', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
    const records = await collect(
      orchestrator.map(
        'add',
        (function* () {
          for (let i = 0; i < 5000; i++) yield { a: i, b: 1 };
        })(),
        { ordered: true },
      ),
    );
    expect(records.map((r) => r.index)).toEqual([...numbers(5000)]);
    expect(records.every((r) => r.ok && r.value === r.index + 1)).toBe(true);
    expect(orchestrator.inFlight).toBe(0);
  });

  it('unordered, still yields every index exactly once; async iterables work too', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
    async function* source(): AsyncGenerator<number> {
      for (let i = 0; i < 3000; i++) yield await Promise.resolve(i);
    }
    const records = await collect(orchestrator.map('echo', source()));
    expect(records.map((r) => r.index).sort((a, b) => a - b)).toEqual([...numbers(3000)]);
    expect(records.every((r) => r.ok && r.value === r.index)).toBe(true);
  });

  it('gives a failed item its own error record and carries on with the others', async () => {
    const orchestrator = createOrchestrator();
    const inputs = [...numbers(100)].map((n) => ({ n, every: 7 }));
    const records = await collect(orchestrator.map('doubleOrFail', inputs, { ordered: true }));
    for (const record of records) {
      if (record.index % 7 === 0) {
        expect(record.ok).toBe(false);
        expect((record as { error: Error }).error).toMatchObject({
          code: 'ERR_TASK_FAILED',
          message: `bad item ${record.index}`,
        });
      } else expect(record).toEqual({ index: record.index, ok: true, value: record.index * 2 });
    }
    const body = await orchestrator.registry!.metrics();
    expect(body).toContain('orchestrator_tasks_total{task="doubleOrFail",outcome="error"} 15');
    expect(body).toContain('orchestrator_tasks_total{task="doubleOrFail",outcome="success"} 85');
    expect(body).toMatch(/orchestrator_batch_size_count \d+/);
  });

  it('failFast rejects with the first failed item and leaves nothing running', async () => {
    const orchestrator = createOrchestrator();
    const inputs = [...numbers(1000)].map((n) => ({ n, every: 500 }));
    await expect(collect(orchestrator.map('doubleOrFail', inputs, { failFast: true }))).rejects.toThrow(
      /bad item (0|500)/,
    );
    expect(orchestrator.inFlight).toBe(0);
    expect(orchestrator.queued).toBe(0);
  });

  it('pulls inputs only as results are consumed (a bounded window ahead)', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 1 });
    let pulled = 0;
    function* counting(): Generator<number> {
      for (let i = 0; i < 1_000_000; i++) {
        pulled++;
        yield i;
      }
    }
    const iterator = orchestrator.map('echo', counting(), { batchSize: 8 })[Symbol.asyncIterator]();
    await iterator.next();
    const afterFirst = pulled;
    // Nobody consumes now: nothing more may be pulled however long we wait for the pool to go idle.
    while (orchestrator.inFlight > 0) await new Promise((resolve) => setImmediate(resolve));
    expect(pulled).toBe(afterFirst);
    expect(pulled).toBeLessThanOrEqual(8 * (2 * 1 + 2));
    await iterator.return(undefined);
    expect(orchestrator.inFlight).toBe(0);
  });

  it('a stalled async source does not hold back results already in, nor a batch waiting to fill', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
    const more = deferred();
    async function* source(): AsyncGenerator<number> {
      yield* [0, 1, 2];
      // Only comes after the consumer has seen all three results: a map that waited for a
      // fuller batch or window would never get here.
      await more.promise;
      yield 3;
    }
    const seen: number[] = [];
    for await (const record of orchestrator.map('echo', source(), { ordered: true })) {
      seen.push(record.index);
      if (seen.length === 3) more.resolve();
    }
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('breaking out of the loop cancels the batches in flight and releases every slot', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
    let seen = 0;
    for await (const record of orchestrator.map('echo', numbers(1_000_000))) {
      expect(record.ok).toBe(true);
      if (++seen === 50) break;
    }
    expect(orchestrator.inFlight).toBe(0);
    expect(orchestrator.queued).toBe(0);
  });

  it('aborting the signal stops running batches and rejects the iteration with the reason', async () => {
    const orchestrator = createOrchestrator({
      baseLimit: 1,
      minLimit: 1,
      maxLimit: 1,
      cancelGraceMs: 60_000,
    });
    const gate = new Gate();
    const controller = new AbortController();
    const iteration = collect(
      orchestrator.map('gate', [{ shared: gate.shared }, { shared: gate.shared }], {
        signal: controller.signal,
      }),
    );
    await gate.waitStarted(1);
    controller.abort(new Error('stop the map'));
    await expect(iteration).rejects.toThrow('stop the map');
    expect(gate.started).toBe(1);
    expect(orchestrator.inFlight).toBe(0);
  });

  it('a crash fails the items of that batch with ERR_WORKER_CRASHED; other batches are kept', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
    const inputs = [...numbers(200)].map((n) => ({ n, crashAt: 150 }));
    const records = await collect(orchestrator.map('exitOn', inputs, { ordered: true, batchSize: 16 }));
    expect(records).toHaveLength(200);
    const crashed = records.filter((r) => !r.ok);
    expect(crashed.length).toBeGreaterThan(0);
    expect(crashed.length).toBeLessThanOrEqual(16);
    expect(crashed.every((r) => (r as { error: Error }).error instanceof WorkerCrashedError)).toBe(true);
    expect(crashed.some((r) => r.index === 150)).toBe(true);
    expect(records.filter((r) => r.ok).every((r) => (r as { value: number }).value === r.index)).toBe(true);
  });

  it('returns exactly one record per input for random mixes of successes and failures (property)', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 9 }),
        fc.boolean(),
        async (count, every, ordered) => {
          const inputs = [...numbers(count)].map((n) => ({ n, every }));
          const records: MapRecord[] = await collect(orchestrator.map('doubleOrFail', inputs, { ordered }));
          const indexes = records.map((r) => r.index).sort((a, b) => a - b);
          expect(indexes).toEqual([...numbers(count)]);
          for (const r of records) expect(r.ok).toBe(!(every > 0 && r.index % every === 0));
        },
      ),
      { numRuns: 25, seed: 7 },
    );
    expect(orchestrator.inFlight).toBe(0);
  });

  it('names bad arguments', async () => {
    const orchestrator = createOrchestrator();
    await expect(orchestrator.map('echo', 42 as never).next()).rejects.toThrow(/inputs must be an iterable/);
    await expect(orchestrator.map('echo', [], { batchSize: 0 }).next()).rejects.toThrow(
      /batchSize must be an integer >= 1, got 0/,
    );
  });
});
