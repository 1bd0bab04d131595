import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { buildFrame } from '../src/telemetry/dashboard/frame.js';
import {
  counterDelta,
  histogramDelta,
  histogramQuantile,
  mergeHistograms,
} from '../src/telemetry/dashboard/quantile.js';
import { readRegistry, type CumulativeHistogram, type Reading } from '../src/telemetry/dashboard/reading.js';

/** Metrics named like an orchestrator's under prefix `p_`, kept with prom-client itself. */
function lookalike(buckets: number[]): { registry: Registry; observe: (values: number[]) => void } {
  const registry = new Registry();
  new Gauge({ name: 'p_concurrency_limit', help: 'limit', registers: [registry] }).set(1);
  const tasks = new Counter({
    name: 'p_tasks_total',
    help: 'runs',
    labelNames: ['task', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'p_task_duration_seconds',
    help: 'run time',
    labelNames: ['task'],
    buckets,
    registers: [registry],
  });
  return {
    registry,
    observe: (values) => {
      for (const value of values) {
        tasks.inc({ task: 't', outcome: 'success' });
        duration.observe({ task: 't' }, value);
      }
    },
  };
}

/** The one task's duration histogram in a reading of {@link lookalike}; none before any run. */
function durationOf(reading: Reading): CumulativeHistogram | undefined {
  return [...reading.orchestrators[0]!.series.values()][0]?.duration;
}

/** Index of the bucket (le ≥ value) holding `value`; `bounds.length` for +Inf. */
function bucketOf(value: number, bounds: readonly number[]): number {
  const i = bounds.findIndex((le) => value <= le);
  return i < 0 ? bounds.length : i;
}

/** Bucket bounds as a real layout has them: increasing by at least 20% each. */
const boundsArb = fc
  .tuple(
    fc.double({ min: 1e-4, max: 1, noNaN: true }),
    fc.array(fc.double({ min: 1.2, max: 10, noNaN: true }), { minLength: 0, maxLength: 14 }),
  )
  .map(([first, factors]) => factors.reduce((bounds, f) => [...bounds, bounds.at(-1)! * f], [first]));

const valuesArb = (min: number): fc.Arbitrary<number[]> =>
  fc.array(fc.double({ min: 1e-6, max: 5000, noNaN: true }), { minLength: min, maxLength: 200 });

describe('dashboard quantiles', () => {
  it('puts each window quantile in the bucket of the true quantile of that window’s observations', async () => {
    await fc.assert(
      fc.asyncProperty(
        boundsArb,
        valuesArb(0),
        valuesArb(1),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        async (bounds, before, during, q) => {
          const { registry, observe } = lookalike(bounds);
          observe(before);
          const previous = await readRegistry(registry, () => 1000);
          observe(during);
          const current = await readRegistry(registry, () => 3000);
          const frame = buildFrame(current, previous, {});
          const window = frame.orchestrator!.window!;
          expect(frame.seconds).toBe(2);
          expect(window.outcomes['success']).toBe(during.length);
          expect(window.duration.count).toBe(during.length);
          const mean = during.reduce((sum, v) => sum + v, 0) / during.length;
          expect(Math.abs(window.duration.mean! - mean)).toBeLessThanOrEqual(1e-9 * Math.max(1, mean));
          expect(frame.orchestrator!.total.duration.count).toBe(before.length + during.length);
          const sorted = [...during].sort((a, b) => a - b);
          const delta = histogramDelta(durationOf(current)!, durationOf(previous));
          const estimates: [number, number | null][] = [
            [0.5, window.duration.p50],
            [0.9, window.duration.p90],
            [0.99, window.duration.p99],
            [q, histogramQuantile(q, delta)],
          ];
          for (const [quantile, estimate] of estimates) {
            const truth = sorted[Math.ceil(quantile * sorted.length) - 1]!;
            const bucket = bucketOf(truth, bounds);
            if (bucket === bounds.length) {
              // Beyond the last finite bound: the estimate is that bound, a lower bound of the truth.
              expect(estimate).toBe(bounds.at(-1));
            } else {
              expect(bucketOf(estimate!, bounds)).toBe(bucket);
              expect(estimate!).toBeGreaterThan(bucket === 0 ? 0 : bounds[bucket - 1]!);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('interpolates linearly within the bucket, as Prometheus’s histogram_quantile does', () => {
    // Four observations in (0, 1 ms], four in (1 ms, 2.5 ms]: the median sits at the 1 ms bound,
    // the 75th percentile halfway up the second bucket.
    const histogram = { le: [0.001, 0.0025, Infinity], cumulative: [4, 8, 8], sum: 0.01 };
    expect(histogramQuantile(0.5, histogram)).toBeCloseTo(0.001, 12);
    expect(histogramQuantile(0.75, histogram)).toBeCloseTo(0.00175, 12);
    expect(histogramQuantile(0.5, { le: [1, Infinity], cumulative: [0, 3], sum: 9 })).toBe(1);
    expect(histogramQuantile(0.5, { le: [1, Infinity], cumulative: [0, 0], sum: 0 })).toBeNull();
  });

  it('reads a series that went down as reset: its window is everything it holds now', () => {
    expect(counterDelta({ a: 2, b: 7 }, { a: 5, b: 1 })).toEqual({ a: 2, b: 7 });
    expect(counterDelta({ a: 6, b: 3 }, { a: 5 })).toEqual({ a: 1, b: 3 });
    const now = { le: [1, Infinity], cumulative: [1, 2], sum: 3 };
    expect(histogramDelta(now, { le: [1, Infinity], cumulative: [4, 5], sum: 9 })).toBe(now);
    expect(histogramDelta(now, { le: [1, Infinity], cumulative: [1, 1], sum: 1 })).toEqual({
      le: [1, Infinity],
      cumulative: [0, 1],
      sum: 2,
    });
  });

  it('merges histograms of different layouts on the union of their bounds, losing no observation', () => {
    const merged = mergeHistograms([
      { le: [1, 5, Infinity], cumulative: [2, 3, 4], sum: 10 },
      { le: [2, Infinity], cumulative: [1, 6], sum: 20 },
    ])!;
    expect(merged.le).toEqual([1, 2, 5, Infinity]);
    // At 2 the first counts what it holds at 1; at 1 the second holds nothing yet.
    expect(merged.cumulative).toEqual([2, 3, 4, 10]);
    expect(merged.sum).toBe(30);
  });
});
