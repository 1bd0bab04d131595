/**
 * Text preprocessing tasks: BPE tokenization with ids identical to OpenAI's tiktoken
 * (`cl100k_base`, `o200k_base`), from gpt-tokenizer's vocabularies, which ship with it: nothing
 * is downloaded at run time.
 *
 * ```js
 * const text = new Orchestrator({ worker: import.meta.resolve('node-orchestrator/workers/text') });
 * ```
 * @module
 */
import { defineTask, transfer, type Transfer } from '../src/worker/index.js';
import { tokenizeBatch as collate, type TokenizeBatchInput } from './lib/collate.js';
import { tokenizeText, type TokenizeInput, type TokenizeOutput } from './lib/tokenize.js';

export type { TokenizeInput, TokenizeOutput, TokenizeOptions, EncodingName } from './lib/tokenize.js';
export type { TokenizeBatchInput, TokenizeBatchOutput } from './lib/collate.js';

/**
 * Results with at least this many ids move to the main thread; smaller ones are copied (through
 * `map`, packed with the rest of their chunk into one moved buffer), which costs both threads
 * less than moving one small buffer per item does.
 */
const MOVE_FROM_IDS = 8192;

/**
 * Text → token ids with attention mask, truncated/padded to `maxLength`. `ids` and
 * `attentionMask` are views on one buffer.
 * @example
 * ```js
 * await text.run('tokenize', { text: 'hello world', maxLength: 8, padding: true });
 * // { ids: Int32Array [15339, 1917, 0, …], attentionMask: Uint8Array [1, 1, 0, …], length: 2, truncated: false }
 * ```
 */
export const tokenize = defineTask(
  (input: TokenizeInput, ctx): TokenizeOutput | Transfer<TokenizeOutput> => {
    const output = tokenizeText(input, () => ctx.throwIfAborted());
    return output.ids.length < MOVE_FROM_IDS ? output : transfer(output, [output.ids]);
  },
  { idempotent: true },
);

/** Like {@link tokenize}, but returns plain arrays (JSON-friendly, e.g. for the CLI). */
export const tokenizeJson = defineTask(
  (input: TokenizeInput, ctx) => {
    const output = tokenizeText(input, () => ctx.throwIfAborted());
    return {
      ids: Array.from(output.ids),
      attentionMask: Array.from(output.attentionMask),
      length: output.length,
      truncated: output.truncated,
    };
  },
  { idempotent: true },
);

/**
 * Many texts → one model batch: `[N, L]` ids and attention mask padded to the longest row or to
 * `maxLength`, moved to the main thread without a copy.
 */
export const tokenizeBatch = defineTask(
  (input: TokenizeBatchInput, ctx) => {
    const output = collate(input, () => ctx.throwIfAborted());
    return transfer(output, [output.ids, output.attentionMask, output.lengths, output.truncated]);
  },
  { idempotent: true },
);
