/**
 * A deterministic model of a worker pool under an adaptive limit, driven by a virtual clock: each
 * step is one adaptation interval, and inside it every start and finish of a task is an event.
 * Shared by the controller tests and bench/adaptive.bench.ts.
 *
 * Every task of a scenario does the same fixed work, so tasks finish in the order they start.
 * Kinds of service:
 * - `cpu`: `capacity` cores time-slice the running tasks (processor sharing): n running tasks
 *   each progress at min(1, cores / n) of a core, so past the cores each task takes longer in
 *   proportion and throughput stays at cores / work. Oversubscription also costs `switchCost`
 *   of the useful work per thread beyond the cores (context switches, cold caches): measured on
 *   this 2-core machine, 14 threads of 5 ms tasks did about 0.82 of the work of 4 threads.
 *   CPU load is the busy share of the cores, read as the real sampler reads it: averaged over
 *   `cpuSampleMs` and refreshed only that often, so it lags a limit that changes faster.
 * - `io`: a remote service that serves `capacity` requests at once, shared the same way (beyond
 *   it requests queue inside the service and latency grows); the local CPU stays mostly idle.
 * - `wait`: tasks that wait (a timer, a socket) and do not compute: any number wait at once,
 *   each for `serviceMs`; only the limit bounds the throughput.
 * - `errors`: like `io`, but a share of the requests beyond `errorLoad` in flight fail.
 *
 * Admission follows the engine: a task starts when fewer than `limit` run; lowering the limit
 * pre-empts nothing (the running tasks finish first); up to `2 × limit` runs are admitted
 * (running or staged behind a running task), the rest wait in the queue. Arrivals are a fluid
 * stream of `demandPerSec`.
 */
import { ADAPTIVE_DEFAULTS, type AdaptiveConfig, type AdaptSample, type Controller } from 'node-orchestrator';
import { seededRandom } from './random.js';

/** The modelled service. */
export interface ServiceModel {
  kind: 'cpu' | 'io' | 'wait' | 'errors';
  /** Parallel capacity at interval `k` (cores, or service slots); unused for `wait`. */
  capacity: (k: number) => number;
  /** Work of one task at no load, in ms (CPU time, service time, or the wait). */
  serviceMs: number;
  /** For `cpu`: useful work lost per running thread beyond the cores, as a share. @default 0 */
  switchCost?: number;
  /** For `errors`: in-flight requests beyond which requests fail. */
  errorLoad?: number;
  /** Extra error rate injected at interval `k` (an error burst), 0..1. */
  injectedErrors?: (k: number) => number;
}

/** One interval of a run. */
export interface Step {
  k: number;
  /** The limit in force during the interval. */
  limit: number;
  /** Goodput over the interval, tasks/s. */
  throughput: number;
  /** Mean latency of the tasks finished in the interval (NaN if none finished). */
  latencyMs: number;
  queue: number;
  errorRate: number;
  /** The decision taken at the end of the interval (`fixed` for a fixed limit). */
  reason: string;
}

/** A scenario: the service, the demand, and how long. */
export interface Scenario {
  service: ServiceModel;
  /** Arrivals per second at interval `k`. */
  demandPerSec: (k: number) => number;
  intervals: number;
  intervalMs?: number;
  /** The cores the sample reports. @default the capacity (`cpu`), else 2 */
  cores?: number;
  /** How often the CPU-load reading refreshes, in ms (the sampler's interval). @default intervalMs */
  cpuSampleMs?: number;
  /**
   * Measurement noise: each interval's latencies are reported scaled by a factor drawn
   * uniformly from [1 - noise, 1 + noise] (seeded, so a run replays exactly). @default 0
   */
  noise?: number;
}

/** Adaptive settings for the model (the orchestrator's defaults with a wide maxLimit). */
export function modelConfig(overrides: Partial<AdaptiveConfig> = {}): AdaptiveConfig {
  return { ...ADAPTIVE_DEFAULTS, minLimit: 1, maxLimit: 64, ...overrides };
}

/** CPU load reported for the kinds that do not compute locally. */
const IDLE_CPU = 0.05;

