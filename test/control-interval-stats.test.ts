import { describe, expect, it } from 'vitest';
// Internal to the package (not exported), so imported from its source.
import { IntervalStats } from '../src/control/interval-stats.js';

const state = { limit: 4, inFlight: 4, queueDepth: 0 };

/** Interval statistics on a clock the test sets, counting how often it is read. */
function onClock(): { stats: IntervalStats; at: (ms: number) => void; reads: () => number } {
  let now = 0;
  let reads = 0;
  const stats = new IntervalStats(() => (reads++, now));
  return { stats, at: (ms) => (now = ms), reads: () => reads };
}

describe('interval statistics of the adaptation loop', () => {
  it('averages the worker time of the interval and starts afresh at each take', () => {
    const { stats, at } = onClock();
    stats.limitIs(4);
    at(100);
    stats.record(10);
    at(200);
    stats.record(30);
    expect(stats.take(state)).toMatchObject({ completed: 2, latencyMs: 20, latencyAtLimitMs: 20 });
    expect(stats.take(state)).toMatchObject({
      completed: 0,
      latencyMs: undefined,
      latencyAtLimitMs: undefined,
    });
  });

  it('counts at the limit only the runs that started after it last changed (#13)', () => {
    const { stats, at } = onClock();
    stats.limitIs(16);
    at(990);
    stats.record(40); // started at 950, under limit 16, finished in this interval
    at(1000);
    stats.limitIs(1);
    at(1010);
    stats.record(45); // started at 965, before the change: still limit 16's
    at(1020);
    stats.record(5); // started at 1015, after it
    at(1025);
    stats.record(5);
    const figures = stats.take({ ...state, limit: 1 });
    expect(figures.completed).toBe(4);
    expect(figures.latencyMs).toBeCloseTo(23.75, 10);
    expect(figures.latencyAtLimitMs).toBe(5);
    // Setting the same limit again is no change.
    stats.limitIs(1);
    at(2010);
    stats.record(5);
    expect(stats.take({ ...state, limit: 1 }).latencyAtLimitMs).toBe(5);
  });

  it('reads the clock only while an older reading cannot place a run after the last change', () => {
    const { stats, at, reads } = onClock();
    stats.limitIs(4);
    at(1000);
    stats.limitIs(8);
    const afterChange = reads();
    at(1003);
    stats.record(2); // an older reading (1000) cannot tell: read once
    expect(reads()).toBe(afterChange + 1);
    for (let i = 0; i < 1000; i++) stats.record(2); // 1003 - 2 >= 1000: no more reads
    expect(reads()).toBe(afterChange + 1);
    expect(stats.take({ ...state, limit: 8 })).toMatchObject({ completed: 1001, latencyAtLimitMs: 2 });
  });

  it('counts the samples in a row at which the limit bound: runs queued, or more in flight than a lowered limit (#13)', () => {
    const { stats } = onClock();
    expect(stats.take({ limit: 4, inFlight: 8, queueDepth: 3 }).boundStreak).toBe(1);
    expect(stats.take({ limit: 4, inFlight: 6, queueDepth: 0 }).boundStreak).toBe(2);
    expect(stats.take({ limit: 4, inFlight: 4, queueDepth: 0 }).boundStreak).toBe(0);
    expect(stats.take({ limit: 4, inFlight: 8, queueDepth: 1 }).boundStreak).toBe(1);
  });
});
