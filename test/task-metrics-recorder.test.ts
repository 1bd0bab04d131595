/**
 * The worker's side of task metrics (#17): observations are aggregated per series and leave the
 * thread as one sample per series with the next result, never one message per observation; only
 * what the finished work recorded leaves.
 */
import { describe, expect, it } from 'vitest';
import { ThreadMetrics } from '../src/task-metrics/recorder.js';
import { defineTask, metricsOf } from '../src/worker/define-task.js';

const declared = {
  tokens_total: { type: 'counter', help: 'Tokens.', labelNames: ['model'], maxSeries: 2 },
  queue_items: { type: 'gauge', help: 'Items.' },
  item_size_bytes: { type: 'histogram', help: 'Sizes.', buckets: [1, 10] },
} as const;

function thread(): ThreadMetrics {
  const metrics = new ThreadMetrics();
  // As the task table hands them over: the declarations defineTask checked, by task.
  metrics.load({ work: metricsOf(defineTask(() => 1, { metrics: declared })) ?? {} });
  return metrics;
}

describe('ThreadMetrics (a pool thread’s task metrics)', () => {
  it('a million observations of one series leave the thread as one sample', () => {
    const metrics = thread();
    const ctx = metrics.forTask('work');
    for (let i = 0; i < 1_000_000; i++) ctx.inc('tokens_total', 2, { model: 'gpt' });
    expect(metrics.ship()).toEqual([
      { name: 'tokens_total', labels: ['gpt'], value: 2_000_000, set: undefined, counts: undefined },
    ]);
    expect(metrics.ship()).toBeUndefined();
  });

  it('only the observations of finished work leave; those of the work still running wait for its end', () => {
    const metrics = thread();
    const ctx = metrics.forTask('work');
    ctx.inc('tokens_total', 1);
    metrics.commit();
    ctx.inc('tokens_total', 2);
    expect(metrics.take()).toEqual([
      { name: 'tokens_total', labels: [''], value: 1, set: undefined, counts: undefined },
    ]);
    expect(metrics.take()).toBeUndefined();
    metrics.commit();
    expect(metrics.take()).toEqual([
      { name: 'tokens_total', labels: [''], value: 2, set: undefined, counts: undefined },
    ]);
  });

  it('a gauge leaves as its last value set plus the increments after it, or as increments alone', () => {
    const metrics = thread();
    const ctx = metrics.forTask('work');
    ctx.inc('queue_items', 9);
    ctx.set('queue_items', 5);
    ctx.inc('queue_items', 2);
    metrics.commit();
    ctx.inc('queue_items', -1);
    metrics.commit();
    expect(metrics.take()).toEqual([
      { name: 'queue_items', labels: [], value: 1, set: 5, counts: undefined },
    ]);
    ctx.inc('queue_items', -4);
    expect(metrics.ship()).toEqual([
      { name: 'queue_items', labels: [], value: -4, set: undefined, counts: undefined },
    ]);
  });

  it('a histogram leaves as counts per bucket (the last above every bound) and the sum', () => {
    const metrics = thread();
    const ctx = metrics.forTask('work');
    for (const value of [0.5, 1, 1.5, 10, 11, 1e9]) ctx.observe('item_size_bytes', value);
    expect(metrics.ship()).toEqual([
      {
        name: 'item_size_bytes',
        labels: [],
        value: 0.5 + 1 + 1.5 + 10 + 11 + 1e9,
        set: undefined,
        counts: [2, 2, 2],
      },
    ]);
  });

  it('a thread keeps at most maxSeries label sets of a metric; later ones go to the series labelled "other"', () => {
    const metrics = thread();
    const ctx = metrics.forTask('work');
    for (const model of ['a', 'b', 'c', 'd', 'a', 'other']) ctx.inc('tokens_total', 1, { model });
    expect(metrics.ship()?.map(({ labels, value }) => [labels, value])).toEqual([
      [['a'], 2],
      [['b'], 1],
      [['other'], 3],
    ]);
  });

  it('a task sees only the metrics it declares', () => {
    expect(() => thread().forTask('other').inc('tokens_total')).toThrow(
      'ctx.metrics.inc("tokens_total"): task "other" declares no such metric; it declares: (none)',
    );
  });
});
