import type { AdaptiveConfig } from './config.js';
import type { AdaptSample, Decision } from './sample.js';

/**
 * Decides the next concurrency limit from a sample. The orchestrator clamps the answer to
 * [minLimit, maxLimit]. A controller may keep state, but only time it reads from `sample.at`,
 * so a simulation with a virtual clock replays exactly.
 */
export interface Controller {
  /** A name for logs and the `adapt` event. */
  readonly name: string;
  /** The next limit and the rule that chose it. */
  decide(sample: AdaptSample, config: AdaptiveConfig): Decision;
}

/** Clamps a limit to the configured bounds. */
export function clampLimit(limit: number, config: Pick<AdaptiveConfig, 'minLimit' | 'maxLimit'>): number {
  return Math.min(config.maxLimit, Math.max(config.minLimit, Math.round(limit)));
}

/**
 * The hard brakes both controllers share, in this order: error rate, GPU wait, GPU utilization,
 * CPU load (the latter optional). CPU load counts as overload only while the limit exceeds the cores: a CPU-bound pool
 * at exactly the core count is supposed to show a busy machine.
 */
export function overloadReason(
  sample: AdaptSample,
  config: AdaptiveConfig,
  includeCpu = true,
): Decision['reason'] | undefined {
  if (sample.errorRate !== undefined && sample.errorRate > config.errorRateHigh) return 'error-rate';
  if (sample.gpuWaitSeconds !== undefined && sample.gpuWaitSeconds > config.gpuWaitHigh) return 'gpu-wait';
  if (sample.gpuUtilization !== undefined && sample.gpuUtilization > config.gpuUtilizationHigh)
    return 'gpu-utilization';
  if (
    includeCpu &&
    sample.cpuLoad !== undefined &&
    sample.cpuLoad > config.cpuLoadHigh &&
    sample.limit > sample.cores
  )
    return 'cpu-load';
  return undefined;
}
