/**
 * The type of `ctx.metrics`: how a task records its own metrics. Typed by the task's
 * declarations, so a name it did not declare, or a label it did not list, fails to compile in a
 * TypeScript worker module (and throws ERR_INVALID_METRIC at run time in any).
 * @module
 */
import type { MetricDeclaration, MetricDeclarations } from './declaration.js';

/** Label values of one observation, by label name; a label left out is empty (as in Prometheus). */
export type MetricLabels = Readonly<Record<string, string | number>>;

/** Whether `M` lists its metrics by name (a task's declarations), rather than any string. */
type Declared<M> = string extends keyof M ? false : true;

/** The names of `M`'s metrics of the given types. */
type NamesOf<M extends MetricDeclarations, T extends MetricDeclaration['type']> =
  Declared<M> extends true
    ? { [K in keyof M]: M[K]['type'] extends T ? K : never }[keyof M] & string
    : string;

/** The labels metric `K` of `M` takes: those it lists, or none. */
type LabelsOf<M extends MetricDeclarations, K extends keyof M> =
  Declared<M> extends true
    ? M[K] extends { readonly labelNames: readonly (infer L extends string)[] }
      ? string extends L
        ? MetricLabels
        : Readonly<Partial<Record<L, string | number>>>
      : Readonly<Record<string, never>>
    : MetricLabels;

/**
 * Records the task's own metrics, declared with `defineTask(fn, { metrics })`. Values are
 * aggregated in the worker (counters summed, gauges' last value, histograms bucketed) and travel
 * to the main thread with the results the engine sends anyway, so a call costs tens of
 * nanoseconds and sends no message. Every misuse throws {@link InvalidMetricError} here, in the
 * worker: a metric the task did not declare, a method its type has not, a label not in its
 * `labelNames` or a value that is not a string or a finite number, a non-finite value, a
 * negative counter increment.
 */
export interface TaskMetrics<M extends MetricDeclarations = MetricDeclarations> {
  /**
   * Adds `value` to a counter (`value` ≥ 0) or a gauge (any finite `value`).
   * @param name - the metric, as declared.
   * @param value - the amount. @default 1
   * @param labels - the series' label values, of the declared `labelNames`.
   */
  inc<K extends NamesOf<M, 'counter' | 'gauge'>>(name: K, value?: number, labels?: LabelsOf<M, K>): void;
  /** Sets a gauge to `value` (finite). */
  set<K extends NamesOf<M, 'gauge'>>(name: K, value: number, labels?: LabelsOf<M, K>): void;
  /** Counts `value` (finite) in a histogram's bucket, its sum and its count. */
  observe<K extends NamesOf<M, 'histogram'>>(name: K, value: number, labels?: LabelsOf<M, K>): void;
}
