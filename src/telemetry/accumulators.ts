/**
 * Plain-number accumulators behind the metrics. Recording a task outcome must cost next to
 * nothing (the pool settles tens of thousands of tasks a second), so the hot path only bumps
 * numbers here; the prom-client metric objects read them at scrape time.
 * @internal
 * @module
 */

/** How a run ended, as the `outcome` label says. */
export const OUTCOMES = ['success', 'error', 'aborted', 'timeout', 'crashed', 'rejected'] as const;

/** One value of the `outcome` label. */
export type Outcome = (typeof OUTCOMES)[number];

/** Histogram buckets in seconds, for tasks from 100 µs to minutes. */
export const SECONDS_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
  120, 300,
];

/** Histogram buckets for items per batch. */
export const BATCH_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** Cumulative-on-read histogram: per-bucket counts, sum and count. */
export class HistogramAccumulator {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = new Float64Array(buckets.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const buckets = this.buckets;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= (buckets[i] as number)) {
        (this.counts[i] as number)++;
        return;
      }
    }
  }
}

/** Everything recorded for one task name. */
export class TaskAccumulator {
  readonly outcomes = new Float64Array(OUTCOMES.length);
  readonly errors = new Map<string, number>();
  readonly duration = new HistogramAccumulator(SECONDS_BUCKETS);
  readonly wait = new HistogramAccumulator(SECONDS_BUCKETS);
}

/** Index of an outcome in {@link TaskAccumulator.outcomes}. */
export const OUTCOME_INDEX: Readonly<Record<Outcome, number>> = Object.fromEntries(
  OUTCOMES.map((outcome, index) => [outcome, index]),
) as Record<Outcome, number>;
