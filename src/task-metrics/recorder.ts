/**
 * Task metrics in a pool thread: `ctx.metrics`, and the aggregate of everything the thread
 * records until it sends it with an answer or a batch chunk.
 *
 * Two levels keep what travels exact: an observation goes into its series' *live* part, which
 * belongs to the work running now; when a run or a batch item ends, {@link ThreadMetrics.commit}
 * moves it to the *pending* part, and {@link ThreadMetrics.take} sends only that. So a chunk
 * sent while an item is still running carries the finished items' observations and none of the
 * running one's, and a thread that crashes loses exactly the observations of the work whose
 * results it loses.
 * @internal
 * @module
 */
import { InvalidMetricError } from '../errors.js';
import { describe } from '../internal/validate.js';
import type { ControlPortHello, MetricSample, MetricsDelta } from '../pool/protocol.js';
import { OVERFLOW_LABEL, reconcile, type MetricSpec, type ReconciledMetrics } from './declaration.js';
import type { MetricLabels, TaskMetrics } from './task-metrics.js';

/** One label set of one metric, in this thread. */
class Series {
  /** Live: what the running work recorded. Counter and histogram: a sum; gauge: increments since `liveSet`. */
  live = 0;
  liveSet = 0;
  hasLiveSet = false;
  liveTouched = false;
  /** Pending: committed, not yet sent. */
  value = 0;
  set = 0;
  hasSet = false;
  pendingTouched = false;
  readonly liveCounts: Float64Array | undefined;
  readonly counts: Float64Array | undefined;

  constructor(
    readonly name: string,
    readonly labels: readonly string[],
    buckets: number,
  ) {
    // One count per bucket, and one for the values above every bound.
    this.liveCounts = buckets > 0 ? new Float64Array(buckets + 1) : undefined;
    this.counts = buckets > 0 ? new Float64Array(buckets + 1) : undefined;
  }
}

/** One metric in this thread: its series, at most `maxSeries` of them plus the overflow. */
class MetricState {
  readonly #labelIndex: ReadonlySet<string>;
  readonly #series = new Map<string, Series>();
  #unlabelled: Series | undefined;

  constructor(
    readonly name: string,
    readonly spec: MetricSpec,
  ) {
    this.#labelIndex = new Set(spec.labelNames);
  }

  /** The series of `labels`, checked against the declared label names. */
  series(given: MetricLabels | undefined, method: string): Series {
    if (given === undefined) return (this.#unlabelled ??= this.#find(this.spec.labelNames.map(() => '')));
    // Plain JavaScript may pass anything.
    const labels = given as unknown;
    if (typeof labels !== 'object' || labels === null)
      throw this.#invalid(method, `labels must be an object of label values, got ${describe(labels)}`);
    for (const key in labels) {
      if (!this.#labelIndex.has(key)) {
        const declared = this.spec.labelNames.join(', ') || '(none)';
        throw this.#invalid(method, `label "${key}" is not declared; its labels are: ${declared}`);
      }
    }
    // The key is built without an array: this runs at every labelled observation.
    const names = this.spec.labelNames;
    let key = '';
    for (const name of names) {
      const text = this.#text(labels as Record<string, unknown>, name, method);
      key += names.length === 1 ? text : `${text.length}:${text}`;
    }
    return (
      this.#series.get(key) ??
      this.#find(names.map((name) => this.#text(labels as Record<string, unknown>, name, method)))
    );
  }

  /** A label's value as a string (`''` when it is not given). */
  #text(labels: Record<string, unknown>, label: string, method: string): string {
    const value = labels[label];
    if (typeof value === 'string') return value;
    if (value === undefined) return '';
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    throw this.#invalid(
      method,
      `label "${label}" must be a string or a finite number, got ${describe(value)}`,
    );
  }

  #find(values: string[]): Series {
    const key = values.length === 1 ? (values[0] as string) : values.map((v) => `${v.length}:${v}`).join('');
    let series = this.#series.get(key);
    if (series !== undefined) return series;
    if (this.#series.size >= this.spec.maxSeries) {
      const other = this.spec.labelNames.map(() => OVERFLOW_LABEL);
      if (other.join() !== values.join()) return this.#find(other);
    }
    series = new Series(this.name, values, this.spec.buckets.length);
    this.#series.set(key, series);
    return series;
  }

  #invalid(method: string, detail: string): InvalidMetricError {
    return new InvalidMetricError(`ctx.metrics.${method}("${this.name}"): ${detail}`);
  }
}

/** Every task metric of this thread, and what is waiting to be sent. */
export class ThreadMetrics {
  /** What each task declares; tasks without metrics are left out. */
  #declared: ControlPortHello['metrics'] = {};
  #conflicts: ReconciledMetrics['conflicts'] = new Map();
  #announced = false;
  readonly #states = new Map<string, MetricState>();
  readonly #views = new Map<string, TaskMetrics>();
  /** Series the running work touched since the last commit. */
  readonly #live: Series[] = [];
  /** Series with committed values not yet sent. */
  readonly #pending: Series[] = [];

  /**
   * Learns the tasks' declarations, once the worker modules have loaded (no task runs before).
   * @param declared - what each task declares, by the name callers use (the task table's).
   */
  load(declared: ControlPortHello['metrics']): void {
    this.#declared = declared;
    const reconciled = reconcile(declared);
    this.#conflicts = reconciled.conflicts;
    for (const [name, { spec }] of reconciled.metrics) this.#states.set(name, new MetricState(name, spec));
  }

