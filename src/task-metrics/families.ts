/**
 * Task metrics on a prom-client Registry. A registry holds one metric per name, so the
 * orchestrators of one prefix that export a task metric of one name add their series, labelled
 * by `orchestrator`, to one family, which they must all declare alike.
 * @internal
 * @module
 */
import type { Registry } from 'prom-client';
import { describe } from '../internal/validate.js';
import { pushHistogram, type Sample } from '../telemetry/family-metric.js';
import { specDifference } from './declaration.js';
import type { StoredMetric, TaskMetricStore } from './store.js';

/** What a task metric family's `get()` adds to prom-client's JSON: the dashboard finds them by it. */
export interface TaskMetricMark {
  /** The orchestrators' `metricsPrefix`. */
  readonly prefix: string;
  /** The metric's name as the tasks declare it. */
  readonly name: string;
}

/** One task metric on one registry, and the orchestrators exporting it. */
export class TaskFamily {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator = 'sum';
  readonly sources = new Map<TaskMetricStore, StoredMetric>();

  constructor(
    readonly registry: Registry,
    readonly mark: TaskMetricMark,
    readonly first: StoredMetric,
  ) {
    this.name = `${mark.prefix}${mark.name}`;
    this.help = first.spec.help;
    this.type = first.spec.type;
  }

  /** prom-client calls it at every scrape (`getMetricsAsJSON`, `metrics()`). */
  get(): {
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Sample[];
    taskMetric: TaskMetricMark;
  } {
    const values: Sample[] = [];
    for (const [store, metric] of this.sources) {
      const { labelNames } = metric.spec;
      for (const series of metric.series.values()) {
        const labels: Record<string, string> = store.name === undefined ? {} : { orchestrator: store.name };
        series.labels.forEach((value, i) => {
          // An empty label value is no label, in Prometheus.
          if (value !== '') labels[labelNames[i] as string] = value;
        });
        if (series.counts === undefined) {
          values.push({ labels, value: series.value });
        } else {
          const histogram = {
            buckets: metric.spec.buckets,
            counts: series.counts,
            sum: series.value,
            count: series.count,
            exemplars: undefined,
          };
          pushHistogram(values, this.name, labels, histogram);
        }
      }
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
      taskMetric: this.mark,
    };
  }
}

const familiesByRegistry = new WeakMap<Registry, Map<string, TaskFamily>>();

/**
 * Adds `metric` of `store` to its family on the store's registry, registering the family if it
 * is the first.
 * @returns the family, or why it cannot be joined: another orchestrator declared the metric
 *   otherwise, or the registry holds another metric of the name.
 */
export function joinTaskFamily(store: TaskMetricStore, metric: StoredMetric): TaskFamily | string {
  const { registry, prefix } = store;
  const name = `${prefix}${metric.name}`;
  let byName = familiesByRegistry.get(registry);
  if (byName === undefined) {
    byName = new Map();
    familiesByRegistry.set(registry, byName);
  }
  const existing = byName.get(name);
  const ours = `task metric "${metric.name}" (declared by ${tasks(metric.tasks)}${store.name === undefined ? '' : ` of orchestrator ${describe(store.name)}`})`;
  if (existing !== undefined) {
    const difference =
      existing.mark.prefix === prefix
        ? specDifference(metric.spec, existing.first.spec)
        : `prefix "${prefix}" against "${existing.mark.prefix}"`;
    if (difference !== undefined) {
      const theirs = [...existing.sources.keys()][0]?.name;
      return (
        `The ${ours} is not exported: "${name}" is already registered for ${tasks(existing.first.tasks)}` +
        `${theirs === undefined ? '' : ` of orchestrator ${describe(theirs)}`}, declared otherwise (${difference})`
      );
    }
    existing.sources.set(store, metric);
    return existing;
  }
  if (registry.getSingleMetric(name) !== undefined)
    return `The ${ours} is not exported: the registry already has a metric named "${name}"; rename the metric, or use another metricsPrefix or registry`;
  const family = new TaskFamily(registry, { prefix, name: metric.name }, metric);
  family.sources.set(store, metric);
  registry.registerMetric(family as never);
  byName.set(name, family);
  return family;
}

/** `task "a"` or `tasks "a", "b"`. */
function tasks(names: readonly string[]): string {
  return `${names.length === 1 ? 'task' : 'tasks'} ${names.map((name) => `"${name}"`).join(', ')}`;
}

/** Removes `store` from `family`; the last one out unregisters it. */
export function leaveTaskFamily(family: TaskFamily, store: TaskMetricStore): void {
  family.sources.delete(store);
  if (family.sources.size > 0) return;
  family.registry.removeSingleMetric(family.name);
  familiesByRegistry.get(family.registry)?.delete(family.name);
}
