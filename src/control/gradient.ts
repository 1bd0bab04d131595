import { seededRandom } from '../internal/random.js';
import { assertFinite, assertInteger, describe } from '../internal/validate.js';
import type { AdaptiveConfig } from './config.js';
import { clampLimit, overloadReason, type Controller } from './controller.js';
import type { AdaptSample, Decision } from './sample.js';

/** Options of {@link createGradientController}. */
export interface GradientOptions {
  /**
   * Tolerated latency rise over the baseline before the limit shrinks, as Envoy's `buffer`: it
   * absorbs the noise of the measurements, which would otherwise pull the limit of work that
   * waits (whose latency does not grow with the limit) down to a fraction of its reach. @default 0.25
   */
  buffer?: number;
  /** How often the baseline is re-measured, in ms (plus up to 25% jitter). @default 60000 */
  probeIntervalMs?: number;
  /**
   * The limit the baseline is measured at (clamped to [minLimit, maxLimit]). It must not exceed
   * the cores for CPU-bound work: the baseline is the latency of a run that has a core to itself.
   * At the cores, a probe of CPU-bound work costs no throughput at all. Lower it for work bound
   * by a resource narrower than the cores (a remote service that serves one request at a time).
   * @default the cores (`sample.cores`)
   */
  probeLimit?: number;
  /**
   * Seed of the probe jitter. @default one of its own per controller, from the process id and a
   * per-process count, so orchestrators started together do not probe in lockstep
   */
  seed?: number;
}

/** Intervals a probe may wait at the pinned limit for a run that started and finished there. */
export const MAX_PROBE_INTERVALS = 5;

let controllersMade = 0;

/** A seed of its own for each controller: differs between processes and within one. */
function defaultSeed(): number {
  controllersMade++;
  return (Math.imul(process.pid, 0x9e3779b1) + controllersMade) >>> 0;
}

/**
 * A latency-driven controller in the manner of Envoy's adaptive concurrency filter.
 *
 * - **Baseline.** The latency of a run with no contention, measured with the limit pinned at
 *   `probeLimit`, the cores by default (as Envoy pins `min_concurrency`), at the first sample
 *   and then every `probeIntervalMs` plus jitter. Only runs that started after the pin count
 *   (`sample.latencyAtLimitMs`): the runs admitted under the old limit finish during the probe
 *   and would inflate it. The probe holds the pin until such a run has finished (at most
 *   {@link MAX_PROBE_INTERVALS} intervals), then restores the limit. Whenever the limit sits
 *   at or below `probeLimit` anyway, its latency is a fresh baseline at no cost. Between probes
 *   the baseline stays as measured: blended with loaded latency (Gradient2's moving baseline,
 *   Vegas) it follows the load upward and drifts to the maximum over tens of minutes; lowered
 *   to each lower interval mean, it ratchets down to the luckiest noise and starves the limit.
 *   Nor is it measured at a fraction of the current limit: half of an oversubscribed limit is
 *   still oversubscribed, and the gradient then settles far above the knee.
 * - **Gradient.** `clamp(baseline × (1 + buffer) / latency, 0.5, 2)` once per interval;
 *   `next = gradient × limit + √(gradient × limit)` (small headroom so the pool keeps a queue).
 *   On C cores a CPU-bound run at limit L > C takes L / C times its baseline, so above
 *   C × (1 + buffer) the gradient is C × (1 + buffer) / L and the next limit is
 *   C × (1 + buffer) + √(C × (1 + buffer)), or half the limit plus its root, both rounded: no
 *   limit above the first (and above 3, where halving and rounding meet) is a fixed point.
 * - **Brakes.** The error-rate and GPU rules of the threshold controller apply first, as one
 *   multiplicative decrease (× 0.5 at most once per interval). A task's own errors count only
 *   through the error-rate rule. CPU contention is left to the latency gradient, which sees it.
 * - **App-limited.** No growth unless the limit bound at this sample and the one before
 *   (`sample.boundStreak >= 2`): latency says nothing about a limit the work does not reach.
 *
 * Its state (baseline, probe schedule) changes only with the samples it is given, and time is
 * read only from `sample.at`, so a simulation replays exactly for a given seed.
 */
export function createGradientController(options: GradientOptions = {}): Controller {
  const { buffer = 0.25, probeIntervalMs = 60_000, probeLimit, seed = defaultSeed() } = options;
  checkOptions({ buffer, probeIntervalMs, probeLimit, seed });
  const random = seededRandom(seed);
  let baselineMs: number | undefined;
  let nextProbeAt: number | undefined;
  let probing: { restoreTo: number; intervals: number } | undefined;

  const scheduleProbe = (now: number): void => {
    nextProbeAt = now + probeIntervalMs * (1 + 0.25 * random());
  };
  const endProbe = (now: number, restoreTo: number, config: AdaptiveConfig): Decision => {
    probing = undefined;
    scheduleProbe(now);
    return { limit: clampLimit(restoreTo, config), reason: 'probe' };
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
      const pin = clampLimit(probeLimit ?? sample.cores, config);
      const atPin = sample.limit <= pin ? sample.latencyAtLimitMs : undefined;
      if (probing !== undefined) {
        probing.intervals++;
        if (atPin !== undefined) {
          baselineMs = atPin;
          return endProbe(sample.at, probing.restoreTo, config);
        }
        // Runs longer than the intervals: keep the old baseline, or take what there is.
        if (probing.intervals >= MAX_PROBE_INTERVALS) {
          baselineMs ??= sample.latencyMs;
          return endProbe(sample.at, probing.restoreTo, config);
        }
        return { limit: pin, reason: 'probe' };
      }
      const due = nextProbeAt === undefined || sample.at >= nextProbeAt;
      if (atPin !== undefined) {
        // Already at the pinned limit: this interval is a probe that cost nothing.
        baselineMs = atPin;
        if (due) scheduleProbe(sample.at);
      } else if (baselineMs === undefined || due) {
        if (sample.latencyMs === undefined)
          return { limit: clampLimit(sample.limit, config), reason: 'hold' };
        probing = { restoreTo: sample.limit, intervals: 0 };
        return { limit: pin, reason: 'probe' };
      }
      const latency = sample.latencyMs;
      if (latency === undefined || latency <= 0) {
        return { limit: clampLimit(sample.limit, config), reason: 'hold' };
      }
      const gradient = Math.min(2, Math.max(0.5, (baselineMs * (1 + buffer)) / latency));
      const scaled = gradient * sample.limit;
      const next = clampLimit(Math.round(scaled + Math.sqrt(scaled)), config);
      if (next > sample.limit && sample.boundStreak < 2) {
        return { limit: clampLimit(sample.limit, config), reason: 'app-limited' };
      }
      return { limit: next, reason: next === sample.limit ? 'hold' : 'latency' };
    },
  };
}

/** @throws TypeError or RangeError naming the bad option and its value. */
function checkOptions(options: Required<Omit<GradientOptions, 'probeLimit'>> & GradientOptions): void {
  assertFinite('buffer', options.buffer);
  if (options.buffer < 0) throw new RangeError(`buffer must be >= 0, got ${describe(options.buffer)}`);
  assertInteger('probeIntervalMs', options.probeIntervalMs, 1);
  if (options.probeLimit !== undefined) assertInteger('probeLimit', options.probeLimit, 1);
  assertFinite('seed', options.seed);
}
