import { collectDefaultMetrics, Registry } from 'prom-client';
import { InvalidConfigError } from '../errors.js';
import { describe } from '../internal/validate.js';
import {
  BATCH_BUCKETS,
  HistogramAccumulator,
  MAX_ERROR_TYPES,
  OUTCOME_INDEX,
  OUTCOMES,
  TaskAccumulator,
  type Outcome,
} from './accumulators.js';

/** The gauges' values, read at every scrape. An undefined signal is absent and not exported. */
export interface GaugeSnapshot {
  queueDepth: number;
  concurrencyLimit: number;
  minLimit: number;
  tasksInFlight: number;
  poolThreads: number;
  gpuWaitSeconds?: number | undefined;
  cpuLoadRatio?: number | undefined;
  gpuUtilizationRatio?: number | undefined;
  errorRateRatio?: number | undefined;
}

/** Options of {@link OrchestratorMetrics}. */
export interface MetricsOptions {
  /** Where to register. @default a fresh Registry of this instance's own (never prom-client's global one) */
  registry?: Registry | undefined;
  /** Prefix of every metric name. @default 'orchestrator_' */
  prefix?: string | undefined;
  /** The `orchestrator` label; required to put two orchestrators on one registry. */
  name?: string | undefined;
  /** Also collect Node's default process metrics on the registry. @default false */
  defaultMetrics?: boolean | undefined;
}

/** A sample with its labels, as prom-client's MetricObject wants it. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

type MetricType = 'gauge' | 'counter' | 'histogram';

/**
 * A metric family backed by our accumulators. Registered on a prom-client Registry like any
 * metric: the registry calls `get()` at scrape time.
 */
class FamilyMetric {
  readonly aggregator = 'sum';

  constructor(
    public name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly read: (family: FamilyMetric) => Sample[],
  ) {}

  get(): { name: string; help: string; type: MetricType; aggregator: string; values: Sample[] } {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.read(this),
    };
  }
}

/** One orchestrator's data, as the shared families read it. */
interface Source {
  readonly name: string | undefined;
  readonly tasks: Map<string, TaskAccumulator>;
  readonly limitChanges: Map<string, { direction: string; reason: string; count: number }>;
  readonly batchSizes: HistogramAccumulator;
  snapshot(): GaugeSnapshot;
}

const familiesByRegistry = new WeakMap<Registry, Map<string, Families>>();
const defaultMetricsRegistries = new WeakSet<Registry>();

/** The metric families of one (registry, prefix), shared by every orchestrator on it. */
class Families {
  readonly sources = new Set<Source>();
  readonly metrics: FamilyMetric[];

  constructor(
    readonly registry: Registry,
    readonly prefix: string,
  ) {
    this.metrics = [...this.#gauges(), ...this.#counters(), ...this.#histograms()];
    // Check every name before registering any: prom-client throws at the first taken name,
    // which would leave the families before it registered with no owner to remove them.
    const taken = this.metrics.filter((metric) => registry.getSingleMetric(metric.name) !== undefined);
    if (taken.length > 0) throw takenError(taken.map((metric) => metric.name));
    const registered: FamilyMetric[] = [];
    try {
      for (const metric of this.metrics) {
        registry.registerMetric(metric as never);
        registered.push(metric);
      }
    } catch (error) {
      for (const metric of registered) registry.removeSingleMetric(metric.name);
      throw error;
    }
  }

  unregister(): void {
    for (const metric of this.metrics) this.registry.removeSingleMetric(metric.name);
  }

  #labels(source: Source, labels: Record<string, string>): Record<string, string> {
    return source.name === undefined ? labels : { orchestrator: source.name, ...labels };
  }

