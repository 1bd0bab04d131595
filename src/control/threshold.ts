import type { AdaptiveConfig } from './config.js';
import { clampLimit, overloadReason, type Controller } from './controller.js';
import type { AdaptSample, Decision } from './sample.js';

/**
 * The threshold controller: decrease by `decreaseStep` when the error rate, GPU wait, GPU
 * utilization or CPU load (with the limit above the cores) is over its threshold; otherwise
 * increase by `increaseStep` when more than `queueHighWatermark` runs wait; otherwise hold.
 * Stateless: the same sample and config always give the same decision.
 */
export const thresholdController: Controller = {
  name: 'threshold',
  decide(sample: AdaptSample, config: AdaptiveConfig): Decision {
    const overload = overloadReason(sample, config);
    if (overload !== undefined)
      return { limit: clampLimit(sample.limit - config.decreaseStep, config), reason: overload };
    if (sample.queueDepth > config.queueHighWatermark) {
      return { limit: clampLimit(sample.limit + config.increaseStep, config), reason: 'queue-depth' };
    }
    return { limit: clampLimit(sample.limit, config), reason: 'hold' };
  },
};