/** Runs a scenario under a controller (or a fixed limit when `controller` is a number). */
export function simulate(
  scenario: Scenario,
  controller: Controller | number,
  config: AdaptiveConfig,
  baseLimit = 4,
): Step[] {
  const { service, demandPerSec, intervals, intervalMs = 5000 } = scenario;
  const cpuSampleMs = scenario.cpuSampleMs ?? intervalMs;
  const work = service.serviceMs;
  const shared = service.kind !== 'wait';
  let limit = typeof controller === 'number' ? controller : baseLimit;
  let now = 0;
  /** Start times and finish marks of the running tasks, oldest first (FIFO = finish order). */
  const starts: number[] = [];
  const marks: number[] = [];
  let head = 0;
  /** Processor-sharing progress: the work every running task has received since time 0. */
  let progress = 0;
  let waiting = 0;
  /** Tasks dropped from the front of `starts`, and the first task started under the current limit. */
  let dropped = 0;
  let firstAtLimit = 0;
  let boundStreak = 0;
  let cpuBusy = 0;
  let cpuReading: number | undefined;
  let nextCpuRead = cpuSampleMs;
  const steps: Step[] = [];
  const random = seededRandom(7);

  const running = (): number => starts.length - head;
  const start = (): void => {
    while (running() < limit && waiting >= 1 - 1e-9) {
      waiting = Math.max(0, waiting - 1);
      starts.push(now);
      marks.push(shared ? progress + work : now + work);
    }
  };

  for (let k = 0; k < intervals; k++) {
    const end = (k + 1) * intervalMs;
    const capacity = service.capacity(k);
    const arrivalRate = demandPerSec(k) / 1000;
    let completed = 0;
    let latencySum = 0;
    let atLimit = 0;
    let atLimitSum = 0;
    let activeTime = 0;
    let busyTime = 0;
    start();
    while (now < end) {
      const n = running();
      const overload = Math.max(0, n - capacity);
      const efficiency = service.kind === 'cpu' ? 1 / (1 + (service.switchCost ?? 0) * overload) : 1;
      const rate = n === 0 ? 0 : Math.min(1, capacity / n) * efficiency;
      let next = Math.min(end, nextCpuRead);
      if (n > 0) next = Math.min(next, shared ? now + (marks[head]! - progress) / rate : marks[head]!);
      // A free slot waits for the fluid arrivals to make up the next task.
      if (n < limit && waiting < 1 && arrivalRate > 0)
        next = Math.min(next, now + (1 - waiting) / arrivalRate);
      const dt = Math.max(0, next - now);
      progress += rate * dt;
      waiting += arrivalRate * dt;
      activeTime += n * dt;
      const busy = Math.min(n, capacity) * dt;
      busyTime += busy;
      cpuBusy += busy;
      now = next;
      while (running() > 0 && (shared ? marks[head]! <= progress + 1e-9 : marks[head]! <= now)) {
        const latency = now - starts[head]!;
        completed++;
        latencySum += latency;
        if (dropped + head >= firstAtLimit) {
          atLimit++;
          atLimitSum += latency;
        }
        head++;
      }
      if (head > 4096 && head * 2 > starts.length) {
        starts.splice(0, head);
        marks.splice(0, head);
        dropped += head;
        head = 0;
      }
      if (now >= nextCpuRead) {
        cpuReading = Math.min(1, cpuBusy / (capacity * cpuSampleMs));
        cpuBusy = 0;
        nextCpuRead += cpuSampleMs;
      }
      start();
    }
    const seconds = intervalMs / 1000;
    const active = activeTime / intervalMs;
    let errorRate = service.injectedErrors?.(k) ?? 0;
    if (service.kind === 'errors' && service.errorLoad !== undefined && active > service.errorLoad) {
      errorRate = Math.max(errorRate, (active - service.errorLoad) / active);
    }
    const throughput = (completed * (1 - errorRate)) / seconds;
    const n = running();
    const queued = Math.floor(waiting);
    const inFlight = Math.min(n + queued, Math.max(n, 2 * limit));
    const queueDepth = n + queued - inFlight;
    boundStreak = queueDepth > 0 || inFlight > limit ? boundStreak + 1 : 0;
    const cpuLoad =
      service.kind !== 'cpu'
        ? IDLE_CPU
        : scenario.cpuSampleMs === undefined
          ? Math.min(1, busyTime / (capacity * intervalMs))
          : cpuReading;
    const skew = 1 + (scenario.noise ?? 0) * (2 * random() - 1);
    const sample: AdaptSample = {
      at: end,
      limit,
      inFlight,
      queueDepth,
      completed,
      cores: scenario.cores ?? (service.kind === 'cpu' ? capacity : 2),
      latencyMs: completed > 0 ? (skew * latencySum) / completed : undefined,
      latencyAtLimitMs: atLimit > 0 ? (skew * atLimitSum) / atLimit : undefined,
      boundStreak,
      errorRate,
      cpuLoad,
    };
    const latencyMs = completed > 0 ? latencySum / completed : Number.NaN;
    let reason = 'fixed';
    if (typeof controller !== 'number') {
      const decision = controller.decide(sample, config);
      reason = decision.reason;
      const next = Math.min(config.maxLimit, Math.max(config.minLimit, Math.round(decision.limit)));
      // Counted by start, not time: a task may start at the very instant of the decision, before it.
      if (next !== limit) firstAtLimit = dropped + starts.length;
      steps.push({ k, limit, throughput, latencyMs, queue: queueDepth, errorRate, reason });
      limit = next;
    } else {
      steps.push({ k, limit, throughput, latencyMs, queue: queueDepth, errorRate, reason });
    }
  }
  return steps;
}

/** Mean goodput over steps [from, to). */
export function meanThroughput(steps: readonly Step[], from: number, to = steps.length): number {
  const slice = steps.slice(from, to);
  return slice.reduce((sum, s) => sum + s.throughput, 0) / slice.length;
}

/** The best goodput any fixed limit in [minLimit, maxLimit] reaches over steps [from, to). */
export function bestStatic(scenario: Scenario, config: AdaptiveConfig, from: number, to: number): number {
  return bestFixed(scenario, config, from, to).throughput;
}

/** The fixed limit with the best goodput over steps [from, to), and that goodput. */
export function bestFixed(
  scenario: Scenario,
  config: AdaptiveConfig,
  from: number,
  to: number,
): { limit: number; throughput: number } {
  let best = { limit: config.minLimit, throughput: 0 };
  for (let limit = config.minLimit; limit <= config.maxLimit; limit++) {
    const throughput = meanThroughput(simulate({ ...scenario, intervals: to }, limit, config), from, to);
    if (throughput > best.throughput) best = { limit, throughput };
  }
  return best;
}
