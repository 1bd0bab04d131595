/**
 * Batch outcomes cross the thread boundary in columns (src/pool/item-outcomes.ts): whatever the
 * mix of values, errors and skipped items, every item comes out at its own offset, in order,
 * with its own duration, after a structured clone as the port would make.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { forEachOutcome, OutcomeColumns, type ItemFault } from '../src/pool/item-outcomes.js';
import type { SerializedError } from '../src/pool/protocol.js';

type Outcome =
  | { kind: 'value'; value: unknown; ms: number }
  | { kind: 'error'; message: string; ms: number; stage: number | undefined }
  | { kind: 'skipped' };

const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  fc.record({
    kind: fc.constant('value' as const),
    value: fc.oneof(fc.integer(), fc.string(), fc.constant(undefined), fc.array(fc.integer())),
    ms: fc.double({ min: 0, max: 1e6, noNaN: true }),
  }),
  fc.record({
    kind: fc.constant('error' as const),
    message: fc.string(),
    ms: fc.double({ min: 0, max: 1e6, noNaN: true }),
    stage: fc.option(fc.nat(5), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('skipped' as const) }),
);

function serialized(message: string): SerializedError {
  return { name: 'Error', message, stack: undefined, code: undefined };
}

function read(fault: ItemFault | undefined, value: unknown, ms: number): Outcome {
  if (fault === undefined) return { kind: 'value', value, ms };
  if ('skipped' in fault) return { kind: 'skipped' };
  return { kind: 'error', message: fault.error.message, ms, stage: fault.stage };
}

describe('item outcomes in columns', () => {
  test.prop([fc.array(fc.array(outcome, { maxLength: 70 }), { maxLength: 6 })], { seed: 1126, numRuns: 200 })(
    'every item comes out once, at its offset, in order, through several takes and a structured clone',
    (chunks) => {
      const columns = new OutcomeColumns();
      for (const chunk of chunks) {
        for (const item of chunk) {
          if (item.kind === 'value') columns.value(item.value, item.ms);
          else if (item.kind === 'error') columns.error(serialized(item.message), item.ms, item.stage);
          else columns.skipped();
        }
        expect(columns.length).toBe(chunk.length);
        const received = structuredClone(columns.take());
        expect(columns.length).toBe(0);
        const seen: Outcome[] = [];
        const offsets: number[] = [];
        forEachOutcome(received, (offset, value, ms, fault) => {
          offsets.push(offset);
          seen.push(read(fault, value, ms));
        });
        expect(offsets).toEqual(chunk.map((_, i) => i));
        expect(seen).toEqual(chunk);
      }
    },
  );
});
