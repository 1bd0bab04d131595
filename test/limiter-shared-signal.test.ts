import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdaptiveLimiter, type Permit } from 'node-orchestrator';

/** Warnings the process emits during a test. */
let warnings: Error[] = [];
const onWarning = (warning: Error): void => {
  warnings.push(warning);
};

beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});

afterEach(() => {
  process.off('warning', onWarning);
});

/** Queues `count` acquires on a held limiter, all with `signal`; returns their promises. */
function queueWaiters(limiter: AdaptiveLimiter, signal: AbortSignal, count: number): Promise<Permit>[] {
  return Array.from({ length: count }, (_, i) => limiter.acquire({ signal, priority: i % 3 }));
}

/** Releases each permit as soon as it is granted (waiters are granted in priority order). */
async function releaseAsGranted(waiters: readonly Promise<Permit>[]): Promise<void> {
  await Promise.all(waiters.map((waiter) => waiter.then((permit) => permit.release())));
}

describe('AdaptiveLimiter with one signal shared by many waiters (#11.7)', () => {
  it('#11.7 many waiters on one shared signal add no more abort listeners than one waiter does', async () => {
    const one = new AdaptiveLimiter({ limit: 1 });
    const oneHeld = one.tryAcquire()!;
    const oneSignal = new AbortController().signal;
    const single = queueWaiters(one, oneSignal, 1);
    const perOne = getEventListeners(oneSignal, 'abort').length;

    const many = new AdaptiveLimiter({ limit: 1 });
    const manyHeld = many.tryAcquire()!;
    const controller = new AbortController();
    const waiters = queueWaiters(many, controller.signal, 5000);
    expect(many.pending).toBe(5000);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(perOne);

    // Every waiter still hears the abort, and nothing is left listening afterwards.
    const reason = new Error('shared abort');
    controller.abort(reason);
    const outcomes = await Promise.allSettled(waiters);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason === reason)).toBe(true);
    expect(many.pending).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    manyHeld.release();
    oneHeld.release();
    (await single[0]!).release();
    expect(getEventListeners(oneSignal, 'abort')).toHaveLength(0);
  });

  it('#11.7 a shared signal with many waiters raises no MaxListenersExceededWarning', async () => {
    const limiter = new AdaptiveLimiter({ limit: 1 });
    const held = limiter.tryAcquire()!;
    const controller = new AbortController();
    const waiters = queueWaiters(limiter, controller.signal, 100);
    // Node emits the warning on the next tick; let it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual(
      [],
    );
    held.release();
    await releaseAsGranted(waiters);
    expect(limiter.inFlight).toBe(0);
  });

  it('#11.7 waiters on a shared signal that are granted one by one leave it with no listener', async () => {
    const limiter = new AdaptiveLimiter({ limit: 2 });
    const first = limiter.tryAcquire()!;
    const second = limiter.tryAcquire()!;
    const controller = new AbortController();
    const waiters = queueWaiters(limiter, controller.signal, 1000);
    first.release();
    second.release();
    await releaseAsGranted(waiters);
    expect(limiter.inFlight).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
