import { describe, expect, it } from 'vitest';
import { AdaptiveLimiter, type Permit } from 'node-orchestrator';
import { flushMicrotasks } from './support/deferred.js';

describe('AdaptiveLimiter resize', () => {
  it('growing admits waiters at once, in arrival order', async () => {
    const limiter = new AdaptiveLimiter({ limit: 1, maxLimit: 8 });
    const held = limiter.tryAcquire()!;
    const admitted: number[] = [];
    const waiters = Array.from({ length: 5 }, (_, i) => limiter.acquire().then((p) => (admitted.push(i), p)));
    expect(limiter.resize(4)).toBe(4);
    expect(limiter.inFlight).toBe(4);
    expect(limiter.pending).toBe(2);
    await flushMicrotasks();
    expect(admitted).toEqual([0, 1, 2]);
    held.release();
    expect(limiter.pending).toBe(1);
    const granted = await Promise.all(waiters.slice(0, 4));
    granted[0]!.release();
    granted.slice(1).forEach((p) => p.release());
    (await waiters[4]!).release();
    expect(admitted).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.inFlight).toBe(0);
  });

  it('shrinking never preempts holders; new permits wait until inFlight is below the new limit', async () => {
    const limiter = new AdaptiveLimiter({ limit: 4 });
    const held = [1, 2, 3, 4].map(() => limiter.tryAcquire()!);
    limiter.resize(2);
    expect(limiter.inFlight).toBe(4);
    expect(held.every((p) => !p.released)).toBe(true);
    let admitted = false;
    const waiter = limiter.acquire().then((p) => ((admitted = true), p));
    held[0]!.release();
    held[1]!.release();
    await flushMicrotasks();
    expect(limiter.inFlight).toBe(2);
    expect(admitted).toBe(false);
    held[2]!.release();
    await flushMicrotasks();
    expect(admitted).toBe(true);
    (await waiter).release();
    held[3]!.release();
    expect(limiter.inFlight).toBe(0);
  });

  it('clamps to [minLimit, maxLimit] and rejects non-integers', () => {
    const limiter = new AdaptiveLimiter({ limit: 4, minLimit: 2, maxLimit: 6 });
    expect(limiter.resize(100)).toBe(6);
    expect(limiter.resize(-3)).toBe(2);
    expect(limiter.limit).toBe(2);
    expect(() => limiter.resize(2.5)).toThrow(RangeError);
    expect(() => limiter.resize(Number.NaN)).toThrow(/limit must be an integer, got NaN/);
    expect(() => limiter.resize('3' as unknown as number)).toThrow(TypeError);
    expect(limiter.limit).toBe(2);
  });

  it('keeps the bound under load while resized up and down repeatedly', async () => {
    const limiter = new AdaptiveLimiter({ limit: 3, minLimit: 1, maxLimit: 10 });
    const holders: Permit[] = [];
    const all = Array.from({ length: 500 }, () => limiter.acquire().then((p) => holders.push(p)));
    const limits = [7, 2, 10, 1, 5, 3];
    for (let step = 0; limiter.pending > 0 || holders.length > 0; step++) {
      await flushMicrotasks();
      expect(limiter.inFlight).toBe(holders.length);
      const before = limiter.inFlight;
      holders.shift()?.release();
      // A release admits a waiter only while that keeps inFlight within the limit; above it
      // (just after a shrink) it only drains.
      if (before > limiter.limit) expect(limiter.inFlight).toBe(before - 1);
      else expect(limiter.inFlight).toBeLessThanOrEqual(limiter.limit);
      if (step % 37 === 0) limiter.resize(limits[(step / 37) % limits.length]!);
    }
    await Promise.all(all);
    expect(limiter.inFlight).toBe(0);
  });
});

describe('AdaptiveLimiter bad input', () => {
  it.each([
    [{ limit: 0 }, /limit must be an integer >= 1, got 0/],
    [{ limit: 1.5 }, /limit must be an integer >= 1, got 1.5/],
    [{ limit: '4' }, /limit must be an integer >= 1, got "4"/],
    [{ limit: 4, minLimit: 5, maxLimit: 3 }, /minLimit \(5\) must be <= maxLimit \(3\)/],
    [{ limit: 9, maxLimit: 8 }, /limit must be within \[minLimit, maxLimit\] = \[1, 8\], got 9/],
    [{ limit: 2, minLimit: 0 }, /minLimit must be an integer >= 1, got 0/],
  ])('new AdaptiveLimiter(%j) names the field and value', (options, message) => {
    expect(() => new AdaptiveLimiter(options as never)).toThrow(message);
  });

  it('rejects (does not throw) an acquire with a bad priority or signal', async () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    await expect(limiter.acquire({ priority: Number.POSITIVE_INFINITY })).rejects.toThrow(
      /priority must be a finite number, got Infinity/,
    );
    await expect(limiter.acquire({ priority: '1' as never })).rejects.toThrow(TypeError);
    await expect(limiter.acquire({ signal: {} as never })).rejects.toThrow(/signal must be an AbortSignal/);
    expect(limiter.inFlight).toBe(0);
  });
});
