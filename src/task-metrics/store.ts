/**
 * Task metrics on the main thread: one orchestrator's values of the metrics its worker module
 * declares, summed from the samples its threads send, and their registration on the registry.
 * @internal
 * @module
 */
import type { Registry } from 'prom-client';
import type { ControlPortHello, MetricSample, MetricsDelta } from '../pool/protocol.js';
import { OVERFLOW_LABEL, reconcile, type MetricSpec } from './declaration.js';
import { joinTaskFamily, leaveTaskFamily, type TaskFamily } from './families.js';

/** One label set of a task metric: its value (counter, gauge) or its histogram. */
export interface StoredSeries {
  readonly labels: readonly string[];
  /** Counter, gauge: the value; histogram: the observations' sum. */
  value: number;
  /** Histogram: observations per bucket (not cumulative), the last above every bound. */
  readonly counts: Float64Array | undefined;
  /** Histogram: observations. */
  count: number;
}

/** One task metric of one orchestrator. */
export class StoredMetric {
  readonly series = new Map<string, StoredSeries>();

  constructor(
    readonly name: string,
    readonly spec: MetricSpec,
    readonly tasks: readonly string[],
  ) {}

  /** Adds a thread's sample. A sample not of this metric's shape (a changed module) is dropped. */
  add(sample: MetricSample): void {
    const { spec } = this;
    if (sample.labels.length !== spec.labelNames.length) return;
    const counts = sample.counts;
    if (spec.type === 'histogram' && counts?.length !== spec.buckets.length + 1) return;
    const series = this.#find(sample.labels);
    if (spec.type === 'gauge') {
      series.value = sample.set === undefined ? series.value + sample.value : sample.set + sample.value;
    } else {
      series.value += sample.value;
    }
    if (series.counts !== undefined && counts !== undefined) {
      for (let i = 0; i < counts.length; i++) {
        const count = counts[i] ?? 0;
        series.counts[i] = (series.counts[i] as number) + count;
        series.count += count;
      }
    }
  }

  /** The series of `labels`; past `maxSeries` label sets, new ones go to the all-`other` series. */
  #find(labels: readonly string[]): StoredSeries {
    const key = JSON.stringify(labels);
    let series = this.series.get(key);
    if (series !== undefined) return series;
    if (this.series.size >= this.spec.maxSeries) {
      const other = labels.map(() => OVERFLOW_LABEL);
      if (JSON.stringify(other) !== key) return this.#find(other);
    }
    const buckets = this.spec.buckets.length;
    series = { labels, value: 0, counts: buckets > 0 ? new Float64Array(buckets + 1) : undefined, count: 0 };
    this.series.set(key, series);
    return series;
  }
}

/**
 * An orchestrator's task metrics. They are registered when the first thread's hello says what
 * the worker module declares: under the orchestrator's prefix, with its `orchestrator` label
 * when it is named, shared with the other orchestrators of that prefix on the registry.
 */
export class TaskMetricStore {
  readonly metrics = new Map<string, StoredMetric>();
  readonly #families: TaskFamily[] = [];
  #declared = false;
  #disposed = false;

  constructor(
    readonly registry: Registry,
    readonly prefix: string,
    readonly name: string | undefined,
  ) {}

  /**
   * Registers the metrics the module's tasks declare (once: every thread announces the same).
   * @returns what could not be registered, one sentence each: metrics tasks declare unlike each
   *   other (those tasks are refused in the threads), and names the registry already holds
   *   otherwise. Their values are dropped.
   */
  declare(declared: ControlPortHello['metrics']): string[] {
    if (this.#declared || this.#disposed) return [];
    this.#declared = true;
    const problems: string[] = [];
    const { metrics, conflicts } = reconcile(declared);
    for (const message of new Set(conflicts.values())) problems.push(message);
    for (const [name, { spec, tasks }] of metrics) {
      const metric = new StoredMetric(name, spec, tasks);
      const joined = joinTaskFamily(this, metric);
      if (typeof joined === 'string') {
        problems.push(joined);
        continue;
      }
      this.#families.push(joined);
      this.metrics.set(name, metric);
    }
    return problems;
  }

  /** Adds the samples a thread sent with an answer or a chunk. */
  record(delta: MetricsDelta): void {
    for (const sample of delta) this.metrics.get(sample.name)?.add(sample);
  }

  /** Leaves the registry: the last orchestrator exporting a metric unregisters it. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const family of this.#families.splice(0)) leaveTaskFamily(family, this);
    this.metrics.clear();
  }
}
