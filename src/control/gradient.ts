import { seededRandom } from '../internal/random.js';
import type { AdaptiveConfig } from './config.js';
import { clampLimit, overloadReason, type Controller } from './controller.js';
import type { AdaptSample, Decision } from './sample.js';

/** Options of {@link createGradientController}. */
export interface GradientOptions {
  /** Tolerated latency rise over the baseline before the limit shrinks. @default 0 */
  buffer?: number;
  /** How often the baseline is re-measured, in ms (plus up to 25% jitter). @default 60000 */
  probeIntervalMs?: number;
  /** Seed of the jitter, so runs replay exactly. @default 1 */
  seed?: number;
}

/**
 * A latency-driven controller in the manner of Envoy's adaptive concurrency filter.
 *
 * - **Baseline.** The minimum latency is measured at a pinned, low limit (half the current one,
 *   at least minLimit) for one interval, at start and then every `probeIntervalMs` plus jitter.
 *   The baseline is *re-measured*, never blended with loaded latency: Gradient2's moving
 *   baseline and Vegas follow the loaded latency upward and drift to the maximum over tens of
 *   minutes.
 * - **Gradient.** `clamp(minLatency × (1 + buffer) / latency, 0.5, 2)` once per interval;
 *   `next = gradient × limit + √(gradient × limit)` (small headroom so the pool keeps a queue).
 * - **Brakes.** The error-rate and GPU rules of the threshold controller apply first, as one
 *   multiplicative decrease (× 0.5 at most once per interval). A task's own errors count only
 *   through the error-rate rule. CPU contention is left to the latency gradient, which sees it.
 * - **App-limited.** No growth while fewer than half the slots are used, or while nothing waits
 *   and slots are free: latency says nothing about a limit the work does not reach.
 */
export function createGradientController(options: GradientOptions = {}): Controller {
  const { buffer = 0, probeIntervalMs = 60_000, seed = 1 } = options;
  const random = seededRandom(seed);
  let baselineMs: number | undefined;
  let nextProbeAt: number | undefined;
  let probing: { restoreTo: number } | undefined;

  const scheduleProbe = (now: number): void => {
    nextProbeAt = now + probeIntervalMs * (1 + 0.25 * random());
  };

  return {
    name: 'gradient',
    decide(sample: AdaptSample, config: AdaptiveConfig): Decision {
      // CPU contention already shows as latency here; halving on it too would saw-tooth the limit.
      const overload = overloadReason(sample, config, false);
      if (overload !== undefined) {
        probing = undefined;
        return { limit: clampLimit(Math.floor(sample.limit / 2), config), reason: overload };
      }
      if (probing !== undefined) {
        // The interval just ended ran at the pinned limit: its latency is the new baseline.
        if (sample.latencyMs !== undefined) baselineMs = sample.latencyMs;
        const restoreTo = probing.restoreTo;
        probing = undefined;
        scheduleProbe(sample.at);
        return { limit: clampLimit(restoreTo, config), reason: 'probe' };
      }
      if (baselineMs === undefined || (nextProbeAt !== undefined && sample.at >= nextProbeAt)) {
        if (sample.latencyMs === undefined)
          return { limit: clampLimit(sample.limit, config), reason: 'hold' };
        probing = { restoreTo: sample.limit };
        return {
          limit: clampLimit(Math.max(config.minLimit, Math.floor(sample.limit / 2)), config),
          reason: 'probe',
        };
      }
      if (sample.latencyMs === undefined || sample.latencyMs <= 0) {
        return { limit: clampLimit(sample.limit, config), reason: 'hold' };
      }
      baselineMs = Math.min(baselineMs, sample.latencyMs);
      const gradient = Math.min(2, Math.max(0.5, (baselineMs * (1 + buffer)) / sample.latencyMs));
      const scaled = gradient * sample.limit;
      let next = Math.round(scaled + Math.sqrt(scaled));
      const appLimited =
        sample.inFlight < sample.limit / 2 || (sample.queueDepth === 0 && sample.inFlight < sample.limit);
      if (next > sample.limit && appLimited) {
        return { limit: clampLimit(sample.limit, config), reason: 'app-limited' };
      }
      next = clampLimit(next, config);
      return { limit: next, reason: next === sample.limit ? 'hold' : 'latency' };
    },
  };
}
