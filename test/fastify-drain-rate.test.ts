import { describe, expect, it } from 'vitest';
import { DrainRate } from '../src/fastify/drain-rate.js';

/** A clock the test moves by hand. */
function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

describe('DrainRate (the Retry-After estimate)', () => {
  it('has no rate before anything left, and then answers with the whole window', () => {
    const { now, advance } = clock();
    const rate = new DrainRate(5000, 10, now);
    advance(3000);
    expect(rate.perSecond()).toBeUndefined();
    expect(rate.retryAfterSeconds(100)).toBe(5);
  });

  it('measures completions per second over the time since it started, then over the window', () => {
    const { now, advance } = clock();
    const rate = new DrainRate(5000, 10, now);
    for (let i = 0; i < 100; i++) {
      advance(10);
      rate.record();
    }
    expect(rate.perSecond()).toBeCloseTo(100, 6); // 100 in the first second
    for (let i = 0; i < 900; i++) {
      advance(10);
      rate.record();
    }
    // 10 s in: only the last 5 s (500 completions) count.
    expect(rate.perSecond()).toBeCloseTo(100, 0);
    expect(rate.retryAfterSeconds(250)).toBe(3); // ceil(250 / 100) = 3
    expect(rate.retryAfterSeconds(0)).toBe(1);
  });

  it('forgets completions older than the window', () => {
    const { now, advance } = clock();
    const rate = new DrainRate(5000, 10, now);
    for (let i = 0; i < 50; i++) rate.record();
    advance(5600);
    expect(rate.perSecond()).toBeUndefined();
    advance(60_000);
    rate.record();
    // One in the window: nine whole 500 ms buckets behind the current one, 100 ms into it.
    expect(rate.perSecond()).toBeCloseTo(1 / 4.6, 6);
  });

  it('caps the estimate', () => {
    const { now, advance } = clock();
    const rate = new DrainRate(5000, 10, now);
    advance(5000);
    rate.record();
    expect(rate.retryAfterSeconds(1_000_000)).toBe(60);
    expect(rate.retryAfterSeconds(1_000_000, 30)).toBe(30);
  });
});
