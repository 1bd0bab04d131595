/** The mix of operations the soak runs: mostly plain and held runs and maps, a few of every kind of trouble. */
import fc from 'fast-check';
import type { AbortMode, Op } from '../support/mixed-ops.js';

/** The mix: mostly plain and held runs and maps, a few of every kind of trouble. */
const soakOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 60,
    arbitrary: fc
      .record({
        priority: fc.integer({ min: 0, max: 2 }),
        hold: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
        abort: fc.constantFrom<AbortMode>(...Array<AbortMode>(12).fill('none'), 'before', 'after-submit'),
      })
      .map(({ priority, hold, abort }): Op => ({ kind: 'run', priority, hold, abort, timeoutMs: undefined })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 0, max: 2 })
      .map((priority): Op => ({ kind: 'run', priority, hold: true, abort: 'running', timeoutMs: undefined })),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 5 })
      .map((timeoutMs): Op => ({ kind: 'run', priority: 0, hold: true, abort: 'none', timeoutMs })),
  },
  {
    weight: 6,
    arbitrary: fc
      .record({ size: fc.integer({ min: 1, max: 64 }), priority: fc.integer({ min: 0, max: 2 }) })
      .map(({ size, priority }): Op => ({ kind: 'map', size, priority })),
  },
  { weight: 10, arbitrary: fc.constant<Op>({ kind: 'release' }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((to): Op => ({ kind: 'resize', to })) },
);

/** One crash in this many operations: threads die and are replaced throughout. */
const CRASH_EVERY = 500;

/** How much an op counts for: a map counts its items. */
export function weight(op: Op): number {
  return op.kind === 'map' ? op.size : 1;
}

/** The ops of one soak scenario, from its seed. */
export function soakOps(seed: number, count: number): Op[] {
  const mix = fc.sample(soakOp, { seed, numRuns: count });
  for (let i = CRASH_EVERY / 2; i < mix.length; i += CRASH_EVERY) mix[i] = { kind: 'crash' };
  return mix;
}
