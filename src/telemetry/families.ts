/**
 * The metric families behind `OrchestratorMetrics`, shared per (registry, prefix): a registry
 * holds one metric per name, so orchestrators on one registry and prefix must add their series,
 * labelled by `orchestrator`, to the same families instead of registering their own.
 * @module
 */
import type { Registry } from 'prom-client';
import { InvalidConfigError } from '../errors.js';
import { configError } from '../internal/config-error.js';
import { describe } from '../internal/validate.js';
import {
  MAX_ERROR_TYPES,
  OUTCOMES,
  type HistogramAccumulator,
  type TaskAccumulator,
} from './accumulators.js';
import type { CacheStats } from '../cache/task-cache.js';
import { cacheFamilies, stageFamilies, type StageStats } from './feature-families.js';
import { FamilyMetric, pushHistogram, type Sample } from './family-metric.js';
import type { GaugeSnapshot } from './metrics.js';
import { schedulingFamilies } from './scheduling-families.js';

/** One orchestrator's data, as the shared families read it. */
export interface Source {
  readonly name: string | undefined;
  readonly tasks: Map<string, TaskAccumulator>;
  readonly tenantStarts: Map<string, number>;
  readonly limitChanges: Map<string, { direction: string; reason: string; count: number }>;
  readonly batchSizes: HistogramAccumulator;
  /** Result caches by task. */
  readonly caches: ReadonlyMap<string, CacheStats>;
  /** Pipeline stages by `stage` label. */
  readonly stages: ReadonlyMap<string, StageStats>;
  snapshot(): GaugeSnapshot;
}

const familiesByRegistry = new WeakMap<Registry, Map<string, Families>>();

/** The metric families of one (registry, prefix), shared by every orchestrator on it. */
export class Families {
  readonly sources = new Set<Source>();
  readonly metrics: FamilyMetric[];

  constructor(
    readonly registry: Registry,
    readonly prefix: string,
  ) {
    const labels = (source: Source, own: Record<string, string>): Record<string, string> =>
      this.#labels(source, own);
    this.metrics = [
      ...this.#gauges(),
      ...this.#counters(),
      ...this.#histograms(),
      ...schedulingFamilies(prefix, this.sources, labels),
      ...cacheFamilies(prefix, this.sources, labels),
      ...stageFamilies(prefix, this.sources, labels),
    ];
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
        'Runs admitted to the pool: running, or staged for a thread that is starting.',
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
          for (const acc of source.tasks.values()) {
            OUTCOMES.forEach((outcome, i) =>
              samples.push({
                labels: this.#labels(source, { ...taskLabels(acc), outcome }),
                value: acc.outcomes[i] ?? 0,
              }),
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
          for (const acc of source.tasks.values()) {
            for (const [type, value] of acc.errors)
              samples.push({ labels: this.#labels(source, { ...taskLabels(acc), type }), value });
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
          for (const acc of source.tasks.values()) {
            pushHistogram(samples, family.name, this.#labels(source, taskLabels(acc)), pick(acc));
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

/** The labels of one task series: its task, and its tenant when the series carry one. */
function taskLabels(acc: TaskAccumulator): Record<string, string> {
  return acc.tenant === undefined ? { task: acc.task } : { task: acc.task, tenant: acc.tenant };
}

/**
 * Adds `source` to the families of (registry, prefix), registering them if it is the first.
 * @returns the families, for {@link leaveFamilies}.
 * @throws InvalidConfigError when the registry already holds a metric of one of the families'
 *   names (none is then registered), or when another source is on the same families and the two
 *   are not both named distinctly: their series would be indistinguishable.
 */
export function joinFamilies(registry: Registry, prefix: string, source: Source): Families {
  const families = familiesFor(registry, prefix);
  for (const other of families.sources) {
    if (other.name === undefined || source.name === undefined || other.name === source.name) {
      throw configError(
        'name',
        source.name,
        `a name distinct from every other orchestrator on this registry with prefix "${prefix}" ` +
          `(found ${describe(other.name)}); name both, or use separate registries or prefixes`,
      );
    }
  }
  families.sources.add(source);
  return families;
}

/** Removes `source` from `families`; the last one out unregisters them. */
export function leaveFamilies(families: Families, source: Source): void {
  families.sources.delete(source);
  if (families.sources.size === 0) {
    families.unregister();
    familiesByRegistry.get(families.registry)?.delete(families.prefix);
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
