import { encode } from 'gpt-tokenizer/encoding/cl100k_base';

/** Input of the `tokenize` task: a text, or options with it. */
export type TokenizeInput =
  | string
  | {
      /** The text to encode. */
      text: string;
      /** Truncate (and, with `padding`, pad) to this many tokens. */
      maxLength?: number;
      /** Pad to `maxLength` with `padId`. @default false */
      padding?: boolean;
      /** The id used for padding. @default 0 */
      padId?: number;
      /** Cut to `maxLength` when longer. @default true when maxLength is given */
      truncation?: boolean;
    };

/** Output of the `tokenize` task. */
export interface TokenizeOutput {
  /** Token ids (cl100k_base, the BPE of GPT-4 and GPT-3.5). */
  ids: Int32Array;
  /** 1 for a real token, 0 for padding. */
  attentionMask: Uint8Array;
  /** Real tokens in `ids`. */
  length: number;
  /** Whether tokens were cut off. */
  truncated: boolean;
}

/** Encodes a text with cl100k_base BPE, truncating and padding like a model's input. */
export function tokenizeText(input: TokenizeInput, check: () => void = () => undefined): TokenizeOutput {
  const options = typeof input === 'string' ? { text: input } : input;
  if (typeof options !== 'object' || (options as unknown) === null || typeof options.text !== 'string') {
    throw new TypeError(`text must be a string, got ${typeof (options as { text?: unknown } | null)?.text}`);
  }
  const { text, maxLength, padding = false, padId = 0 } = options;
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) {
    throw new RangeError(`maxLength must be an integer >= 1, got ${String(maxLength)}`);
  }
  if (!Number.isInteger(padId)) throw new RangeError(`padId must be an integer, got ${String(padId)}`);
  const truncation = options.truncation ?? maxLength !== undefined;
  // Long texts are encoded a paragraph at a time so a cancel is seen between paragraphs.
  const tokens: number[] = [];
  for (const part of text.split(/(?<=\n\n)/)) {
    check();
    for (const token of encode(part)) tokens.push(token);
  }
  const keep = truncation && maxLength !== undefined ? Math.min(tokens.length, maxLength) : tokens.length;
  const size = padding && maxLength !== undefined ? Math.max(keep, maxLength) : keep;
  const ids = new Int32Array(size).fill(padId);
  const attentionMask = new Uint8Array(size);
  for (let i = 0; i < keep; i++) {
    ids[i] = tokens[i] as number;
    attentionMask[i] = 1;
  }
  return { ids, attentionMask, length: keep, truncated: keep < tokens.length };
}
