import { describe, expect, it } from 'vitest';
// Internal to the package (not exported), so imported from its source.
import { IntervalStats } from '../src/control/interval-stats.js';

const state = { limit: 4, inFlight: 4, queueDepth: 0 };

describe('interval statistics of the adaptation loop', () => {
  it('averages the worker time of the interval and starts afresh at each take', () => {
    const stats = new IntervalStats();
    stats.limitIs(4, 0);
    stats.record(10, 100);
    stats.record(30, 200);
    expect(stats.take(state)).toMatchObject({ completed: 2, latencyMs: 20, latencyAtLimitMs: 20 });
    expect(stats.take(state)).toMatchObject({
      completed: 0,
      latencyMs: undefined,
      latencyAtLimitMs: undefined,
    });
  });

  it('counts at the limit only the runs that started after it last changed (#13)', () => {
    const stats = new IntervalStats();
    stats.limitIs(16, 0);
    stats.record(40, 990); // started at 950, under limit 16, finished in this interval
    stats.limitIs(1, 1000);
    stats.record(45, 1010); // started at 965, before the change: still limit 16's
    stats.record(5, 1020); // started at 1015, after it
    stats.record(5, 1025);
    const figures = stats.take({ ...state, limit: 1 });
    expect(figures.completed).toBe(4);
    expect(figures.latencyMs).toBeCloseTo(23.75, 10);
    expect(figures.latencyAtLimitMs).toBe(5);
    // Setting the same limit again is no change.
    stats.limitIs(1, 2000);
    stats.record(5, 2010);
    expect(stats.take({ ...state, limit: 1 }).latencyAtLimitMs).toBe(5);
  });

  it('counts the samples in a row at which the limit bound: runs queued, or staged behind running ones (#13)', () => {
    const stats = new IntervalStats();
    expect(stats.take({ limit: 4, inFlight: 8, queueDepth: 3 }).boundStreak).toBe(1);
    expect(stats.take({ limit: 4, inFlight: 6, queueDepth: 0 }).boundStreak).toBe(2);
    expect(stats.take({ limit: 4, inFlight: 4, queueDepth: 0 }).boundStreak).toBe(0);
    expect(stats.take({ limit: 4, inFlight: 8, queueDepth: 1 }).boundStreak).toBe(1);
  });
});
