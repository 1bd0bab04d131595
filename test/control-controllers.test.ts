import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  createGradientController,
  thresholdController,
  type AdaptSample,
  type Controller,
} from 'node-orchestrator';
import { modelConfig } from './support/simulation.js';

const config = modelConfig({ minLimit: 1, maxLimit: 16 });
const base: AdaptSample = {
  at: 0,
  limit: 8,
  inFlight: 8,
  queueDepth: 0,
  completed: 100,
  cores: 4,
  boundStreak: 0,
};
/** A deep queue that has bound the limit for a while. */
const backlog = { queueDepth: 100, boundStreak: 5 } as const;

describe('threshold controller', () => {
  it.each([
    ['error-rate', { errorRate: 0.5 }],
    ['gpu-wait', { gpuWaitSeconds: 6 }],
    ['gpu-utilization', { gpuUtilization: 0.97 }],
    ['cpu-load', { cpuLoad: 0.99 }],
  ] as const)('decreases by decreaseStep when %s is over its threshold', (reason, signal) => {
    expect(thresholdController.decide({ ...base, ...signal }, config)).toEqual({ limit: 6, reason });
  });

  it('checks the brakes in order: error rate, GPU wait, GPU utilization, CPU load', () => {
    const all = { errorRate: 0.9, gpuWaitSeconds: 9, gpuUtilization: 1, cpuLoad: 1 };
    expect(thresholdController.decide({ ...base, ...all }, config).reason).toBe('error-rate');
    expect(thresholdController.decide({ ...base, ...all, errorRate: 0 }, config).reason).toBe('gpu-wait');
    expect(thresholdController.decide({ ...base, gpuUtilization: 1, cpuLoad: 1 }, config).reason).toBe(
      'gpu-utilization',
    );
  });

  it('grows by increaseStep when the queue is over the watermark and nothing is overloaded', () => {
    expect(thresholdController.decide({ ...base, ...backlog, queueDepth: 51 }, config)).toEqual({
      limit: 10,
      reason: 'queue-depth',
    });
    expect(thresholdController.decide({ ...base, ...backlog, queueDepth: 50 }, config)).toEqual({
      limit: 8,
      reason: 'hold',
    });
  });

  it('grows only when the limit bound at this sample and the one before (app-limited guard, #13)', () => {
    expect(thresholdController.decide({ ...base, queueDepth: 100, boundStreak: 1 }, config)).toEqual({
      limit: 8,
      reason: 'app-limited',
    });
    expect(thresholdController.decide({ ...base, queueDepth: 100, boundStreak: 2 }, config).limit).toBe(10);
  });

  it('shrinks on CPU load down to the cores, never below them (#13)', () => {
    const busy = { ...base, cores: 2, cpuLoad: 1 };
    expect(thresholdController.decide({ ...busy, limit: 5 }, config)).toEqual({
      limit: 3,
      reason: 'cpu-load',
    });
    expect(thresholdController.decide({ ...busy, limit: 3 }, config)).toEqual({
      limit: 2,
      reason: 'cpu-load',
    });
    expect(thresholdController.decide({ ...busy, limit: 2 }, config)).toEqual({ limit: 2, reason: 'hold' });
    // The other brakes still go below the cores.
    expect(thresholdController.decide({ ...busy, limit: 3, errorRate: 1 }, config).limit).toBe(1);
  });

  it('ignores absent signals and a busy CPU while the limit does not exceed the cores', () => {
    expect(thresholdController.decide({ ...base, limit: 4, cpuLoad: 1 }, config)).toEqual({
      limit: 4,
      reason: 'hold',
    });
    expect(thresholdController.decide({ ...base, ...backlog, cpuLoad: undefined }, config).reason).toBe(
      'queue-depth',
    );
  });

  it('clamps to [minLimit, maxLimit]', () => {
    expect(thresholdController.decide({ ...base, ...backlog, limit: 16 }, config).limit).toBe(16);
    expect(thresholdController.decide({ ...base, limit: 1, errorRate: 1 }, config).limit).toBe(1);
  });
});

/** A gradient controller past its first probe: baseline `baselineMs`, measured at the cores (4). */
function probed(
  baselineMs: number,
  options: Parameters<typeof createGradientController>[0] = {},
): Controller {
  const gradient = createGradientController({ seed: 7, ...options });
  gradient.decide({ ...base, latencyMs: 4 * baselineMs }, config);
  gradient.decide(
    { ...base, at: 5000, limit: 4, latencyMs: 2 * baselineMs, latencyAtLimitMs: baselineMs },
    config,
  );
  return gradient;
}

