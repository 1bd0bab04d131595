import { describe, expect, it } from 'vitest';
import { createGradientController, thresholdController, type AdaptSample } from 'node-orchestrator';
import { modelConfig } from './support/simulation.js';

const config = modelConfig({ minLimit: 1, maxLimit: 16 });
const base: AdaptSample = { at: 0, limit: 8, inFlight: 8, queueDepth: 0, completed: 100, cores: 4 };

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
    expect(thresholdController.decide({ ...base, queueDepth: 51 }, config)).toEqual({
      limit: 10,
      reason: 'queue-depth',
    });
    expect(thresholdController.decide({ ...base, queueDepth: 50 }, config)).toEqual({
      limit: 8,
      reason: 'hold',
    });
  });

  it('ignores absent signals and a busy CPU while the limit does not exceed the cores', () => {
    expect(thresholdController.decide({ ...base, limit: 4, cpuLoad: 1 }, config)).toEqual({
      limit: 4,
      reason: 'hold',
    });
    expect(thresholdController.decide({ ...base, queueDepth: 100, cpuLoad: undefined }, config).reason).toBe(
      'queue-depth',
    );
  });

  it('clamps to [minLimit, maxLimit]', () => {
    expect(thresholdController.decide({ ...base, limit: 16, queueDepth: 1000 }, config).limit).toBe(16);
    expect(thresholdController.decide({ ...base, limit: 1, errorRate: 1 }, config).limit).toBe(1);
  });
});

describe('gradient controller', () => {
  it('measures its baseline at a pinned half limit first, then restores the limit', () => {
    const gradient = createGradientController({ seed: 7 });
    const first = gradient.decide({ ...base, limit: 8, latencyMs: 10 }, config);
    expect(first).toEqual({ limit: 4, reason: 'probe' });
    const restore = gradient.decide({ ...base, at: 5000, limit: 4, latencyMs: 10 }, config);
    expect(restore).toEqual({ limit: 8, reason: 'probe' });
  });

  it('shrinks when latency rises over the baseline and grows (with headroom) while it holds', () => {
    const gradient = createGradientController({ seed: 7 });
    gradient.decide({ ...base, latencyMs: 10 }, config);
    gradient.decide({ ...base, at: 5000, limit: 4, latencyMs: 10 }, config);
    // Twice the baseline: gradient 0.5, next = 4 + 2.
    expect(gradient.decide({ ...base, at: 10_000, limit: 8, queueDepth: 10, latencyMs: 20 }, config)).toEqual(
      {
        limit: 6,
        reason: 'latency',
      },
    );
    // At the baseline: gradient 1, next = 6 + sqrt(6) → 8.
    expect(
      gradient.decide({ ...base, at: 15_000, limit: 6, inFlight: 6, queueDepth: 10, latencyMs: 10 }, config),
    ).toEqual({
      limit: 8,
      reason: 'latency',
    });
  });

  it('re-probes after probeIntervalMs plus seeded jitter, the same way on every run', () => {
    const trace = (): number[] => {
      const gradient = createGradientController({ probeIntervalMs: 20_000, seed: 3 });
      const probes: number[] = [];
      for (let k = 0; k < 40; k++) {
        const decision = gradient.decide({ ...base, at: k * 5000, queueDepth: 10, latencyMs: 10 }, config);
        if (decision.reason === 'probe') probes.push(k);
      }
      return probes;
    };
    const probes = trace();
    expect(probes.length).toBeGreaterThan(4);
    expect(trace()).toEqual(probes);
    const gaps = probes
      .slice(2)
      .filter((_, i) => i % 2 === 0)
      .map((k, i) => k - probes[i * 2]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(4);
  });

  it('does not grow while app-limited: no queue and slots unused', () => {
    const gradient = createGradientController();
    gradient.decide({ ...base, latencyMs: 10 }, config);
    gradient.decide({ ...base, at: 5000, limit: 4, latencyMs: 10 }, config);
    expect(
      gradient.decide({ ...base, at: 10_000, limit: 8, inFlight: 3, queueDepth: 0, latencyMs: 10 }, config),
    ).toEqual({
      limit: 8,
      reason: 'app-limited',
    });
  });

  it('halves the limit once per interval on an overload signal, whatever its latency says', () => {
    const gradient = createGradientController();
    expect(gradient.decide({ ...base, limit: 12, errorRate: 0.8, latencyMs: 1 }, config)).toEqual({
      limit: 6,
      reason: 'error-rate',
    });
  });
});
