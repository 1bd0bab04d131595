import type { AdaptiveConfig } from './config.js';
import type { AdaptSample, Decision } from './sample.js';

/** The `gpu` resource as the GPU rules see it. */
export interface GpuUnits {
  /** Units that may be held at once now. */
  readonly limit: number;
  /** Units declared (the most the rules may give back). */
  readonly max: number;
  /** Units held by running tasks. */
  readonly inUse: number;
  /** Runs waiting that need the GPU. */
  readonly waiting: number;
}

/**
 * The GPU rules when a `gpu` resource is declared: they set the GPU's units, and the pool's
 * controller no longer sees the GPU signals (its rules act on CPU work).
 *
 * - GPU wait over `gpuWaitHigh`, or GPU utilization over `gpuUtilizationHigh` (in that order):
 *   `decreaseStep` fewer units, never below 1.
 * - Otherwise, while every unit is held and runs wait for the GPU: `increaseStep` more, never
 *   above the units declared.
 * - Otherwise: hold.
 *
 * Stateless: the same sample, config and units always give the same decision.
 */
export function decideGpuUnits(sample: AdaptSample, config: AdaptiveConfig, gpu: GpuUnits): Decision {
  const clamp = (units: number): number => Math.min(gpu.max, Math.max(1, Math.round(units)));
  if (sample.gpuWaitSeconds !== undefined && sample.gpuWaitSeconds > config.gpuWaitHigh)
    return { limit: clamp(gpu.limit - config.decreaseStep), reason: 'gpu-wait' };
  if (sample.gpuUtilization !== undefined && sample.gpuUtilization > config.gpuUtilizationHigh)
    return { limit: clamp(gpu.limit - config.decreaseStep), reason: 'gpu-utilization' };
  if (gpu.waiting > 0 && gpu.inUse >= gpu.limit && gpu.limit < gpu.max)
    return { limit: clamp(gpu.limit + config.increaseStep), reason: 'queue-depth' };
  return { limit: clamp(gpu.limit), reason: 'hold' };
}

/** The sample a pool controller sees while a `gpu` resource takes the GPU rules: no GPU signals. */
export function withoutGpuSignals(sample: AdaptSample): AdaptSample {
  return { ...sample, gpuUtilization: undefined, gpuWaitSeconds: undefined };
}
