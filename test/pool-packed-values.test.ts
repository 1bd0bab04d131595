/**
 * Small results of one shape cross the thread boundary packed (src/pool/packed-values.ts): each
 * item must come out equal to what a structured clone of it gives — same keys in the same
 * order, same numbers (-0 and NaN included), same booleans, typed arrays of the same type and
 * contents — whether it was packed or travelled as it was.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { forEachOutcome, OutcomeColumns, type ItemOutcomes } from '../src/pool/item-outcomes.js';
import { PACK_MAX_BYTES, VIEW_TYPES } from '../src/pool/packed-values.js';

const VIEWS = Object.values(VIEW_TYPES);

type FieldKind = 'number' | 'boolean' | number; // a number: an index in VIEWS

const fieldKind: fc.Arbitrary<FieldKind> = fc.oneof(
  fc.constant('number' as const),
  fc.constant('boolean' as const),
  fc.integer({ min: 0, max: VIEWS.length - 1 }),
);

/** A field of the given kind; typed arrays sometimes as views inside a larger buffer. */
function field(kind: FieldKind): fc.Arbitrary<unknown> {
  if (kind === 'number') return fc.oneof(fc.double(), fc.integer(), fc.constant(-0));
  if (kind === 'boolean') return fc.boolean();
  const View = VIEWS[kind]!;
  const big = View === BigInt64Array || View === BigUint64Array;
  const element: fc.Arbitrary<unknown> = big
    ? fc.bigInt({ min: 0n, max: 2n ** 63n - 1n })
    : fc.integer({ min: 0, max: 127 });
  return fc
    .record({ values: fc.array(element, { maxLength: 40 }), before: fc.nat(3), after: fc.nat(3) })
    .map(({ values, before, after }) => {
      const buffer = new ArrayBuffer((before + values.length + after) * View.BYTES_PER_ELEMENT);
      const view = new View(buffer, before * View.BYTES_PER_ELEMENT, values.length);
      (view as { set(values: ArrayLike<unknown>): void }).set(values);
      return view;
    });
}

/** Values of one shape, mixed with values of other shapes and with values that cannot be packed. */
const chunk: fc.Arbitrary<unknown[]> = fc
  .uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), fieldKind), {
    minLength: 1,
    maxLength: 5,
    selector: ([key]) => key,
  })
  .filter((shape) => shape.every(([key]) => key !== '__proto__' && !/^\d+$/.test(key)))
  .chain((shape) => {
    const shaped = fc
      .tuple(...shape.map(([, kind]) => field(kind)))
      .map((fields) => Object.fromEntries(shape.map(([key], k) => [key, fields[k]])));
    const other = fc.oneof(
      fc.integer(),
      fc.string(),
      fc.constant(undefined),
      fc.record({ text: fc.string(), n: fc.integer() }),
      fc.record({ ids: field(5), extra: fc.string() }),
    );
    return fc.array(fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: other }), {
      maxLength: 70,
    });
  });

/** Takes the outcomes and sends them through a structured clone, moving the packed buffer. */
function send(columns: OutcomeColumns): ItemOutcomes {
  const outcomes = columns.take();
  const transfer = outcomes.packed === undefined ? [] : [outcomes.packed.buffer];
  return structuredClone(outcomes, { transfer });
}

function received(outcomes: ItemOutcomes): unknown[] {
  const values: unknown[] = [];
  forEachOutcome(outcomes, (_, value) => values.push(value));
  return values;
}