describe('gradient controller', () => {
  it('pins the limit at the cores for its baseline, counts only runs started at the pin, then restores the limit (#13)', () => {
    const gradient = createGradientController({ seed: 7 });
    expect(gradient.decide({ ...base, limit: 8, latencyMs: 40 }, config)).toEqual({
      limit: 4,
      reason: 'probe',
    });
    // Runs admitted at limit 8 still finish in the pinned interval: the whole mean is not the baseline.
    expect(
      gradient.decide({ ...base, at: 5000, limit: 4, latencyMs: 30, latencyAtLimitMs: 10 }, config),
    ).toEqual({ limit: 8, reason: 'probe' });
    // Baseline 10 ms, not 30: at 8 runs taking 20 ms the gradient is 10 × 1.25 / 20, and
    // next = 5 + √5 (with 30 it would be 1.875 and the limit would grow).
    expect(gradient.decide({ ...base, at: 10_000, ...backlog, latencyMs: 20 }, config)).toEqual({
      limit: 7,
      reason: 'latency',
    });
  });

  it('holds the pin until a run that started there has finished, at most MAX_PROBE_INTERVALS intervals', () => {
    const gradient = createGradientController({ seed: 7 });
    expect(gradient.decide({ ...base, latencyMs: 900 }, config).reason).toBe('probe');
    for (let k = 1; k < 5; k++) {
      expect(gradient.decide({ ...base, at: k * 5000, limit: 4, latencyMs: 900 }, config)).toEqual({
        limit: 4,
        reason: 'probe',
      });
    }
    expect(gradient.decide({ ...base, at: 25_000, limit: 4, latencyMs: 900 }, config)).toEqual({
      limit: 8,
      reason: 'probe',
    });
  });

  it('measures the baseline at probeLimit when given one', () => {
    const gradient = createGradientController({ seed: 7, probeLimit: 3 });
    expect(gradient.decide({ ...base, latencyMs: 40 }, config)).toEqual({ limit: 3, reason: 'probe' });
  });

  it('takes a fresh baseline at no cost while the limit sits at the pin', () => {
    const gradient = probed(10);
    // At the pin, runs now take 20 ms (the work got heavier): that is the new baseline, so at
    // limit 4 the gradient is 1.25 and the limit grows (against the old 10 ms it would hold).
    expect(
      gradient.decide(
        { ...base, at: 10_000, limit: 4, ...backlog, latencyMs: 20, latencyAtLimitMs: 20 },
        config,
      ),
    ).toEqual({ limit: 7, reason: 'latency' });
  });

  it('shrinks when latency rises over the buffered baseline and grows (with headroom) while it holds', () => {
    const gradient = probed(10);
    // 2.5 × the baseline: gradient 0.5, next = 4 + 2.
    expect(gradient.decide({ ...base, at: 10_000, ...backlog, latencyMs: 25 }, config)).toEqual({
      limit: 6,
      reason: 'latency',
    });
    // At the baseline: gradient 1.25, next = 7.5 + √7.5 → 10.
    expect(gradient.decide({ ...base, at: 15_000, limit: 6, ...backlog, latencyMs: 10 }, config)).toEqual({
      limit: 10,
      reason: 'latency',
    });
  });

  it('has no fixed point above the knee: on C cores, from any limit, it settles at most at round(C·1.25 + √(C·1.25)) or 3 (#13)', () => {
    const wide = modelConfig({ minLimit: 1, maxLimit: 128 });
    for (let cores = 1; cores <= 32; cores++) {
      const knee = Math.max(3, Math.round(1.25 * cores + Math.sqrt(1.25 * cores)));
      for (let start = 1; start <= wide.maxLimit; start += 7) {
        const gradient = createGradientController({ seed: 7 });
        let limit = start;
        for (let k = 0; k < 30; k++) {
          // Time-sliced fixed work: at limit L > C each run takes L / C times its bare 10 ms.
          const latencyMs = 10 * Math.max(1, limit / cores);
          const sample = {
            ...base,
            cores,
            at: k * 5000,
            limit,
            ...backlog,
            latencyMs,
            latencyAtLimitMs: latencyMs,
          };
          limit = gradient.decide(sample, wide).limit;
        }
        expect(limit, `${cores} cores from ${start}`).toBeLessThanOrEqual(knee);
        expect(limit, `${cores} cores from ${start}`).toBeGreaterThanOrEqual(cores);
      }
    }
  });

  it('re-probes after probeIntervalMs plus seeded jitter, the same way on every run', () => {
    const trace = (seed: number): number[] => {
      const gradient = createGradientController({ probeIntervalMs: 20_000, seed });
      const probes: number[] = [];
      let limit = 8;
      for (let k = 0; k < 400; k++) {
        const pinned = limit === 4;
        const decision = gradient.decide(
          {
            ...base,
            ...backlog,
            at: k * 1000,
            limit,
            latencyMs: 10,
            latencyAtLimitMs: pinned ? 8 : undefined,
          },
          config,
        );
        if (decision.reason === 'probe' && decision.limit === 4) probes.push(k);
        limit = decision.reason === 'probe' ? decision.limit : 8;
      }
      return probes;
    };
    const probes = trace(3);
    expect(probes.length).toBeGreaterThan(10);
    expect(trace(3)).toEqual(probes);
    expect(trace(4)).not.toEqual(probes);
    // The pinned interval, then 20 s plus up to 25% of 1 s intervals.
    for (let i = 1; i < probes.length; i++) {
      expect(probes[i]! - probes[i - 1]!).toBeGreaterThanOrEqual(21);
      expect(probes[i]! - probes[i - 1]!).toBeLessThanOrEqual(26);
    }
  });

  it('seeds its jitter from the process and a count of its own, so controllers started together do not probe in lockstep (#13)', () => {
    // Two processes, as two orchestrators started at once on one host; each prints its probe times.
    const script = `
      import { createGradientController } from 'node-orchestrator';
      const times = [];
      for (const g of [createGradientController({ probeIntervalMs: 60000 }), createGradientController({ probeIntervalMs: 60000 })]) {
        const probes = [];
        let limit = 8;
        for (let k = 0; k < 2000; k++) {
          const d = g.decide({ at: k * 1000, limit, inFlight: 16, queueDepth: 9, completed: 9, cores: 4,
            boundStreak: 9, latencyMs: 10, latencyAtLimitMs: limit === 4 ? 8 : undefined }, ${JSON.stringify(config)});
          if (d.reason === 'probe' && d.limit === 4) probes.push(k);
          limit = d.reason === 'probe' ? d.limit : 8;
        }
        times.push(probes);
      }
      console.log(JSON.stringify(times));`;
    const run = (): number[][] =>
      JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
      ) as number[][];
    const [a, b] = [run(), run()];
    const schedules = [...a, ...b].map((probes) => probes.slice(1).join(','));
    // The first probe comes at the first sample for all; after it, four different schedules.
    expect(new Set(schedules).size).toBe(4);
  });

  it('does not grow unless the limit bound at this sample and the one before (app-limited guard, #13)', () => {
    const gradient = probed(10);
    expect(
      gradient.decide(
        { ...base, at: 10_000, limit: 4, queueDepth: 30, boundStreak: 1, latencyMs: 10 },
        config,
      ),
    ).toEqual({ limit: 4, reason: 'app-limited' });
    expect(
      gradient.decide(
        { ...base, at: 15_000, limit: 4, queueDepth: 30, boundStreak: 2, latencyMs: 10 },
        config,
      ).limit,
    ).toBeGreaterThan(4);
  });

  it('halves the limit once per interval on an overload signal, whatever its latency says', () => {
    const gradient = createGradientController();
    expect(gradient.decide({ ...base, limit: 12, errorRate: 0.8, latencyMs: 1 }, config)).toEqual({
      limit: 6,
      reason: 'error-rate',
    });
  });

  it.each([
    [{ buffer: -1 }, /buffer must be >= 0, got -1/],
    [{ probeIntervalMs: 0 }, /probeIntervalMs must be an integer >= 1, got 0/],
    [{ probeLimit: 1.5 }, /probeLimit must be an integer >= 1, got 1.5/],
    [{ seed: Number.NaN }, /seed must be a finite number, got NaN/],
  ])('refuses bad options, naming the field and the value: %o', (options, message) => {
    expect(() => createGradientController(options)).toThrow(message);
  });
});
