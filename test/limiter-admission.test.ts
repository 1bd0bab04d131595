import { describe, expect, it } from 'vitest';
import { AdaptiveLimiter, type Permit } from 'node-orchestrator';
import { flushMicrotasks } from './support/deferred.js';

describe('AdaptiveLimiter admission', () => {
  it('never lets more than limit permits be held', async () => {
    const limiter = new AdaptiveLimiter({ limit: 3 });
    const held: Permit[] = [];
    const waiting = Array.from({ length: 10 }, () => limiter.acquire().then((p) => held.push(p)));
    await flushMicrotasks();
    expect(held).toHaveLength(3);
    expect(limiter.inFlight).toBe(3);
    expect(limiter.pending).toBe(7);
    while (held.length > 0) {
      held.shift()!.release();
      await flushMicrotasks();
      expect(limiter.inFlight).toBeLessThanOrEqual(3);
    }
    await Promise.all(waiting);
    expect(limiter.inFlight).toBe(0);
    expect(limiter.pending).toBe(0);
  });

  it('admits 1,000 waiters of one priority strictly in arrival order', async () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    const first = limiter.tryAcquire()!;
    const order: number[] = [];
    const waiters = Array.from({ length: 1000 }, (_, i) =>
      limiter.acquire().then((permit) => {
        order.push(i);
        permit.release();
      }),
    );
    first.release();
    await Promise.all(waiters);
    expect(order).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('admits a higher priority first and keeps FIFO within each priority', async () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    const first = limiter.tryAcquire()!;
    const order: string[] = [];
    const enqueue = (label: string, priority: number) =>
      limiter.acquire({ priority }).then((permit) => {
        order.push(label);
        permit.release();
      });
    const all = [
      enqueue('low-a', -1),
      enqueue('mid-a', 0),
      enqueue('high-a', 5),
      enqueue('mid-b', 0),
      enqueue('high-b', 5),
      enqueue('low-b', -1),
      enqueue('frac', 0.5),
    ];
    first.release();
    await Promise.all(all);
    expect(order).toEqual(['high-a', 'high-b', 'frac', 'mid-a', 'mid-b', 'low-a', 'low-b']);
  });

  it('does not let tryAcquire barge past a waiter', async () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    const first = limiter.tryAcquire()!;
    const waiter = limiter.acquire();
    expect(limiter.tryAcquire()).toBeUndefined();
    first.release();
    // The slot went to the waiter synchronously, so there is still nothing free.
    expect(limiter.tryAcquire()).toBeUndefined();
    (await waiter).release();
    expect(limiter.tryAcquire()).toBeDefined();
  });

  it('hands the slot to the next waiter synchronously inside release()', () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    const first = limiter.tryAcquire()!;
    void limiter.acquire();
    expect(limiter.pending).toBe(1);
    first.release();
    expect(limiter.pending).toBe(0);
    expect(limiter.inFlight).toBe(1);
  });

  it('run() releases the permit when fn returns, throws synchronously, or rejects', async () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    await expect(limiter.run(() => 42)).resolves.toBe(42);
    expect(limiter.inFlight).toBe(0);
    await expect(
      limiter.run(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(limiter.inFlight).toBe(0);
    await expect(limiter.run(() => Promise.reject(new Error('async')))).rejects.toThrow('async');
    expect(limiter.inFlight).toBe(0);
  });
});

describe('Permit', () => {
  it('release() is idempotent and never frees a second slot', async () => {
    const limiter = new AdaptiveLimiter({ limit: 2 });
    const a = limiter.tryAcquire()!;
    const b = limiter.tryAcquire()!;
    const c = limiter.acquire();
    a.release();
    a.release();
    a.release();
    expect(a.released).toBe(true);
    await c;
    expect(limiter.inFlight).toBe(2);
    expect(limiter.tryAcquire()).toBeUndefined();
    b.release();
    expect(limiter.inFlight).toBe(1);
  });

  it('is released at the end of a using block, also when the block throws', () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    {
      using permit = limiter.tryAcquire()!;
      expect(permit.released).toBe(false);
      expect(limiter.inFlight).toBe(1);
    }
    expect(limiter.inFlight).toBe(0);
    expect(() => {
      using _permit = limiter.tryAcquire()!;
      throw new Error('inside');
    }).toThrow('inside');
    expect(limiter.inFlight).toBe(0);
  });
});
