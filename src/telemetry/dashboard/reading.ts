/**
 * One reading of a registry for the dashboard: every orchestrator's series, found by metric name
 * in `registry.getMetricsAsJSON()`. It uses only what any scrape sees, so it works for every
 * orchestrator on the registry, under any `metricsPrefix`, without a hook into the engine.
 * @internal
 * @module
 */
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import { readTaskMetrics, type TaskMetricReading } from './task-metrics.js';

/** A cumulative histogram: upper bounds ascending (the last is `Infinity`) and counts ≤ each. */
export interface CumulativeHistogram {
  le: number[];
  cumulative: number[];
  sum: number;
}

/** The counters and histograms of one label set (today one task; later a task × tenant, …). */
export interface SeriesReading {
  /** The labels that tell this series from its siblings, e.g. `{ task: 'tokenize' }`. */
  labels: Record<string, string>;
  outcomes: Record<string, number>;
  errors: Record<string, number>;
  duration: CumulativeHistogram | undefined;
  wait: CumulativeHistogram | undefined;
}

/** The orchestrator-wide gauges; a signal the orchestrator does not export is undefined. */
export interface GaugeReading {
  limit: number | undefined;
  minLimit: number | undefined;
  inFlight: number | undefined;
  queued: number | undefined;
  threads: number | undefined;
  cpuLoad: number | undefined;
  gpuUtilization: number | undefined;
  gpuWaitSeconds: number | undefined;
  errorRate: number | undefined;
}

/** Gauges split by one label, by the label's value: a tenant's runs, a resource's units. */
export type LabelledGauges = Map<string, Record<string, number>>;

/** Everything one orchestrator exports, identified by its prefix and `orchestrator` label. */
export interface OrchestratorReading {
  prefix: string;
  name: string | null;
  gauges: GaugeReading;
  /** Keyed by {@link seriesKey} of the labels. */
  series: Map<string, SeriesReading>;
  /** Keyed by `direction` and `reason`. */
  limitChanges: Map<string, { direction: string; reason: string; count: number }>;
  /** The metrics its tasks record, by declared name. */
  taskMetrics: Map<string, TaskMetricReading>;
  /** Runs of each tenant now (`running`, `waiting`), with the `tenants` option. */
  tenants: LabelledGauges;
  /** Each declared resource now (`inUse`, `limit`, `waitSeconds`), with the `resources` option. */
  resources: LabelledGauges;
}

/** A registry at one instant. */
export interface Reading {
  /** Milliseconds since the epoch. */
  time: number;
  /** Sorted by prefix, then name. */
  orchestrators: OrchestratorReading[];
}

type Metric = MetricObjectWithValues<MetricValue<string>>;
type Sample = MetricValue<string> & { metricName?: string };
type Labels = Partial<Record<string, string | number>>;

const GAUGES: readonly [keyof GaugeReading, string][] = [
  ['limit', 'concurrency_limit'],
  ['minLimit', 'concurrency_min_limit'],
  ['inFlight', 'tasks_in_flight'],
  ['queued', 'queue_depth'],
  ['threads', 'pool_threads'],
  ['cpuLoad', 'cpu_load_ratio'],
  ['gpuUtilization', 'gpu_utilization_ratio'],
  ['gpuWaitSeconds', 'gpu_wait_seconds'],
  ['errorRate', 'error_rate_ratio'],
];

/** The gauges split by a tenant or a resource: [group, label, field, metric suffix]. */
const LABELLED: readonly ['tenants' | 'resources', string, string, string][] = [
  ['tenants', 'tenant', 'running', 'tenant_running'],
  ['tenants', 'tenant', 'waiting', 'tenant_queue_depth'],
  ['resources', 'resource', 'inUse', 'resource_units_in_use'],
  ['resources', 'resource', 'limit', 'resource_limit'],
  ['resources', 'resource', 'waitSeconds', 'resource_wait_seconds'],
];

/** Counts that split over labels (a tenant, a resource) add up; the others are one value. */
const ADDITIVE = new Set<keyof GaugeReading>(['inFlight', 'queued']);

/** The metric whose presence, with `tasks_total` beside it, marks an orchestrator's prefix. */
const MARKER = 'concurrency_limit';

/** Reads the registry once. */
export async function readRegistry(registry: Registry, now: () => number = Date.now): Promise<Reading> {
  const metrics = await registry.getMetricsAsJSON();
  const time = now();
  const byName = new Map(metrics.map((metric) => [metric.name, metric]));
  const orchestrators: OrchestratorReading[] = [];
  for (const prefix of findPrefixes(byName)) orchestrators.push(...readPrefix(byName, prefix));
  orchestrators.sort((a, b) =>
    a.prefix === b.prefix ? (a.name ?? '').localeCompare(b.name ?? '') : a.prefix.localeCompare(b.prefix),
  );
  return { time, orchestrators };
}

/** The canonical key of a label set: its entries sorted by name. */
export function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

