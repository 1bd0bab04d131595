import { afterEach, describe, expect, it, vi } from 'vitest';
import { settledWithin } from '../src/internal/settled-within.js';

afterEach(() => vi.useRealTimers());

describe('settledWithin', () => {
  it('is true for a promise that fulfils or rejects before the deadline', async () => {
    await expect(settledWithin(Promise.resolve(1), 1000)).resolves.toBe(true);
    await expect(settledWithin(Promise.reject(new Error('no')), 1000)).resolves.toBe(true);
  });

  it('is false once the deadline passes first, and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const waiting = settledWithin(new Promise(() => undefined), 5000);
    await vi.advanceTimersByTimeAsync(4999);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(waiting).resolves.toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits without limit for Infinity, and sets no timer', async () => {
    vi.useFakeTimers();
    let release!: () => void;
    const waiting = settledWithin(new Promise<void>((resolve) => (release = resolve)), Infinity);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(2 ** 31);
    release();
    await expect(waiting).resolves.toBe(true);
  });
});
