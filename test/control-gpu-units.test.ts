import { describe, expect, it } from 'vitest';
import type { AdaptSample } from 'node-orchestrator';
// Internal to the package (not exported), so imported from its source.
import { decideGpuUnits, withoutGpuSignals } from '../src/control/gpu-units.js';
import { modelConfig } from './support/simulation.js';

const config = modelConfig({ minLimit: 1, maxLimit: 16 });
const sample: AdaptSample = {
  at: 0,
  limit: 8,
  inFlight: 8,
  queueDepth: 0,
  completed: 10,
  cores: 4,
  boundStreak: 0,
};
const gpu = { limit: 4, max: 4, inUse: 4, waiting: 3 };

describe('the GPU rules on a gpu resource (#13)', () => {
  it.each([
    ['gpu-wait', { gpuWaitSeconds: 6 }],
    ['gpu-utilization', { gpuUtilization: 0.97 }],
  ] as const)('%s over its threshold takes decreaseStep units away, never below 1', (reason, signal) => {
    expect(decideGpuUnits({ ...sample, ...signal }, config, gpu)).toEqual({ limit: 2, reason });
    expect(decideGpuUnits({ ...sample, ...signal }, config, { ...gpu, limit: 1 })).toEqual({
      limit: 1,
      reason,
    });
  });

  it('checks GPU wait before GPU utilization', () => {
    const both = { ...sample, gpuWaitSeconds: 9, gpuUtilization: 1 };
    expect(decideGpuUnits(both, config, gpu).reason).toBe('gpu-wait');
  });

  it('gives units back by increaseStep, up to those declared, while every unit is held and GPU runs wait', () => {
    const shrunk = { ...gpu, limit: 1, inUse: 1 };
    expect(decideGpuUnits(sample, config, shrunk)).toEqual({ limit: 3, reason: 'queue-depth' });
    expect(decideGpuUnits(sample, config, { ...shrunk, limit: 3, inUse: 3 })).toEqual({
      limit: 4,
      reason: 'queue-depth',
    });
  });

  it('holds when units are free, nothing waits, or all declared units are given', () => {
    expect(decideGpuUnits(sample, config, { ...gpu, limit: 2, inUse: 1 })).toEqual({
      limit: 2,
      reason: 'hold',
    });
    expect(decideGpuUnits(sample, config, { ...gpu, limit: 2, inUse: 2, waiting: 0 })).toEqual({
      limit: 2,
      reason: 'hold',
    });
    expect(decideGpuUnits(sample, config, gpu)).toEqual({ limit: 4, reason: 'hold' });
  });

  it('the pool’s controller then sees no GPU signals', () => {
    const full = { ...sample, gpuUtilization: 0.99, gpuWaitSeconds: 7, cpuLoad: 0.5 };
    expect(withoutGpuSignals(full)).toEqual({
      ...sample,
      cpuLoad: 0.5,
      gpuUtilization: undefined,
      gpuWaitSeconds: undefined,
    });
  });
});