  #gauges(): FamilyMetric[] {
    const gauge = (
      name: string,
      help: string,
      pick: (s: GaugeSnapshot) => number | undefined,
    ): FamilyMetric =>
      new FamilyMetric(`${this.prefix}${name}`, help, 'gauge', () => {
        const samples: Sample[] = [];
        for (const source of this.sources) {
          const value = pick(source.snapshot());
          if (value !== undefined && Number.isFinite(value))
            samples.push({ labels: this.#labels(source, {}), value });
        }
        return samples;
      });
    return [
      gauge(
        'queue_depth',
        'Runs (or map items, or coalesced runs whose batch is forming) waiting for a slot.',
        (s) => s.queueDepth,
      ),
      gauge(
        'gpu_wait_seconds',
        'Longest current queue wait of a run marked gpu, in seconds.',
        (s) => s.gpuWaitSeconds,
      ),
      gauge('concurrency_limit', 'Tasks that may run at once now.', (s) => s.concurrencyLimit),
      gauge('concurrency_min_limit', 'The lowest limit adaptation may set (minLimit).', (s) => s.minLimit),
      gauge(
        'tasks_in_flight',
        'Runs admitted to the pool: running or staged behind a running task.',
        (s) => s.tasksInFlight,
      ),
      gauge('pool_threads', 'Worker threads in the pool.', (s) => s.poolThreads),
      gauge('cpu_load_ratio', 'Machine CPU load, 0..1 (absent until sampled).', (s) => s.cpuLoadRatio),
      gauge(
        'gpu_utilization_ratio',
        'GPU utilization, 0..1 (absent without a GPU).',
        (s) => s.gpuUtilizationRatio,
      ),
      gauge(
        'error_rate_ratio',
        'Failed share of recent outcomes, 0..1 (absent until enough outcomes).',
        (s) => s.errorRateRatio,
      ),
    ];
  }

  #counters(): FamilyMetric[] {
    const tasks = new FamilyMetric(
      `${this.prefix}tasks_total`,
      'Runs settled, by task and outcome.',
      'counter',
      () => {
        const samples: Sample[] = [];
        for (const source of this.sources) {
          for (const [task, acc] of source.tasks) {
            OUTCOMES.forEach((outcome, i) =>
              samples.push({ labels: this.#labels(source, { task, outcome }), value: acc.outcomes[i] ?? 0 }),
            );
          }
        }
        return samples;
      },
    );
    const errors = new FamilyMetric(
      `${this.prefix}task_errors_total`,
      `Failed runs, by task and error type (the error's code, or its class; past ${MAX_ERROR_TYPES} types per task, "other").`,
      'counter',
      () => {
        const samples: Sample[] = [];
        for (const source of this.sources) {
          for (const [task, acc] of source.tasks) {
            for (const [type, value] of acc.errors)
              samples.push({ labels: this.#labels(source, { task, type }), value });
          }
        }
        return samples;
      },
    );
    const limits = new FamilyMetric(
      `${this.prefix}limit_changes_total`,
      'Changes of the concurrency limit, by direction and the rule that fired.',
      'counter',
      () => {
        const samples: Sample[] = [];
        for (const source of this.sources) {
          for (const { direction, reason, count } of source.limitChanges.values()) {
            samples.push({ labels: this.#labels(source, { direction, reason }), value: count });
          }
        }
        return samples;
      },
    );
    return [tasks, errors, limits];
  }

  #histograms(): FamilyMetric[] {
    const perTask = (
      name: string,
      help: string,
      pick: (acc: TaskAccumulator) => HistogramAccumulator,
    ): FamilyMetric =>
      new FamilyMetric(`${this.prefix}${name}`, help, 'histogram', (family) => {
        const samples: Sample[] = [];
        for (const source of this.sources) {
          for (const [task, acc] of source.tasks) {
            pushHistogram(samples, family.name, this.#labels(source, { task }), pick(acc));
          }
        }
        return samples;
      });
    const batch = new FamilyMetric(
      `${this.prefix}batch_size`,
      'Items per batch sent to a worker.',
      'histogram',
      (family) => {
        const samples: Sample[] = [];
        for (const source of this.sources) {
          if (source.batchSizes.count > 0)
            pushHistogram(samples, family.name, this.#labels(source, {}), source.batchSizes);
        }
        return samples;
      },
    );
    return [
      perTask(
        'task_duration_seconds',
        'Time a task spent running in its worker, in seconds.',
        (acc) => acc.duration,
      ),
      perTask(
        'task_wait_seconds',
        'Time a run waited before a worker took it, in seconds.',
        (acc) => acc.wait,
      ),
      batch,
    ];
  }
}

function pushHistogram(
  samples: Sample[],
  name: string,
  labels: Record<string, string>,
  histogram: HistogramAccumulator,
): void {
  let cumulative = 0;
  histogram.buckets.forEach((le, i) => {
    cumulative += histogram.counts[i] ?? 0;
    samples.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
  });
  samples.push({ labels: { ...labels, le: '+Inf' }, value: histogram.count, metricName: `${name}_bucket` });
  samples.push({ labels, value: histogram.sum, metricName: `${name}_sum` });
  samples.push({ labels, value: histogram.count, metricName: `${name}_count` });
}

const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

const PREFIX_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_VALUE_LIMIT = 128;

/**
 * The orchestrator's Prometheus metrics on a prom-client Registry.
 *
 * Recording is a few number increments (accumulators); the metric objects read them at scrape
 * time, and the gauges call `snapshot()` then, so they are always current.
 *
 * Cardinality: `task` takes the worker module's export names (never inputs); `outcome` six
 * values; `type` the error codes and classes the tasks raise, at most 32 per task (later new
 * ones count as `type="other"`); `direction` two and `reason` the controller's rule names.
 */
export class OrchestratorMetrics implements Source {
  /** The registry the metrics are on. */
  readonly registry: Registry;
  readonly name: string | undefined;
  readonly tasks = new Map<string, TaskAccumulator>();
  readonly limitChanges = new Map<string, { direction: string; reason: string; count: number }>();
  readonly batchSizes = new HistogramAccumulator(BATCH_BUCKETS);
  readonly #families: Families;
  #snapshot: () => GaugeSnapshot;
  #disposed = false;

  /**
   * @param options - registry, prefix, name, defaultMetrics.
   * @param snapshot - returns the gauges' current values; called at every scrape.
   * @throws InvalidConfigError for a bad prefix or name; when another orchestrator's metrics
   *   already use this registry and prefix and the two are not both named distinctly; or when
   *   the registry already holds a metric of one of our names (none of ours is then registered).
   */
  constructor(options: MetricsOptions, snapshot: () => GaugeSnapshot) {
    const { registry = new Registry(), prefix = 'orchestrator_', name, defaultMetrics = false } = options;
    if (!(registry instanceof Registry)) throw configError('registry', registry, 'a prom-client Registry');
    if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
      throw configError(
        'metricsPrefix',
        prefix,
        'a valid Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)',
      );
    }
    if (
      name !== undefined &&
      (typeof name !== 'string' || name.length === 0 || name.length > LABEL_VALUE_LIMIT)
    ) {
      throw configError('name', name, `a non-empty string of at most ${LABEL_VALUE_LIMIT} characters`);
    }
    this.registry = registry;
    this.name = name;
    this.#snapshot = snapshot;
    this.#families = familiesFor(registry, prefix);
    this.#join(prefix);
    if (defaultMetrics && !defaultMetricsRegistries.has(registry)) {
      defaultMetricsRegistries.add(registry);
      collectDefaultMetrics({ register: registry });
      // prom-client names three gauges with a counter's `_total` suffix, which `promtool check
      // metrics` rejects; their per-type twins (nodejs_active_handles etc.) carry the same data.
      for (const misnamed of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(misnamed);
    }
  }

  /** The gauges' values now. */
  snapshot(): GaugeSnapshot {
    return this.#snapshot();
  }

  /**
   * Records one settled run.
   * @param task - the task's export name.
   * @param outcome - how it ended.
   * @param durationSeconds - time in the worker, or undefined if it never ran.
   * @param waitSeconds - time queued before a worker took it, or undefined if it never got one.
   * @param errorType - the error's code or class, for failures. Past 32 distinct types for one
   *   task, new types are counted as `"other"`, so user error codes cannot grow the series
   *   without bound.
   */
  record(
    task: string,
    outcome: Outcome,
    durationSeconds: number | undefined,
    waitSeconds: number | undefined,
    errorType: string | undefined,
  ): void {
    let acc = this.tasks.get(task);
    if (acc === undefined) {
      acc = new TaskAccumulator();
      this.tasks.set(task, acc);
    }
    (acc.outcomes[OUTCOME_INDEX[outcome]] as number)++;
    if (durationSeconds !== undefined) acc.duration.observe(durationSeconds);
    if (waitSeconds !== undefined) acc.wait.observe(waitSeconds);
    if (errorType !== undefined) acc.recordError(errorType);
  }

  /** Records a change of the concurrency limit. */
  recordLimitChange(direction: 'up' | 'down', reason: string): void {
    const key = `${direction}\u0000${reason}`;
    const entry = this.limitChanges.get(key);
    if (entry === undefined) this.limitChanges.set(key, { direction, reason, count: 1 });
    else entry.count++;
  }

  /** Records the size of one batch. */
  recordBatch(size: number): void {
    this.batchSizes.observe(size);
  }

  /** Leaves the registry: the last orchestrator on it unregisters the metrics. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const families = this.#families;
    families.sources.delete(this);
    if (families.sources.size === 0) {
      families.unregister();
      familiesByRegistry.get(families.registry)?.delete(families.prefix);
    }
  }

  #join(prefix: string): void {
    const families = this.#families;
    for (const other of families.sources) {
      if (other.name === undefined || this.name === undefined || other.name === this.name) {
        throw configError(
          'name',
          this.name,
          `a name distinct from every other orchestrator on this registry with prefix "${prefix}" ` +
            `(found ${describe(other.name)}); name both, or use separate registries or prefixes`,
        );
      }
    }
    families.sources.add(this);
  }
}

function familiesFor(registry: Registry, prefix: string): Families {
  let byPrefix = familiesByRegistry.get(registry);
  if (byPrefix === undefined) {
    byPrefix = new Map();
    familiesByRegistry.set(registry, byPrefix);
  }
  let families = byPrefix.get(prefix);
  if (families === undefined) {
    families = new Families(registry, prefix);
    byPrefix.set(prefix, families);
  }
  return families;
}

function takenError(names: string[]): InvalidConfigError {
  const list = names.map((name) => `"${name}"`).join(', ');
  const error = new InvalidConfigError(
    `Invalid orchestrator options: registry already has a metric named ${list}, which the ` +
      `orchestrator's metrics use; pick another metricsPrefix or registry`,
  );
  error.issues = names.map((name) => ({
    field: 'registry',
    value: name,
    expected: 'a registry without a metric of this name',
  }));
  return error;
}

function configError(field: string, value: unknown, expected: string): InvalidConfigError {
  const error = new InvalidConfigError(
    `Invalid orchestrator options: ${field} must be ${expected}, got ${describe(value)}`,
  );
  error.issues = [{ field, value, expected }];
  return error;
}
