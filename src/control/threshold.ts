import type { AdaptiveConfig } from './config.js';
import { clampLimit, overloadReason, type Controller } from './controller.js';
import type { AdaptSample, Decision } from './sample.js';

/**
 * The threshold controller: decrease by `decreaseStep` when the error rate, GPU wait, GPU
 * utilization or CPU load (with the limit above the cores) is over its threshold — the CPU-load
 * rule never below the cores, since a CPU-bound pool at the core count is meant to keep the
 * machine busy; otherwise increase by `increaseStep` when more than `queueHighWatermark` runs
 * wait and the limit bound at this sample and the one before (`boundStreak >= 2`, the
 * app-limited guard) — unless the CPU is already within {@link CPU_HYSTERESIS} of `cpuLoadHigh`
 * with the limit at or above the cores, where more threads would only time-slice; otherwise hold.
 * Stateless: the same sample and config always give the same decision.
 */
export const thresholdController: Controller = {
  name: 'threshold',
  decide(sample: AdaptSample, config: AdaptiveConfig): Decision {
    const overload = overloadReason(sample, config);
    if (overload !== undefined) {
      const floor = overload === 'cpu-load' ? sample.cores : config.minLimit;
      const next = Math.max(Math.min(floor, sample.limit), sample.limit - config.decreaseStep);
      return { limit: clampLimit(next, config), reason: overload };
    }
    if (sample.queueDepth > config.queueHighWatermark && !cpuSaturated(sample, config)) {
      if (sample.boundStreak < 2) return { limit: clampLimit(sample.limit, config), reason: 'app-limited' };
      return { limit: clampLimit(sample.limit + config.increaseStep, config), reason: 'queue-depth' };
    }
    return { limit: clampLimit(sample.limit, config), reason: 'hold' };
  },
};

/**
 * The band below `cpuLoadHigh` in which the threshold controller neither grows nor shrinks on CPU:
 * without it, a busy machine whose load hovers around the threshold flips the limit each interval.
 */
export const CPU_HYSTERESIS = 0.1;

function cpuSaturated(sample: AdaptSample, config: AdaptiveConfig): boolean {
  return (
    sample.cpuLoad !== undefined &&
    sample.cpuLoad > config.cpuLoadHigh - CPU_HYSTERESIS &&
    sample.limit >= sample.cores
  );
}
