import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ConfigIssue } from '../errors.js';
import { invalidConfig } from '../internal/config-error.js';
import {
  BATCH_BUCKETS,
  HistogramAccumulator,
  OUTCOME_INDEX,
  TaskAccumulator,
  type Outcome,
} from './accumulators.js';
import type { CacheStats } from '../cache/task-cache.js';
import type { StageStats } from './feature-families.js';
import { joinFamilies, leaveFamilies, type Families, type Source } from './families.js';

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

const defaultMetricsRegistries = new WeakSet<Registry>();

const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

const PREFIX_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_VALUE_LIMIT = 128;

/**
 * The problems with metrics options, one per bad field (the caller reports them all at once).
 * @internal
 */
export function metricsIssues(options: MetricsOptions): ConfigIssue[] {
  const { registry, prefix, name } = options;
  const issues: ConfigIssue[] = [];
  if (registry !== undefined && !(registry instanceof Registry))
    issues.push({ field: 'registry', value: registry, expected: 'a prom-client Registry' });
  if (prefix !== undefined && (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)))
    issues.push({
      field: 'metricsPrefix',
      value: prefix,
      expected: 'a valid Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)',
    });
  if (
    name !== undefined &&
    (typeof name !== 'string' || name.length === 0 || name.length > LABEL_VALUE_LIMIT)
  )
    issues.push({
      field: 'name',
      value: name,
      expected: `a non-empty string of at most ${LABEL_VALUE_LIMIT} characters`,
    });
  return issues;
}

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
  /** Result caches by task (the orchestrator's cache sets it). */
  caches: ReadonlyMap<string, CacheStats> = new Map();
  /** Pipeline stages by `stage` label. */
  readonly stages = new Map<string, StageStats>();
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
    const issues = metricsIssues(options);
    if (issues.length > 0) throw invalidConfig(issues);
    const { registry = new Registry(), prefix = 'orchestrator_', name, defaultMetrics = false } = options;
    this.registry = registry;
    this.name = name;
    this.#snapshot = snapshot;
    this.#families = joinFamilies(registry, prefix, this);
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
   * @param exemplar - the labels of the run's trace (`trace_id`, `span_id`), when it was traced
   *   and sampled: the duration and wait observations carry them as OpenMetrics exemplars.
   */
  record(
    task: string,
    outcome: Outcome,
    durationSeconds: number | undefined,
    waitSeconds: number | undefined,
    errorType: string | undefined,
    exemplar?: Readonly<Record<string, string>>,
  ): void {
    let acc = this.tasks.get(task);
    if (acc === undefined) {
      acc = new TaskAccumulator();
      this.tasks.set(task, acc);
    }
    (acc.outcomes[OUTCOME_INDEX[outcome]] as number)++;
    if (durationSeconds !== undefined) acc.duration.observe(durationSeconds, exemplar);
    if (waitSeconds !== undefined) acc.wait.observe(waitSeconds, exemplar);
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
    leaveFamilies(this.#families, this);
  }
}