  /**
   * The declarations, the first time an answer carries samples (`delta`), else undefined: an
   * answer may reach the main thread before the hello, which must not delay counting it.
   */
  announce(delta: MetricsDelta | undefined): ControlPortHello['metrics'] | undefined {
    if (delta === undefined || this.#announced) return undefined;
    this.#announced = true;
    return this.#declared;
  }

  /** Why task `task` may not run: it declares a metric unlike another task does; else undefined. */
  conflict(task: string): string | undefined {
    return this.#conflicts.size === 0 ? undefined : this.#conflicts.get(task);
  }

  /** `ctx.metrics` of task `task`: the metrics it declares. */
  forTask(task: string): TaskMetrics {
    let view = this.#views.get(task);
    if (view === undefined) {
      const own = new Map<string, MetricState>();
      for (const name of Object.keys(this.#declared[task] ?? {})) {
        const state = this.#states.get(name);
        if (state !== undefined) own.set(name, state);
      }
      view = new TaskMetricsView(task, own, this.#live);
      this.#views.set(task, view);
    }
    return view;
  }

  /** The running work has ended (its result is about to leave): what it recorded may travel now. */
  commit(): void {
    const live = this.#live;
    for (const series of live) {
      series.liveTouched = false;
      if (series.hasLiveSet) {
        series.set = series.liveSet;
        series.hasSet = true;
        series.value = series.live;
        series.hasLiveSet = false;
      } else {
        series.value += series.live;
      }
      series.live = 0;
      const { liveCounts, counts } = series;
      if (liveCounts !== undefined && counts !== undefined) {
        for (let i = 0; i < liveCounts.length; i++) {
          counts[i] = (counts[i] as number) + (liveCounts[i] as number);
          liveCounts[i] = 0;
        }
      }
      if (!series.pendingTouched) {
        series.pendingTouched = true;
        this.#pending.push(series);
      }
    }
    live.length = 0;
  }

  /** The work has ended and its result leaves now: what it recorded, and anything pending. */
  ship(): MetricsDelta | undefined {
    this.commit();
    return this.take();
  }

  /** The committed values not yet sent, as samples, and forgets them; undefined if there are none. */
  take(): MetricsDelta | undefined {
    const pending = this.#pending;
    if (pending.length === 0) return undefined;
    const samples = pending.map((series): MetricSample => {
      const sample: MetricSample = {
        name: series.name,
        labels: series.labels,
        value: series.value,
        set: series.hasSet ? series.set : undefined,
        counts: series.counts === undefined ? undefined : Array.from(series.counts),
      };
      series.value = 0;
      series.hasSet = false;
      series.pendingTouched = false;
      series.counts?.fill(0);
      return sample;
    });
    pending.length = 0;
    return samples;
  }
}

/** `ctx.metrics` of one task. */
class TaskMetricsView implements TaskMetrics {
  readonly #task: string;
  readonly #metrics: ReadonlyMap<string, MetricState>;
  readonly #live: Series[];

  constructor(task: string, metrics: ReadonlyMap<string, MetricState>, live: Series[]) {
    this.#task = task;
    this.#metrics = metrics;
    this.#live = live;
  }

  inc(name: string, value = 1, labels?: MetricLabels): void {
    const metric = this.#metric('inc', name, value);
    if (metric.spec.type === 'histogram') throw this.#wrongMethod('inc', metric, 'observe');
    if (value < 0 && metric.spec.type === 'counter')
      throw new InvalidMetricError(
        `ctx.metrics.inc("${name}"): a counter only goes up, got ${value} (declare a gauge for a value that goes down)`,
      );
    const series = metric.series(labels, 'inc');
    series.live += value;
    this.#touch(series);
  }

  set(name: string, value: number, labels?: MetricLabels): void {
    const metric = this.#metric('set', name, value);
    if (metric.spec.type !== 'gauge')
      throw this.#wrongMethod('set', metric, metric.spec.type === 'counter' ? 'inc' : 'observe');
    const series = metric.series(labels, 'set');
    series.liveSet = value;
    series.hasLiveSet = true;
    series.live = 0;
    this.#touch(series);
  }

  observe(name: string, value: number, labels?: MetricLabels): void {
    const metric = this.#metric('observe', name, value);
    if (metric.spec.type !== 'histogram') throw this.#wrongMethod('observe', metric, 'inc');
    const series = metric.series(labels, 'observe');
    const buckets = metric.spec.buckets;
    let i = 0;
    while (i < buckets.length && value > (buckets[i] as number)) i++;
    const counts = series.liveCounts as Float64Array;
    counts[i] = (counts[i] as number) + 1;
    series.live += value;
    this.#touch(series);
  }

  #touch(series: Series): void {
    if (series.liveTouched) return;
    series.liveTouched = true;
    this.#live.push(series);
  }

  #metric(method: string, name: string, value: unknown): MetricState {
    const metric = this.#metrics.get(name);
    if (metric === undefined) {
      const declared = [...this.#metrics.keys()].join(', ') || '(none)';
      throw new InvalidMetricError(
        `ctx.metrics.${method}(${describe(name)}): task "${this.#task}" declares no such metric; it declares: ${declared}`,
      );
    }
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new InvalidMetricError(
        `ctx.metrics.${method}("${name}"): the value must be a finite number, got ${describe(value)}`,
      );
    return metric;
  }

  #wrongMethod(method: string, metric: MetricState, instead: string): InvalidMetricError {
    return new InvalidMetricError(
      `ctx.metrics.${method}("${metric.name}"): "${metric.name}" is a ${metric.spec.type}; use ${instead}()`,
    );
  }
}
