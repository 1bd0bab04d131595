/**
 * Issue #17: the dashboard's frames carry the metrics tasks record, equal to /metrics, with
 * windows that add up to exactly what was recorded between frames.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { DashboardFrame, Orchestrator } from 'node-orchestrator';
import { dashboardHarness, nextFrame } from './support/dashboard.js';
import { get, sample } from './support/http.js';
import { createOrchestrator } from './support/orchestrator.js';

const worker = new URL('./fixtures/metric-tasks.mjs', import.meta.url);
const { serve, stream } = dashboardHarness();

function record(orchestrator: Orchestrator, calls: unknown[][]): Promise<unknown> {
  return orchestrator.run('record', { calls });
}

describe('task metrics on the dashboard (#17)', () => {
  it('a frame carries every recorded task metric, equal to /metrics, with the histograms summarized', async () => {
    const orchestrator = createOrchestrator({ worker });
    await record(orchestrator, [
      ['inc', 'tokens_total', 3, { model: 'gpt' }],
      ['inc', 'tokens_total', 2, { model: 'bert' }],
      ['set', 'queue_items', -5],
      ...[0.5, 5, 50, 500].map((size) => ['observe', 'item_size_bytes', size, { kind: 'text' }]),
    ]);
    const server = await serve(orchestrator.registry!);
    const frame = JSON.parse((await get(server, '/dashboard/data')).body) as DashboardFrame;
    const text = (await get(server, '/metrics')).body;
    expect(frame.orchestrator!.taskMetrics).toEqual([
      {
        name: 'item_size_bytes',
        metric: 'orchestrator_item_size_bytes',
        type: 'histogram',
        help: 'Sizes of the items seen, in bytes.',
        series: [
          {
            labels: { kind: 'text' },
            value: 4,
            window: null,
            // Buckets 1, 10, 100: the median (rank 2) is interpolated to the top of (1, 10];
            // p90 and p99 fall above the last bound and read as it.
            observations: {
              total: { count: 4, sum: 555.5, mean: 138.875, p50: 10, p90: 100, p99: 100 },
              window: null,
            },
          },
        ],
      },
      {
        name: 'queue_items',
        metric: 'orchestrator_queue_items',
        type: 'gauge',
        help: 'Items in the fake queue.',
        series: [{ labels: {}, value: -5, window: null }],
      },
      {
        name: 'tokens_total',
        metric: 'orchestrator_tokens_total',
        type: 'counter',
        help: 'Tokens produced, by model.',
        series: [
          { labels: { model: 'bert' }, value: 2, window: null },
          { labels: { model: 'gpt' }, value: 3, window: null },
        ],
      },
    ]);
    expect(sample(text, 'orchestrator_tokens_total{model="gpt"}')).toBe(3);
    expect(sample(text, 'orchestrator_item_size_bytes_sum{kind="text"}')).toBe(555.5);
    expect(sample(text, 'orchestrator_queue_items')).toBe(-5);
  });

  it("shows each orchestrator its own task metrics, and a stream's windows add up to exactly what was recorded", async () => {
    const registry = new Registry();
    const mine = createOrchestrator({ worker, registry, name: 'mine' });
    const theirs = createOrchestrator({ worker, registry, name: 'theirs' });
    await record(theirs, [['inc', 'tokens_total', 1000, { model: 'gpt' }]]);
    await record(mine, [['inc', 'tokens_total', 1, { model: 'gpt' }]]);
    const server = await serve(registry);
    const events = await stream(server, '?interval=250&orchestrator=mine');
    const first = await nextFrame(events);
    expect(first.orchestrator!.taskMetrics.map((m) => [m.name, m.series.map((s) => s.value)])).toEqual([
      ['tokens_total', [1]],
    ]);
    let tokens = 0;
    let observed = 0;
    let sum = 0;
    for (let round = 0; round < 4; round++) {
      await record(mine, [
        ['inc', 'tokens_total', round + 1, { model: 'gpt' }],
        ['observe', 'item_size_bytes', 2 ** round],
      ]);
      // Frames until this round shows: each window counts what came since the frame before.
      for (;;) {
        const frame = await nextFrame(events);
        const metrics = new Map(frame.orchestrator!.taskMetrics.map((m) => [m.name, m]));
        const counter = metrics.get('tokens_total')!.series[0]!;
        const histogram = metrics.get('item_size_bytes')?.series[0];
        tokens += counter.window!;
        observed += histogram?.window ?? 0;
        sum += histogram?.observations?.window?.sum ?? 0;
        expect(counter.value).toBe(1 + tokens);
        if (counter.value === 1 + ((round + 1) * (round + 2)) / 2) break;
      }
    }
    expect({ tokens, observed, sum }).toEqual({ tokens: 10, observed: 4, sum: 15 });
  });
});
