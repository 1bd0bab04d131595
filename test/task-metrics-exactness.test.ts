/**
 * Issue #17: the values on /metrics equal the observations tasks made, exactly, whichever way
 * the work travelled: single runs, map batches and their chunks, coalesced runs, several
 * threads, and a thread that crashes (its lost work's observations, and only those, are lost).
 */
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { serveMetrics, type MapRecord, type Orchestrator, type OrchestratorOptions } from 'node-orchestrator';
import { parseSamples, samplesOf } from './support/exposition.js';
import { closeServer, get } from './support/http.js';
import { expectedSamples, FIXTURE_METRICS, randomCalls, type MetricCall } from './support/metric-model.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

const worker = new URL('./fixtures/metric-tasks.mjs', import.meta.url);
const TWO_THREADS = { worker, baseLimit: 2, minLimit: 2, maxLimit: 2 } as const;
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
  await closeAll();
});

function orchestrate(options: Partial<OrchestratorOptions> = {}): Orchestrator {
  return createOrchestrator({ ...TWO_THREADS, ...options });
}

/** The fixture's task metrics as GET /metrics shows them. */
async function scraped(orchestrator: Orchestrator): Promise<Map<string, number>> {
  const server = await serveMetrics({ registry: orchestrator.registry!, port: 0 });
  servers.push(server);
  const { body } = await get(server, '/metrics');
  return samplesOf(parseSamples(body), FIXTURE_METRICS);
}

async function collect<T>(records: AsyncIterable<MapRecord<T>>): Promise<MapRecord<T>[]> {
  const all: MapRecord<T>[] = [];
  for await (const record of records) all.push(record);
  return all.sort((a, b) => a.index - b.index);
}

describe('task metrics on /metrics equal the observations (#17)', () => {
  it('single runs on two threads', async () => {
    const orchestrator = orchestrate();
    const inputs = randomCalls(1, 600);
    await Promise.all(inputs.map((calls) => orchestrator.run('record', { calls })));
    expect(await scraped(orchestrator)).toEqual(expectedSamples(inputs));
  });

  it('map: many batches, each sending its results in chunks, across two threads', async () => {
    const orchestrator = orchestrate();
    const inputs = randomCalls(2, 6000);
    const records = await collect(
      orchestrator.map(
        'record',
        inputs.map((calls) => ({ calls })),
      ),
    );
    expect(records.filter((record) => !record.ok)).toEqual([]);
    expect(await scraped(orchestrator)).toEqual(expectedSamples(inputs));
  });

  it('map with async items, whose chunks leave while an item is still running', async () => {
    const orchestrator = orchestrate();
    const inputs = randomCalls(3, 400);
    // Half of each item's calls before its first await, half after; one item in three is synchronous.
    const items = inputs.map((calls, i) => ({
      calls: calls.slice(0, 2),
      after: calls.slice(2),
      sync: i % 3 > 0,
    }));
    const records = await collect(orchestrator.map('recordAsync', items));
    expect(records.filter((record) => !record.ok)).toEqual([]);
    expect(await scraped(orchestrator)).toEqual(expectedSamples(inputs));
  });

  it('coalesced run() calls, several to a batch', async () => {
    const orchestrator = orchestrate({ batch: { maxSize: 16, maxDelayMs: 2, maxBatchMs: Infinity } });
    const inputs = randomCalls(4, 800);
    await Promise.all(inputs.map((calls) => orchestrator.run('record', { calls })));
    expect(await scraped(orchestrator)).toEqual(expectedSamples(inputs));
  });

  it('a thread that crashes loses the observations of exactly the items whose results it loses', async () => {
    const orchestrator = orchestrate();
    const inputs = randomCalls(5, 3000);
    // Every 500th item records under model "crashed", then exits its thread: it, and the items
    // before it whose results had not left yet, fail as crashed; those after it run again.
    const crashing = (i: number): boolean => i % 500 === 250;
    const lost: MetricCall = ['inc', 'tokens_total', 1000, { model: 'crashed' }];
    const items = inputs.map((calls, i) =>
      crashing(i) ? { calls: [...calls, lost], exit: true } : { calls },
    );
    const records = await collect(orchestrator.map('record', items));
    const failed = records.filter((record) => !record.ok);
    expect(failed.length).toBeGreaterThanOrEqual(6);
    for (const record of failed) expect(record).toMatchObject({ error: { code: 'ERR_WORKER_CRASHED' } });
    const shown = await scraped(orchestrator);
    expect(shown.has('orchestrator_tokens_total{model="crashed"}')).toBe(false);
    expect(shown).toEqual(expectedSamples(inputs.filter((_, i) => records[i]!.ok)));
  });

  it('an async item that crashes after its first await loses its own observations, not those of the items sent while it waited', async () => {
    const orchestrator = orchestrate();
    const inputs = randomCalls(6, 2000);
    // Synchronous items, and every 200th an async one that records under model "crashed" and
    // exits after its first await: the chunk of the items before it leaves while it waits.
    const lost: MetricCall = ['inc', 'tokens_total', 1000, { model: 'crashed' }];
    const items = inputs.map((calls, i) =>
      i % 200 === 100 ? { calls: [lost], exit: true } : { calls, sync: true },
    );
    const records = await collect(orchestrator.map('recordAsync', items));
    expect(records.filter((record) => !record.ok).map((record) => record.index)).toEqual(
      Array.from({ length: 10 }, (_, i) => 100 + i * 200),
    );
    const shown = await scraped(orchestrator);
    expect(shown.has('orchestrator_tokens_total{model="crashed"}')).toBe(false);
    expect(shown).toEqual(expectedSamples(inputs.filter((_, i) => records[i]!.ok)));
  });
});
