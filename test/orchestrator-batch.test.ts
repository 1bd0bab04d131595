import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerCrashedError, type MapRecord } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

afterEach(closeAll);

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function sharedCounters(count: number): { buffer: SharedArrayBuffer; cells: Int32Array } {
  const buffer = new SharedArrayBuffer(4 * count);
  return { buffer, cells: new Int32Array(buffer) };
}

function failures(records: readonly MapRecord[]): number[] {
  return records.filter((r) => !r.ok).map((r) => r.index);
}

describe('items of a batch: crashes', () => {
  it('a crash mid-batch keeps every finished result and runs the items that never started once more', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, maxLimit: 1 });
    const runs = sharedCounters(1);
    const inputs = range(300).map((n) => ({ n, crashAt: 250, runs: runs.buffer }));
    const records = await collect(orchestrator.map('countOrExit', inputs, { ordered: true }));
    expect(records.map((r) => r.index)).toEqual(range(300));
    // Only the item that was running when the thread died fails; none ran twice.
    expect(failures(records)).toEqual([250]);
    expect((records[250] as { error: Error }).error).toBeInstanceOf(WorkerCrashedError);
    expect(Atomics.load(runs.cells, 0)).toBe(300);
    expect(records.every((r) => !r.ok || r.value === r.index)).toBe(true);
    expect(orchestrator.inFlight).toBe(0);
  });

  it('an idempotent task runs the items a crash interrupted once more, on a fresh thread', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
    const flag = new SharedArrayBuffer(4);
    const inputs = range(3000).map((n) => ({ n, crashAt: 2000, flag }));
    const records = await collect(orchestrator.map('exitOnceOn', inputs, { ordered: true }));
    expect(Atomics.load(new Int32Array(flag), 0)).toBe(1);
    expect(failures(records)).toEqual([]);
    expect(records.every((r) => r.ok && r.value === r.index)).toBe(true);
  });

  it('a task not marked idempotent loses at most the last small chunk before the crash, never items after it', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
    const flag = new SharedArrayBuffer(4);
    const inputs = range(3000).map((n) => ({ n, crashAt: 2000, flag }));
    const records = await collect(orchestrator.map('exitOnceOnUnsafe', inputs, { ordered: true }));
    const failed = failures(records);
    expect(failed).toContain(2000);
    expect(Math.min(...failed)).toBeGreaterThanOrEqual(2000 - 64);
    expect(Math.max(...failed)).toBe(2000);
    expect(failed).toEqual(range(failed.length).map((i) => (failed[0] ?? 0) + i));
    for (const index of failed) {
      expect((records[index] as { error: Error }).error).toBeInstanceOf(WorkerCrashedError);
    }
  });
});

