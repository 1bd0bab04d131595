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
