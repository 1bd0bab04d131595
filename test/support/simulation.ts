/**
 * A deterministic model of a service under an adaptive limit, driven by a virtual clock: each
 * step is one adaptation interval. Shared by the controller tests and bench/adaptive-simulation.
 *
 * Kinds of service, each with `capacity` parallel slots at a given time:
 * - `cpu`: a pool of `capacity` cores. Past `capacity` running tasks, each task's latency grows
 *   in proportion (time slicing); throughput stays at capacity / service time. CPU load is the
 *   busy share of the cores.
 * - `io`: a remote service that serves `capacity` requests at once; beyond it requests queue
 *   inside the service (latency grows), and the local CPU stays mostly idle.
 * - `errors`: like `io`, but every request beyond `errorLoad` in flight fails, so goodput falls.
 */
import { ADAPTIVE_DEFAULTS, type AdaptiveConfig, type AdaptSample, type Controller } from 'node-orchestrator';

/** The modelled service. */
export interface ServiceModel {
  kind: 'cpu' | 'io' | 'errors';
  /** Parallel capacity at interval `k` (cores, or service slots). */
  capacity: (k: number) => number;
  /** Service time of one task at no load, in ms. */
  serviceMs: number;
  /** For `errors`: in-flight requests beyond which requests fail. */
  errorLoad?: number;
  /** Extra error rate injected at interval `k` (an error burst), 0..1. */
  injectedErrors?: (k: number) => number;
}

/** One interval of a run. */
export interface Step {
  k: number;
  limit: number;
  /** Goodput over the interval, tasks/s. */
  throughput: number;
  latencyMs: number;
  queue: number;
  errorRate: number;
  reason: string;
}

/** A scenario: the service, the demand, and how long. */
export interface Scenario {
  service: ServiceModel;
  /** Arrivals per second at interval `k`. */
  demandPerSec: (k: number) => number;
  intervals: number;
  intervalMs?: number;
  cores?: number;
}

/** Adaptive settings for the model (the orchestrator's defaults with a wide maxLimit). */
export function modelConfig(overrides: Partial<AdaptiveConfig> = {}): AdaptiveConfig {
  return { ...ADAPTIVE_DEFAULTS, minLimit: 1, maxLimit: 64, ...overrides };
}

/** Runs a scenario under a controller (or a fixed limit when `controller` is a number). */
export function simulate(
  scenario: Scenario,
  controller: Controller | number,
  config: AdaptiveConfig,
  baseLimit = 4,
): Step[] {
  const { service, demandPerSec, intervals, intervalMs = 5000 } = scenario;
  const seconds = intervalMs / 1000;
  let limit = typeof controller === 'number' ? controller : baseLimit;
  let queue = 0;
  const steps: Step[] = [];
  for (let k = 0; k < intervals; k++) {
    const capacity = service.capacity(k);
    const offered = queue + demandPerSec(k) * seconds;
    const slotSeconds = (service.serviceMs / 1000) * 1; // one task holds a slot this long at no load
    const maxRate = Math.min(limit, capacity) / slotSeconds;
    const completed = Math.min(offered, maxRate * seconds);
    queue = offered - completed;
    // Average tasks in flight: all slots while a backlog remains, else what the demand needs.
    const active = queue > 1e-9 ? limit : Math.min(limit, (completed * slotSeconds) / seconds);
    const slowdown = Math.max(1, active / capacity);
    const latencyMs = service.serviceMs * slowdown;
    let errorRate = service.injectedErrors?.(k) ?? 0;
    if (service.kind === 'errors' && service.errorLoad !== undefined && active > service.errorLoad) {
      errorRate = Math.max(errorRate, (active - service.errorLoad) / active);
    }
    const throughput = (completed * (1 - errorRate)) / seconds;
    const sample: AdaptSample = {
      at: k * intervalMs,
      limit,
      inFlight: Math.round(active),
      queueDepth: Math.round(queue),
      completed: Math.round(completed),
      cores: scenario.cores ?? capacity,
      latencyMs,
      errorRate,
      cpuLoad: service.kind === 'cpu' ? Math.min(1, active / capacity) : 0.05,
    };
    let reason = 'fixed';
    if (typeof controller !== 'number') {
      const decision = controller.decide(sample, config);
      reason = decision.reason;
      steps.push({ k, limit, throughput, latencyMs, queue, errorRate, reason });
      limit = Math.min(config.maxLimit, Math.max(config.minLimit, Math.round(decision.limit)));
    } else {
      steps.push({ k, limit, throughput, latencyMs, queue, errorRate, reason });
    }
  }
  return steps;
}

/** Mean goodput over steps [from, to). */
export function meanThroughput(steps: readonly Step[], from: number, to = steps.length): number {
  const slice = steps.slice(from, to);
  return slice.reduce((sum, s) => sum + s.throughput, 0) / slice.length;
}

/** The best goodput any fixed limit reaches in steady state for this scenario. */
export function bestStatic(scenario: Scenario, config: AdaptiveConfig, from: number, to: number): number {
  let best = 0;
  for (let limit = config.minLimit; limit <= config.maxLimit; limit++) {
    best = Math.max(best, meanThroughput(simulate(scenario, limit, config), from, to));
  }
  return best;
}
