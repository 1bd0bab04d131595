import { describe, expect, it } from 'vitest';
import { movingAverage, WarmedEstimate } from '../src/internal/moving-average.js';

describe('movingAverage', () => {
  it('is the first sample itself, then moves `weight` of the way towards each new one', () => {
    const first = movingAverage(undefined, 10, 0.3);
    expect(first).toBe(10);
    expect(movingAverage(first, 20, 0.3)).toBeCloseTo(13, 12);
    expect(movingAverage(first, 20, 1)).toBe(20);
  });
});

describe('WarmedEstimate', () => {
  it('is undefined before a sample, then the fastest of the warm-up samples', () => {
    const estimate = new WarmedEstimate(0.5, 3);
    expect(estimate.ms).toBeUndefined();
    estimate.record(116);
    expect(estimate.ms).toBe(116);
    estimate.record(0.2);
    estimate.record(0.4);
    expect(estimate.ms).toBe(0.2);
  });

  it('moves `weight` of the way towards each sample after the warm-up, slower ones included', () => {
    const estimate = new WarmedEstimate(0.5, 2);
    estimate.record(10);
    estimate.record(4);
    estimate.record(8);
    expect(estimate.ms).toBe(6);
    estimate.record(2);
    expect(estimate.ms).toBe(4);
  });

  it('ignores samples that are not a finite number of at least 0', () => {
    const estimate = new WarmedEstimate(0.5, 1);
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
      estimate.record(bad);
    expect(estimate.ms).toBeUndefined();
    estimate.record(3);
    estimate.record(Number.NaN);
    estimate.record(5);
    expect(estimate.ms).toBe(4);
  });
});
