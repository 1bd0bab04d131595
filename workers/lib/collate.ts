/**
 * Collation: many texts tokenized into one model batch, `[N, L]` ids and attention mask in two
 * contiguous typed arrays, ready for an inference runtime.
 * @module
 */
import { encodeText, fit, settingsOf, show, textOf, writeRow, type TokenizeOptions } from './tokenize.js';

/** Element types a batch may use. */
export type BatchDtype = 'int32' | 'int64';

/** The typed array of a {@link BatchDtype}. */
export type BatchArray<D extends BatchDtype> = D extends 'int64' ? BigInt64Array : Int32Array;

/** Input of the `tokenizeBatch` task. */
export interface TokenizeBatchInput<D extends BatchDtype = BatchDtype> extends TokenizeOptions {
  /** The texts, one row each, in order. */
  texts: readonly string[];
  /**
   * `'longest'`: rows are as long as the longest one; `'maxLength'`: rows are `maxLength` long
   * (which it requires), or as long as the longest row when `truncation: false` let one outgrow it.
   * @default 'longest'
   */
  padding?: 'longest' | 'maxLength';
  /** Element type of `ids` and `attentionMask`: Int32Array, or BigInt64Array for int64 models. @default 'int32' */
  dtype?: D;
}

/** Output of the `tokenizeBatch` task: row-major `[N, L]` arrays. */
export interface TokenizeBatchOutput<A extends Int32Array | BigInt64Array = Int32Array> {
  /** `N × L` ids, row by row: BOS, the text's tokens, EOS, then `padId`. */
  ids: A;
  /** `N × L`: 1 for a real id, 0 for padding. */
  attentionMask: A;
  /** `[N, L]`. */
  shape: [number, number];
  /** Real ids per row (BOS and EOS included). */
  lengths: Int32Array;
  /** 1 where a row's text was cut to fit `maxLength`. */
  truncated: Uint8Array;
}

/** Tokenizes `texts` into one padded batch (see {@link TokenizeBatchInput}). */
export function tokenizeBatch<D extends BatchDtype = 'int32'>(
  input: TokenizeBatchInput<D>,
  check: () => void = () => undefined,
): TokenizeBatchOutput<BatchArray<D>> {
  if (typeof input !== 'object' || (input as unknown) === null)
    throw new TypeError(`input must be an object with texts, got ${show(input)}`);
  const texts: unknown = input.texts;
  const padding: unknown = input.padding ?? 'longest';
  const dtype: unknown = input.dtype ?? 'int32';
  if (!Array.isArray(texts)) throw new TypeError(`texts must be an array of strings, got ${show(texts)}`);
  if (padding !== 'longest' && padding !== 'maxLength')
    throw new RangeError(`padding must be 'longest' or 'maxLength', got ${show(padding)}`);
  if (dtype !== 'int32' && dtype !== 'int64')
    throw new RangeError(`dtype must be 'int32' or 'int64', got ${show(dtype)}`);
  const settings = settingsOf(input);
  if (padding === 'maxLength' && settings.maxLength === undefined)
    throw new RangeError(`padding 'maxLength' needs maxLength, got undefined`);
  const rows = (texts as unknown[]).map((text, i) => {
    check();
    const tokens = encodeText(textOf(text, `texts[${i}]`), settings, check);
    return { tokens, ...fit(tokens.length, settings) };
  });
  const longest = rows.reduce((most, row) => Math.max(most, row.length), 0);
  // Without truncation a row may outgrow maxLength; then it sets the width.
  const width = padding === 'maxLength' ? Math.max(settings.maxLength as number, longest) : longest;
  const ids = new Int32Array(rows.length * width).fill(settings.padId);
  const mask = new Int32Array(rows.length * width);
  const lengths = new Int32Array(rows.length);
  const truncated = new Uint8Array(rows.length);
  rows.forEach((row, r) => {
    writeRow(ids, r * width, row.tokens, row.kept, settings);
    mask.fill(1, r * width, r * width + row.length);
    lengths[r] = row.length;
    truncated[r] = row.kept < row.tokens.length ? 1 : 0;
  });
  const shape: [number, number] = [rows.length, width];
  if (dtype === 'int32')
    return { ids, attentionMask: mask, shape, lengths, truncated } as TokenizeBatchOutput<BatchArray<D>>;
  const wide = (array: Int32Array): BigInt64Array => BigInt64Array.from(array, (value) => BigInt(value));
  return { ids: wide(ids), attentionMask: wide(mask), shape, lengths, truncated } as TokenizeBatchOutput<
    BatchArray<D>
  >;
}
