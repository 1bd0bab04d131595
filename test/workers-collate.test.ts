/**
 * tokenizeBatch: N texts packed into one [N, L] model batch whose rows are exactly the single
 * `tokenize` results, padded.
 */
import { describe, expect, it } from 'vitest';
import { tokenizeBatch } from '../workers/lib/collate.js';
import { tokenizeText, type TokenizeOptions } from '../workers/lib/tokenize.js';
import { passages } from './support/corpus.js';

const texts = passages()
  .slice(100, 164)
  .map((p) => p.text);

/** Row `r` of a row-major [N, L] array. */
function row(array: Int32Array | BigInt64Array, width: number, r: number): number[] {
  return Array.from(array.subarray(r * width, (r + 1) * width), Number);
}

describe('tokenizeBatch', () => {
  it.each<[string, TokenizeOptions & { padding?: 'longest' | 'maxLength' }]>([
    ['padded to the longest row', {}],
    [
      'truncated to maxLength with BOS/EOS, padded to the longest',
      { maxLength: 64, bosId: 1, eosId: 2, padId: 7 },
    ],
    ['padded to maxLength', { maxLength: 128, padding: 'maxLength', padId: 100257 }],
    ['in o200k_base', { encoding: 'o200k_base', maxLength: 32 }],
  ])('gives each row the single tokenize result, then padding: %s', (_, options) => {
    const batch = tokenizeBatch({ texts, ...options });
    const singles = texts.map((text) => tokenizeText({ text, ...options, padding: false }));
    const longest = Math.max(...singles.map((s) => s.length));
    const width = options.padding === 'maxLength' ? options.maxLength! : longest;
    expect(batch.shape).toEqual([texts.length, width]);
    expect(batch.ids).toBeInstanceOf(Int32Array);
    expect(batch.ids).toHaveLength(texts.length * width);
    singles.forEach((single, r) => {
      const pad = Array<number>(width - single.length).fill(options.padId ?? 0);
      expect(row(batch.ids, width, r)).toEqual([...single.ids, ...pad]);
      expect(row(batch.attentionMask, width, r)).toEqual([...single.attentionMask, ...pad.map(() => 0)]);
      expect(batch.lengths[r]).toBe(single.length);
      expect(batch.truncated[r]).toBe(single.truncated ? 1 : 0);
    });
  });

  it('gives BigInt64Array ids and mask with dtype int64, equal to the int32 ones', () => {
    const int32 = tokenizeBatch({ texts, maxLength: 48 });
    const int64 = tokenizeBatch({ texts, maxLength: 48, dtype: 'int64' });
    expect(int64.ids).toBeInstanceOf(BigInt64Array);
    expect(int64.attentionMask).toBeInstanceOf(BigInt64Array);
    expect(Array.from(int64.ids, Number)).toEqual(Array.from(int32.ids));
    expect(Array.from(int64.attentionMask, Number)).toEqual(Array.from(int32.attentionMask));
  });

  it('lets a row outgrow maxLength when truncation is off, and widens the batch to it', () => {
    const batch = tokenizeBatch({
      texts: ['a b c d e f', 'a'],
      maxLength: 3,
      truncation: false,
      padding: 'maxLength',
    });
    expect(batch.shape).toEqual([2, 6]);
    expect(Array.from(batch.lengths)).toEqual([6, 1]);
  });

  it('packs an empty list into a [0, 0] batch', () => {
    const batch = tokenizeBatch({ texts: [] });
    expect(batch.shape).toEqual([0, 0]);
    expect(batch.ids).toHaveLength(0);
  });

  it('names the field and the value of bad input', () => {
    expect(() => tokenizeBatch({ texts: 'x' as never })).toThrow(
      /texts must be an array of strings, got "x"/,
    );
    expect(() => tokenizeBatch({ texts: ['a', 3 as never] })).toThrow(/texts\[1\] must be a string, got 3/);
    expect(() => tokenizeBatch({ texts, padding: 'max' as never })).toThrow(
      /padding must be 'longest' or 'maxLength', got "max"/,
    );
    expect(() => tokenizeBatch({ texts, padding: 'maxLength' })).toThrow(
      /padding 'maxLength' needs maxLength/,
    );
    expect(() => tokenizeBatch({ texts, dtype: 'float32' as never })).toThrow(
      /dtype must be 'int32' or 'int64', got "float32"/,
    );
  });
});
