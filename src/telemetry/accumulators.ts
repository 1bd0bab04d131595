/**
 * Plain-number accumulators behind the metrics. Recording a task outcome must cost next to
 * nothing (the pool settles tens of thousands of tasks a second), so the hot path only bumps
 * numbers here; the prom-client metric objects read them at scrape time.
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

/**
 * An OpenMetrics exemplar: one observation with the labels of the trace it came from, in the
 * shape prom-client gives its own (`labelSet`; `timestamp` in seconds), so either renderer shows it.
 */
export interface Exemplar {
  readonly labelSet: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp: number;
}

/** Cumulative-on-read histogram: per-bucket counts, sum and count, and per-bucket exemplars. */
export class HistogramAccumulator {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /**
   * The latest exemplar of each bucket (index `buckets.length` is +Inf): an observation that
   * lies in that bucket, so a slow bucket links to a slow run's trace. Created on the first one.
   */
  exemplars: (Exemplar | undefined)[] | undefined;

  constructor(readonly buckets: readonly number[]) {
    this.counts = new Float64Array(buckets.length);
  }

  /** Observes `value`; with `exemplar` (a sampled trace's labels) it becomes its bucket's exemplar. */
  observe(value: number, exemplar?: Readonly<Record<string, string>>): void {
    this.sum += value;
    this.count++;
    const buckets = this.buckets;
    let i = 0;
    while (i < buckets.length && value > (buckets[i] as number)) i++;
    if (i < buckets.length) (this.counts[i] as number)++;
    if (exemplar !== undefined) {
      (this.exemplars ??= [])[i] = { labelSet: exemplar, value, timestamp: Date.now() / 1000 };
    }
  }
}

/**
 * The most distinct `type` label values kept per task. The values come from user code (the
 * thrown error's `code` or class), so without a cap a task that puts, say, an id into its error
 * codes would create a new series on every failure.
 */
export const MAX_ERROR_TYPES = 32;

/** The `type` value that counts failures whose type arrived after the cap was reached. */
export const OTHER_ERROR_TYPE = 'other';

/** Everything recorded for one task name. */
export class TaskAccumulator {
  readonly outcomes = new Float64Array(OUTCOMES.length);
  /** Failures by type: at most {@link MAX_ERROR_TYPES} named types, plus {@link OTHER_ERROR_TYPE}. */
  readonly errors = new Map<string, number>();
  readonly duration = new HistogramAccumulator(SECONDS_BUCKETS);
  readonly wait = new HistogramAccumulator(SECONDS_BUCKETS);

  /**
   * Counts one failure of `type`. The first {@link MAX_ERROR_TYPES} distinct types keep their
   * name for good; later new types are counted under {@link OTHER_ERROR_TYPE}, so the series
   * count stays bounded while the totals stay exact.
   */
  recordError(type: string): void {
    const count = this.errors.get(type);
    if (count !== undefined) {
      this.errors.set(type, count + 1);
    } else if (this.errors.size < MAX_ERROR_TYPES) {
      // "other" only enters the map once it is full, so the size counts named types alone. A
      // task that really throws code "other" takes a slot like any type and overflow merges
      // into it: the totals stay right and the series bounded.
      this.errors.set(type, 1);
    } else {
      this.errors.set(OTHER_ERROR_TYPE, (this.errors.get(OTHER_ERROR_TYPE) ?? 0) + 1);
    }
  }
}

/** Index of an outcome in {@link TaskAccumulator.outcomes}. */
export const OUTCOME_INDEX: Readonly<Record<Outcome, number>> = Object.fromEntries(
  OUTCOMES.map((outcome, index) => [outcome, index]),
) as Record<Outcome, number>;