describe('items of a batch: their own abort state', () => {
  it('an item whose signal aborts before it starts is skipped, with the reason as its error', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, maxLimit: 1 });
    const gate = new Gate();
    const runs = sharedCounters(4);
    const item1 = new AbortController();
    const inputs = range(4).map((n) => ({
      n,
      runs: runs.buffer,
      ...(n === 0 ? { shared: gate.shared } : {}),
    }));
    const iteration = collect(
      orchestrator.map('gateOrEcho', inputs, {
        ordered: true,
        itemSignal: (_input, index) => (index === 1 ? item1.signal : undefined),
      }),
    );
    await gate.waitStarted(1);
    item1.abort(new Error('not item 1'));
    gate.release();
    const records = await iteration;
    expect(records.map((r) => r.ok)).toEqual([true, false, true, true]);
    expect((records[1] as { error: Error }).error.message).toBe('not item 1');
    expect([...runs.cells]).toEqual([1, 0, 1, 1]);
  });

  it('a running item sees its own abort through ctx.throwIfAborted; the other items carry on', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, maxLimit: 1 });
    const gate = new Gate();
    const runs = sharedCounters(3);
    const item0 = new AbortController();
    const inputs = range(3).map((n) => ({
      n,
      runs: runs.buffer,
      ...(n === 0 ? { shared: gate.shared } : {}),
    }));
    const iteration = collect(
      orchestrator.map('gateOrEcho', inputs, {
        ordered: true,
        itemSignal: (_input, index) => (index === 0 ? item0.signal : undefined),
      }),
    );
    await gate.waitStarted(1);
    item0.abort(new Error('stop item 0'));
    const records = await iteration;
    expect(records.map((r) => r.ok)).toEqual([false, true, true]);
    expect((records[0] as { error: Error }).error.message).toBe('stop item 0');
    expect([...runs.cells]).toEqual([1, 1, 1]);
    expect(orchestrator.threads).toBeGreaterThan(0);
  });

  it('an item that ignores its abort loses its thread after the grace; the items that had not started run elsewhere', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, maxLimit: 1, cancelGraceMs: 20 });
    const gate = new Gate();
    const runs = sharedCounters(200);
    const stuck = new AbortController();
    // Item 100 comes after batches have grown, so items after it share its batch.
    const inputs = range(200).map((n) => ({
      n,
      runs: runs.buffer,
      ...(n === 100 ? { shared: gate.shared, cooperative: false } : {}),
    }));
    const iteration = collect(
      orchestrator.map('gateOrEcho', inputs, {
        ordered: true,
        itemSignal: (_input, index) => (index === 100 ? stuck.signal : undefined),
      }),
    );
    await gate.waitStarted(1);
    stuck.abort(new Error('stop item 100'));
    const records = await iteration;
    expect(failures(records)).toEqual([100]);
    expect((records[100] as { error: Error }).error.message).toBe('stop item 100');
    expect([...runs.cells].every((count) => count === 1)).toBe(true);
    expect(orchestrator.inFlight).toBe(0);
  });

  it('returns exactly one record per input for random mixes of successes, failures and aborts (property)', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 300 }),
        fc.boolean(),
        async (count, every, abortEvery, abortAfter, ordered) => {
          const early = new AbortController();
          early.abort(new Error('aborted early'));
          const late = new AbortController();
          const inputs = range(count).map((n) => ({ n, every }));
          const signalOf = (index: number): AbortSignal | undefined => {
            if (abortEvery === 0 || index % abortEvery !== 0) return undefined;
            return index % 2 === 0 ? early.signal : late.signal;
          };
          const records: MapRecord[] = [];
          const map = orchestrator.map('doubleOrFail', inputs, {
            ordered,
            itemSignal: (_input, index) => signalOf(index),
          });
          for await (const record of map) {
            records.push(record);
            if (records.length === abortAfter) late.abort(new Error('aborted late'));
          }
          expect(records.map((r) => r.index).sort((a, b) => a - b)).toEqual(range(count));
          for (const r of records) {
            const signal = signalOf(r.index);
            const fails = every > 0 && r.index % every === 0;
            if (signal === early.signal) expect(r.ok ? 'ok' : r.error.message).toBe('aborted early');
            else if (signal === undefined) expect(r.ok).toBe(!fails);
            else if (!r.ok) expect(['aborted late', `bad item ${r.index}`]).toContain(r.error.message);
          }
        },
      ),
      { numRuns: 25, seed: 11 },
    );
    expect(orchestrator.inFlight).toBe(0);
  });
});

describe('items of a batch: transferables', () => {
  it('typed-array results move without copies, in chunks and in the answer alike', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, maxLimit: 1 });
    // Async items leave in chunks as they finish; sync ones mostly with the answer.
    const inputs = range(200).map((n) => ({ length: 1000 + n, async: n % 2 === 0 }));
    const records = await collect(orchestrator.map('keptBytes', inputs, { ordered: true }));
    records.forEach((record, n) => {
      expect(record.ok).toBe(true);
      const data = (record as { value: Uint8Array }).value;
      expect(data).toBeInstanceOf(Uint8Array);
      expect(data.length).toBe(1000 + n);
      expect(data[0]).toBe((1000 + n) % 256);
    });
    // One thread ran every item, so it still holds every buffer: each must have been moved.
    await expect(orchestrator.run('detachedKept', null)).resolves.toBe(200);
  });
});
