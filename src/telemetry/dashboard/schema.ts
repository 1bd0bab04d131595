/**
 * The schema of the dashboard's data: what `/dashboard/data` answers and each frame of
 * `/dashboard/events` carries (documented in the README). Plain types without imports, so the
 * browser scripts are type-checked against the same declarations.
 * @module
 */

/**
 * Latencies of the runs that settled in a window (or since the start), in seconds; `null`
 * without any. Quantiles are estimated from the histogram buckets: each lies in the same bucket
 * as the true quantile and is interpolated linearly within it (see the README for the error).
 */
export interface LatencySummary {
  /** Observations. */
  count: number;
  /** Their exact mean (sum / count). */
  mean: number | null;
  /** The median. */
  p50: number | null;
  /** The 90th percentile. */
  p90: number | null;
  /** The 99th percentile. */
  p99: number | null;
}

/** Runs settled, failures and latency of a set of series. */
export interface TaskStats {
  /** Settled runs by outcome (`success`, `error`, `aborted`, `timeout`, `crashed`, `rejected`). */
  outcomes: Record<string, number>;
  /** Failed runs by error type (the error's code or class; `other` past 32 types per task). */
  errors: Record<string, number>;
  /** Time tasks ran in their workers, in seconds. */
  duration: LatencySummary;
  /** Time runs waited before a worker took them, in seconds. */
  wait: LatencySummary;
}

/** One count of limit changes by the rule that made them. */
export interface LimitChange {
  direction: string;
  /** The adaptation rule: `cpu-load`, `queue-depth`, `error-rate`, … */
  reason: string;
  count: number;
}

/** {@link TaskStats} of a whole orchestrator, with its limit changes. */
export interface OrchestratorStats extends TaskStats {
  limitChanges: LimitChange[];
}

/** One row of a breakdown: the stats of the series with one value of a label. */
export interface BreakdownRow {
  /** The label's value, e.g. the task's name. */
  key: string;
  total: TaskStats;
  window: TaskStats | null;
}

/** A histogram's observations (of a window, or since the start): {@link LatencySummary} and their sum. */
export interface ObservationSummary extends LatencySummary {
  /** The observations' sum. */
  sum: number;
}

/** One label set (series) of a task metric. */
export interface TaskMetricSeries {
  /** Its labels, e.g. `{ model: 'gpt' }`; `{}` for a metric without labels. */
  labels: Record<string, string>;
  /** Counter, gauge: its value now. Histogram: the number of observations. */
  value: number;
  /**
   * Counter, histogram: how much `value` grew since the previous frame of this stream; null in
   * its first frame, and always for a gauge.
   */
  window: number | null;
  /** Histograms: the observations since the start, and in the window (null in a first frame). */
  observations?: { total: ObservationSummary; window: ObservationSummary | null };
}

/** A metric the orchestrator's tasks record (`defineTask(fn, { metrics })`). */
export interface TaskMetricFrame {
  /** As the tasks declare it, e.g. `tokens_total`. */
  name: string;
  /** As exported: with the orchestrator's prefix, e.g. `orchestrator_tokens_total`. */
  metric: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** Its help text. */
  help: string;
  /** Its series, by their labels' JSON. */
  series: TaskMetricSeries[];
}

/** One orchestrator in a frame. Gauges it does not export (no GPU, not sampled yet) are null. */
export interface OrchestratorFrame {
  /** Its `metricsPrefix`. */
  prefix: string;
  /** Its `orchestrator` label; null for an unnamed orchestrator. */
  name: string | null;
  limit: number | null;
  minLimit: number | null;
  inFlight: number | null;
  queued: number | null;
  threads: number | null;
  cpuLoad: number | null;
  gpuUtilization: number | null;
  gpuWaitSeconds: number | null;
  errorRate: number | null;
  /** Everything since its series began. */
  total: OrchestratorStats;
  /** What happened since the previous frame of this stream (`seconds` long); null in the first. */
  window: OrchestratorStats | null;
  /** The same stats split by each label of its task series beyond the outcome: today `task`. */
  breakdowns: Record<string, BreakdownRow[]>;
  /** The metrics its tasks record, by name (added within `v: 1`). */
  taskMetrics: TaskMetricFrame[];
  /** Each tenant's runs now, by name; empty without the `tenants` option (added within `v: 1`). */
  tenants: TenantLoadFrame[];
  /** Each declared resource now, by name; empty without `resources` (added within `v: 1`). */
  resources: ResourceFrame[];
}

/** A tenant's runs at the frame's instant (with the `tenants` option). */
export interface TenantLoadFrame {
  /** Its `tenant` label: a configured tenant, `default` or `other`. */
  name: string;
  /** Runs of the tenant on a thread. */
  running: number | null;
  /** Runs of the tenant submitted and not started. */
  waiting: number | null;
}

/** A declared resource at the frame's instant (with the `resources` option). */
export interface ResourceFrame {
  /** As declared, e.g. `gpu`. */
  name: string;
  /** Units held by running tasks. */
  inUse: number | null;
  /** Units that may be held at once (adaptation may set it below the units declared). */
  limit: number | null;
  /** The longest current wait of a run that needs it, in seconds (0 when none waits). */
  waitSeconds: number | null;
}

/** One frame of `/dashboard/events`, or the answer of `/dashboard/data`. */
export interface DashboardFrame {
  /** Schema version. Fields may be added within a version; none is renamed or removed. */
  v: 1;
  /** When the registry was read, in milliseconds since the epoch. */
  time: number;
  /** Seconds the `window` fields cover; null when there is no window (a stream's first frame). */
  seconds: number | null;
  /** Every orchestrator on the registry, to choose from. */
  orchestrators: { prefix: string; name: string | null }[];
  /** The chosen orchestrator; null when none matches (or the registry holds none yet). */
  orchestrator: OrchestratorFrame | null;
}
