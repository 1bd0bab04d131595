import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AdaptiveLimiter } from 'node-orchestrator';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('AdaptiveLimiter cancellation', () => {
  it('rejects an already-aborted acquire with the reason, without queueing', async () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    const reason = new Error('gone');
    const held = limiter.tryAcquire()!;
    const acquire = limiter.acquire({ signal: AbortSignal.abort(reason) });
    expect(limiter.pending).toBe(0);
    await expect(acquire).rejects.toBe(reason);
    // Even with a free slot, an aborted signal wins.
    held.release();
    await expect(limiter.acquire({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(limiter.inFlight).toBe(0);
  });

  it('an abort while waiting rejects with the reason, leaves the queue at once and skips nobody', async () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    const held = limiter.tryAcquire()!;
    const controller = new AbortController();
    const order: string[] = [];
    const a = limiter.acquire().then((p) => (order.push('a'), p.release()));
    const b = limiter.acquire({ signal: controller.signal });
    const c = limiter.acquire().then((p) => (order.push('c'), p.release()));
    expect(limiter.pending).toBe(3);
    controller.abort('stop');
    expect(limiter.pending).toBe(2);
    await expect(b).rejects.toBe('stop');
    held.release();
    await Promise.all([a, c]);
    expect(order).toEqual(['a', 'c']);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('removes its abort listener once a waiter is granted', async () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    const held = limiter.tryAcquire()!;
    const controller = new AbortController();
    const waiting = limiter.acquire({ signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    held.release();
    const permit = await waiting;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
    expect(permit.released).toBe(false);
    expect(limiter.inFlight).toBe(1);
  });

  it('retains nothing after 100,000 aborted waiters', async () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    const held = limiter.tryAcquire()!;
    const refs: WeakRef<AbortSignal>[] = [];
    const rejections: Promise<unknown>[] = [];
    for (let i = 0; i < 100_000; i++) {
      const controller = new AbortController();
      if (i % 1000 === 0) refs.push(new WeakRef(controller.signal));
      rejections.push(
        limiter.acquire({ signal: controller.signal, priority: i % 7 }).catch((e: unknown) => e),
      );
      controller.abort(i);
    }
    expect(limiter.pending).toBe(0);
    const reasons = await Promise.all(rejections);
    expect(reasons[99_999]).toBe(99_999);
    rejections.length = 0;
    reasons.length = 0;
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    // The queue still works in order afterwards.
    const next = limiter.acquire();
    held.release();
    (await next).release();
    expect(limiter.inFlight).toBe(0);
  });
});
