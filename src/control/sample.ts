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
  /**
   * Mean time in the worker of the runs completed since the previous sample that *started*
   * after the limit last changed, in ms: latency under `limit` alone, without the runs admitted
   * under an older (say, higher) limit that are still finishing. Undefined when none did.
   */
  readonly latencyAtLimitMs?: number | undefined;
  /**
   * Consecutive samples, this one included, at which the limit bound: runs waited for a slot
   * (`queueDepth > 0`), or more were in flight than a lowered limit allows (`inFlight > limit`).
   * 0 when it does not bind now. Growing a limit that did not bind says nothing about the work
   * (the app-limited guard).
   */
  readonly boundStreak: number;
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

/** Every reason the built-in controllers give. */
export const ADAPT_REASONS = [
  'error-rate',
  'gpu-wait',
  'cpu-load',
  'gpu-utilization',
  'queue-depth',
  'latency',
  'probe',
  'app-limited',
  'hold',
] as const;

/** The rule that decided a limit. */
export type AdaptReason = (typeof ADAPT_REASONS)[number];

/**
 * A controller's answer: the next limit and the rule that chose it. A custom controller may
 * name its own reasons; they become the `reason` label of `orchestrator_limit_changes_total`,
 * bounded as the README's "Adaptive concurrency" section says.
 */
export interface Decision {
  readonly limit: number;
  // `string & {}` keeps the built-in names offered by editors while any string is accepted.
  readonly reason: AdaptReason | (string & {});
}

/**
 * Whether the limit bound at this sample: runs waited for a slot, or more were in flight than
 * a lowered limit allows. See {@link AdaptSample.boundStreak}.
 */
export function limitBinds(sample: Pick<AdaptSample, 'queueDepth' | 'inFlight' | 'limit'>): boolean {
  return sample.queueDepth > 0 || sample.inFlight > sample.limit;
}