function findPrefixes(byName: Map<string, Metric>): string[] {
  const prefixes: string[] = [];
  for (const [name, metric] of byName) {
    if (!name.endsWith(MARKER) || String(metric.type) !== 'gauge') continue;
    const prefix = name.slice(0, -MARKER.length);
    if (byName.has(`${prefix}tasks_total`)) prefixes.push(prefix);
  }
  return prefixes;
}

function readPrefix(byName: Map<string, Metric>, prefix: string): OrchestratorReading[] {
  const samples = (suffix: string): Sample[] => byName.get(`${prefix}${suffix}`)?.values ?? [];
  const found = new Map<string, OrchestratorReading>();
  // Labels on the limit gauge identify the orchestrator (its name, and any default labels of
  // the registry); only the labels beyond those split its series.
  const identity = new Set<string>(['orchestrator']);
  for (const sample of samples(MARKER)) {
    for (const label of Object.keys(sample.labels)) identity.add(label);
  }
  const entry = (labels: Labels): OrchestratorReading => {
    const name = labels['orchestrator'] === undefined ? null : String(labels['orchestrator']);
    let reading = found.get(name ?? '');
    if (reading === undefined) {
      reading = {
        prefix,
        name,
        gauges: emptyGauges(),
        series: new Map(),
        limitChanges: new Map(),
        taskMetrics: new Map(),
        tenants: new Map(),
        resources: new Map(),
      };
      found.set(name ?? '', reading);
    }
    return reading;
  };
  for (const sample of samples(MARKER)) entry(sample.labels);
  for (const [field, suffix] of GAUGES) {
    for (const sample of samples(suffix)) {
      const gauges = entry(sample.labels).gauges;
      const previous = gauges[field];
      gauges[field] = ADDITIVE.has(field) ? (previous ?? 0) + sample.value : (previous ?? sample.value);
    }
  }
  for (const [group, label, field, suffix] of LABELLED) {
    for (const sample of samples(suffix)) {
      const key = sample.labels[label];
      if (key === undefined) continue;
      const byKey = entry(sample.labels)[group];
      const values = byKey.get(String(key)) ?? {};
      values[field] = sample.value;
      byKey.set(String(key), values);
    }
  }
  const series = (labels: Labels, dimension: string): SeriesReading => {
    const reading = entry(labels);
    const own: Record<string, string> = {};
    for (const [label, value] of Object.entries(labels)) {
      if (label !== dimension && !identity.has(label) && value !== undefined) own[label] = String(value);
    }
    const key = seriesKey(own);
    let existing = reading.series.get(key);
    if (existing === undefined) {
      existing = { labels: own, outcomes: {}, errors: {}, duration: undefined, wait: undefined };
      reading.series.set(key, existing);
    }
    return existing;
  };
  for (const sample of samples('tasks_total')) {
    const outcomes = series(sample.labels, 'outcome').outcomes;
    const outcome = String(sample.labels['outcome']);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + sample.value;
  }
  for (const sample of samples('task_errors_total')) {
    const errors = series(sample.labels, 'type').errors;
    const type = String(sample.labels['type']);
    errors[type] = (errors[type] ?? 0) + sample.value;
  }
  for (const sample of samples('limit_changes_total')) {
    const { direction, reason } = sample.labels;
    const key = `${String(direction)}\u0000${String(reason)}`;
    entry(sample.labels).limitChanges.set(key, {
      direction: String(direction),
      reason: String(reason),
      count: sample.value,
    });
  }
  for (const field of ['duration', 'wait'] as const) {
    const name = `${prefix}task_${field}_seconds`;
    const histogram = (labels: Labels): CumulativeHistogram => {
      const target = series(labels, 'le');
      return (target[field] ??= { le: [], cumulative: [], sum: 0 });
    };
    for (const sample of samples(`task_${field}_seconds`)) {
      if (sample.metricName === `${name}_bucket`) {
        const target = histogram(sample.labels);
        target.le.push(bound(sample.labels['le']));
        target.cumulative.push(sample.value);
      } else if (sample.metricName === `${name}_sum`) {
        histogram(sample.labels).sum = sample.value;
      }
    }
  }
  readTaskMetrics(byName.values(), prefix, identity, entry);
  for (const reading of found.values()) {
    for (const { duration, wait } of reading.series.values()) {
      if (duration !== undefined) sortBuckets(duration);
      if (wait !== undefined) sortBuckets(wait);
    }
  }
  return [...found.values()];
}

function emptyGauges(): GaugeReading {
  return Object.fromEntries(GAUGES.map(([field]) => [field, undefined])) as unknown as GaugeReading;
}

function bound(le: string | number | undefined): number {
  return le === '+Inf' || le === undefined ? Number.POSITIVE_INFINITY : Number(le);
}

function sortBuckets(histogram: CumulativeHistogram): void {
  const order = histogram.le.map((_, i) => i).sort((a, b) => (histogram.le[a] ?? 0) - (histogram.le[b] ?? 0));
  histogram.le = order.map((i) => histogram.le[i] ?? 0);
  histogram.cumulative = order.map((i) => histogram.cumulative[i] ?? 0);
}
