import { describe, expect, it } from 'vitest';
import { movingAverage } from '../src/internal/moving-average.js';

describe('movingAverage', () => {
  it('is the first sample itself, then moves `weight` of the way towards each new one', () => {
    const first = movingAverage(undefined, 10, 0.3);
    expect(first).toBe(10);
    expect(movingAverage(first, 20, 0.3)).toBeCloseTo(13, 12);
    expect(movingAverage(first, 20, 1)).toBe(20);
  });
});
