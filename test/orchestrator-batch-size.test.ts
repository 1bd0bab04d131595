/**
 * How map sizes its batches (src/orchestrator/batch-size.ts): a probe of one item first, then
 * about TARGET_BATCH_MS of work capped by batchSize, and, when the inputs left are known, at
 * most half a slot's share of them, so that the last batches shrink and threads end together.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { nextBatchSize, TARGET_BATCH_MS } from '../src/orchestrator/batch-size.js';

describe('map batch sizes', () => {
  it('probes with one item until a batch has been timed', () => {
    expect(nextBatchSize({ perItemMs: undefined, batchSize: 512, remaining: 10_000, limit: 2 })).toBe(1);
  });

  it('aims at TARGET_BATCH_MS of work, capped by batchSize', () => {
    expect(nextBatchSize({ perItemMs: 0.05, batchSize: 512, remaining: undefined, limit: 2 })).toBe(
      Math.round(TARGET_BATCH_MS / 0.05),
    );
    expect(nextBatchSize({ perItemMs: 0.001, batchSize: 512, remaining: undefined, limit: 2 })).toBe(512);
    expect(nextBatchSize({ perItemMs: 50, batchSize: 512, remaining: undefined, limit: 2 })).toBe(1);
  });

  it('aims at targetMs instead when one is given (coalescing’s maxBatchMs)', () => {
    expect(
      nextBatchSize({ perItemMs: 0.05, batchSize: 512, remaining: undefined, limit: 1, targetMs: 2 }),
    ).toBe(40);
    expect(nextBatchSize({ perItemMs: 5, batchSize: 64, remaining: undefined, limit: 1, targetMs: 8 })).toBe(
      2,
    );
  });

  it('takes at most half a slot’s share of the inputs left, so the last batches shrink', () => {
    const sizes: number[] = [];
    for (let remaining = 4841; remaining > 0;) {
      const size = nextBatchSize({ perItemMs: 0.05, batchSize: 512, remaining, limit: 2 });
      sizes.push(size);
      remaining -= size;
    }
    expect(sizes[0]).toBe(Math.round(TARGET_BATCH_MS / 0.05));
    expect(sizes.slice(-4)).toEqual([1, 1, 1, 1]);
    // Never growing once the share binds.
    const bound = sizes.findIndex((s) => s < sizes[0]!);
    expect(sizes.slice(bound).every((s, i, all) => i === 0 || s <= all[i - 1]!)).toBe(true);
  });

  test.prop(
    [
      fc.option(fc.double({ min: 1e-6, max: 1e4, noNaN: true }), { nil: undefined }),
      fc.integer({ min: 1, max: 4096 }),
      fc.option(fc.nat(1e7), { nil: undefined }),
      fc.integer({ min: 0, max: 256 }),
    ],
    { seed: 1126 },
  )('is always an integer from 1 to batchSize', (perItemMs, batchSize, remaining, limit) => {
    const size = nextBatchSize({ perItemMs, batchSize, remaining, limit });
    expect(Number.isInteger(size)).toBe(true);
    expect(size).toBeGreaterThanOrEqual(1);
    expect(size).toBeLessThanOrEqual(batchSize);
  });
});