describe('packed results', () => {
  test.prop([fc.array(chunk, { minLength: 1, maxLength: 4 })], { seed: 1126, numRuns: 300 })(
    'every item equals its structured clone, packed or not, through several takes',
    (chunks) => {
      const columns = new OutcomeColumns();
      for (const values of chunks) {
        for (const value of values) columns.value(value, 1);
        const expected = values.map((value) => structuredClone(value));
        const got = received(send(columns));
        expect(got).toHaveLength(values.length);
        got.forEach((value, i) => {
          expect(value).toStrictEqual(expected[i]);
          if (typeof value === 'object' && value !== null)
            expect(Object.keys(value)).toEqual(Object.keys(expected[i] as object));
        });
      }
    },
  );

  it('packs tokenizer-like results into one moved buffer, each item its own views on it', () => {
    const columns = new OutcomeColumns();
    const results = [3, 1, 5].map((length) => {
      const buffer = new ArrayBuffer(length * 5);
      const ids = new Int32Array(buffer, 0, length).map((_, i) => 100 * length + i);
      const attentionMask = new Uint8Array(buffer, length * 4, length).fill(1);
      return { ids, attentionMask, length, truncated: length > 4 };
    });
    for (const result of results) columns.value(result, 1);
    const outcomes = send(columns);
    expect(outcomes.packed?.rows).toEqual(Int32Array.from([0, 1, 2]));
    expect(outcomes.values).toEqual([undefined, undefined, undefined]);
    const got = received(outcomes) as typeof results;
    expect(got).toStrictEqual(results);
    expect(new Set(got.flatMap((r) => [r.ids.buffer, r.attentionMask.buffer])).size).toBe(1);
    // Aligned views: each array starts on an 8-byte boundary.
    expect(got.every((r) => r.ids.byteOffset % 8 === 0 && r.attentionMask.byteOffset % 8 === 0)).toBe(true);
  });

  it('leaves as they are the values a copy into one buffer would change', () => {
    const small = (): Int32Array => Int32Array.from([1, 2, 3]);
    const twice = small();
    const cases: { why: string; value: unknown }[] = [
      {
        why: 'a view on a SharedArrayBuffer is shared, not copied',
        value: { ids: new Int32Array(new SharedArrayBuffer(8)), mask: small() },
      },
      { why: 'one array under two names stays one array', value: { ids: twice, mask: twice } },
      {
        why: 'a large array travels alone',
        value: { ids: new Int32Array(PACK_MAX_BYTES / 4 + 1), mask: small() },
      },
      {
        why: 'a class instance is not a plain object',
        value: new (class Row {
          ids = small();
          mask = small();
        })(),
      },
    ];
    for (const { why, value } of cases) {
      const columns = new OutcomeColumns();
      // Two values of the same shape around it: a pack forms, and the odd one must stay out.
      columns.value({ ids: small(), mask: small() }, 1);
      columns.value(value, 1);
      columns.value({ ids: small(), mask: small() }, 1);
      const outcomes = send(columns);
      expect(outcomes.packed?.rows, why).toEqual(Int32Array.from([0, -1, 1]));
      const got = received(outcomes)[1] as { ids: Int32Array; mask: Int32Array };
      expect(got, why).toStrictEqual(structuredClone(value));
      if (value === cases[1]?.value) expect(got.ids).toBe(got.mask);
    }
    const moved = new OutcomeColumns();
    moved.value({ ids: small(), n: 1 }, 1);
    moved.value({ ids: small(), n: 2 }, 1, true);
    moved.value({ ids: small(), n: 3 }, 1);
    expect(moved.take().packed?.rows, 'a value that moves its own buffers').toEqual(
      Int32Array.from([0, -1, 1]),
    );
    const proto = new OutcomeColumns();
    const own = (): unknown => JSON.parse('{"__proto__": 1, "n": 2}');
    proto.value(own(), 1);
    proto.value(own(), 1);
    const outcomes = send(proto);
    expect(outcomes.packed, 'an own __proto__ key cannot be rebuilt by assignment').toBeUndefined();
    expect(received(outcomes)).toStrictEqual([own(), own()].map((v) => structuredClone(v)));
    const detached = new OutcomeColumns();
    const gone = small();
    structuredClone(gone.buffer, { transfer: [gone.buffer as ArrayBuffer] });
    detached.value({ ids: small(), n: 1 }, 1);
    detached.value({ ids: gone, n: 2 }, 1);
    detached.value({ ids: small(), n: 3 }, 1);
    // Structured clone refuses a detached array; packed, it would quietly become an empty one.
    expect(detached.take().packed?.rows, 'a detached array').toEqual(Int32Array.from([0, -1, 1]));
  });

  it('does not pack a lone value: it would save nothing', () => {
    const columns = new OutcomeColumns();
    columns.value({ ids: Int32Array.from([1]), n: 1 }, 1);
    columns.value('other', 1);
    expect(columns.take().packed).toBeUndefined();
  });
});
