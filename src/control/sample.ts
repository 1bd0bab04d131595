/**
 * What the orchestrator measures every adaptation interval and hands to its controller.
 * An undefined signal is absent (no GPU, not sampled yet, too few outcomes): its rules are skipped.
 */
export interface AdaptSample {
  /** When the sample was taken, in ms (Date.now(), or a virtual clock in simulations). */
  readonly at: number;
  /** The limit in force while the sample was gathered. */
  readonly limit: number;
  /** Runs admitted to the pool now. */
  readonly inFlight: number;
  /** Runs waiting for a slot now. */
  readonly queueDepth: number;
  /** Runs completed since the previous sample. */
  readonly completed: number;
  /** The machine's cores (availableParallelism()). */
  readonly cores: number;
  /** Mean time in the worker of the runs completed since the previous sample, in ms. */
  readonly latencyMs?: number | undefined;
  /** Failed share of the recent outcomes window, 0..1. */
  readonly errorRate?: number | undefined;
  /** Machine CPU load, 0..1. */
  readonly cpuLoad?: number | undefined;
  /** GPU utilization, 0..1. */
  readonly gpuUtilization?: number | undefined;
  /** GPU memory in use, 0..1. */
  readonly gpuMemory?: number | undefined;
  /** Longest current queue wait of a run marked `gpu`, in seconds. */
  readonly gpuWaitSeconds?: number | undefined;
}

/** The rule that decided a limit. */
export type AdaptReason =
  | 'error-rate'
  | 'gpu-wait'
  | 'cpu-load'
  | 'gpu-utilization'
  | 'queue-depth'
  | 'latency'
  | 'probe'
  | 'app-limited'
  | 'hold';

/** A controller's answer: the next limit and the rule that chose it. */
export interface Decision {
  readonly limit: number;
  readonly reason: AdaptReason;
}
