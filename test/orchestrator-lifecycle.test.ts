import { afterEach, describe, expect, it } from 'vitest';
import { Orchestrator, type MapRecord } from 'node-orchestrator';
import { deferred } from './support/deferred.js';
import { runUntilExit } from './support/exit-fixture.js';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator, fixtureWorker } from './support/orchestrator.js';
import { Concurrency, edgeWorker } from './support/probe.js';

afterEach(closeAll);

/** Codes a map item may end with once close() has been called and it did not get to run. */
const CLOSED_CODES = ['ERR_CLOSED', 'ERR_ABORTED'];

/** Records a consumer would read after close(): each settled normally, or ended by the close. */
function endedByClose(record: MapRecord): boolean {
  return record.ok || CLOSED_CODES.includes((record.error as { code?: string }).code ?? '');
}

/** Iterates `records` to the end (or to a rejection by the close), calling `onRecord` for each. */
async function consume(
  records: AsyncIterable<MapRecord>,
  onRecord: (record: MapRecord, count: number) => 'stop' | undefined,
): Promise<{ count: number; error: unknown }> {
  let count = 0;
  try {
    for await (const record of records) {
      count++;
      if (onRecord(record, count) === 'stop') break;
    }
    return { count, error: undefined };
  } catch (error) {
    return { count, error };
  }
}

/** The consumer gives up after this many records; a map that stops at close() never gets near it. */
const SAFETY_CAP = 100_000;

function* infinite(): Generator<{ n: number }> {
  for (let n = 0; ; n++) yield { n };
}

async function* steady(): AsyncGenerator<{ n: number }> {
  for (let n = 0; ; n++) {
    if (n % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    yield { n };
  }
}

describe('the lifecycle covers map() and coalesced batches (#11.1)', () => {
  it('#11.1 a map with a slow async source submits nothing after close(): no item starts and no thread is left', async () => {
    const orchestrator = createOrchestrator({
      worker: edgeWorker,
      baseLimit: 2,
      maxLimit: 2,
      closeTimeoutMs: 200,
    });
    const count = new Concurrency();
    const more = deferred();
    async function* slowSource(): AsyncGenerator<{ n: number; count: SharedArrayBuffer }> {
      for (let n = 0; n < 3; n++) yield { n, count: count.shared };
      await more.promise;
      for (let n = 3; n < 20; n++) {
        await new Promise((resolve) => setImmediate(resolve));
        yield { n, count: count.shared };
      }
    }
    let closing: Promise<void> | undefined;
    const after: MapRecord[] = [];
    const consumed = consume(orchestrator.map('probe', slowSource()), (record, seen) => {
      if (closing !== undefined) after.push(record);
      if (seen === 3) {
        closing = orchestrator.close();
        // The source goes on only once close() has resolved: whatever it yields now is too late.
        void closing.then(() => more.resolve());
      }
      return undefined;
    });
    const { error } = await consumed;
    await closing;
    expect(error === undefined || CLOSED_CODES.includes((error as { code?: string }).code ?? '')).toBe(true);
    expect(after.filter((record) => !endedByClose(record))).toEqual([]);
    expect({ started: count.started, threads: orchestrator.threads }).toEqual({ started: 3, threads: 0 });
  });

  it.each([
    ['an infinite source', infinite, SAFETY_CAP],
    // An async source is slower per item; a fifth of the cap is still far past what a map has in flight.
    ['a steady async source', steady, SAFETY_CAP / 5],
  ] as const)(
    '#11.1 close() resolves while a map over %s is still being consumed, and the map ends',
    async (_source, source, cap) => {
      const orchestrator = createOrchestrator({
        worker: edgeWorker,
        baseLimit: 2,
        maxLimit: 2,
        closeTimeoutMs: 50,
        cancelGraceMs: 50,
      });
      let closing: Promise<void> | undefined;
      let hitCap = false;
      const wrong: MapRecord[] = [];
      const consumed = consume(orchestrator.map('probe', source()), (record, seen) => {
        if (seen === 3) closing = orchestrator.close();
        if (closing !== undefined && !endedByClose(record)) wrong.push(record);
        if (seen < cap) return undefined;
        hitCap = true;
        return 'stop';
      });
      const { error } = await consumed;
      await closing;
      expect({ hitCap, threads: orchestrator.threads }).toEqual({ hitCap: false, threads: 0 });
      expect(wrong.slice(0, 3)).toEqual([]);
      expect(error === undefined || CLOSED_CODES.includes((error as { code?: string }).code ?? '')).toBe(
        true,
      );
    },
  );

  it('#11.1 close() lets the unstarted items of a crashed coalesced batch run again, and leaves no thread', async () => {
    const orchestrator = createOrchestrator({
      worker: edgeWorker,
      baseLimit: 1,
      maxLimit: 1,
      closeTimeoutMs: 60_000,
      batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    const gate = new Gate();
    // One batch: item 0 holds on the gate and then kills its thread; items 1..3 have not started.
    const runs = [
      orchestrator.run('probeThenExit', { n: 0, shared: gate.shared, exit: true }),
      ...[1, 2, 3].map((n) => orchestrator.run('probeThenExit', { n })),
    ];
    const settled = Promise.allSettled(runs);
    await gate.waitStarted(1);
    const closing = orchestrator.close();
    gate.release();
    const outcomes = (await settled).map((r) =>
      r.status === 'fulfilled' ? r.value : (r.reason as { code?: string }).code,
    );
    await closing;
    expect(outcomes).toEqual(['ERR_WORKER_CRASHED', 1, 2, 3]);
    expect(orchestrator.threads).toBe(0);
  });

  it('#11.1 a process that closes during a map over an infinite source exits by itself, with no thread left', async () => {
    const { code, signal, output } = await runUntilExit('map-close-exit.mjs');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(output).toContain('closed before the cap: true');
    expect(output).toContain('threads after close: 0');
    expect(output).toContain('threads after the loop: 0');
  });
});

describe('go() and close() keep the errgroup contract (#11.2)', () => {
  it('#11.2 go() after a go function failed still runs its function, with its signal already aborted; wait() keeps the first error', async () => {
    const orchestrator = createOrchestrator();
    const first = new Error('first failure');
    orchestrator.go('fails', () => {
      throw first;
    });
    await expect(orchestrator.wait()).rejects.toBe(first);
    const seen: { aborted: boolean; run: unknown }[] = [];
    orchestrator.go('later', async (ctx) => {
      const aborted = ctx.signal.aborted;
      const run = await ctx.run('echo', 1).then(
        () => 'ran',
        (error: unknown) => (error as { code?: string }).code,
      );
      seen.push({ aborted, run });
    });
    await expect(orchestrator.wait()).rejects.toBe(first);
    expect(seen).toEqual([{ aborted: true, run: 'ERR_ABORTED' }]);
  });

  it('#11.2 close() is bounded by closeTimeoutMs when a go function ignores its signal', async () => {
    // Not closed after the test: on a build where close() hangs, closing it again would hang the hook too.
    const orchestrator = new Orchestrator({
      worker: fixtureWorker,
      adaptive: false,
      closeTimeoutMs: 20,
      cancelGraceMs: 20,
    });
    const started = deferred();
    orchestrator.go('ignores its signal', () => {
      started.resolve();
      return new Promise(() => {});
    });
    await started.promise;
    // The failure mode is this test's timeout: close() never resolving.
    await orchestrator.close();
    expect(orchestrator.accepting).toBe(false);
  }, 10_000);
});
