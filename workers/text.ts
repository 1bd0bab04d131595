/**
 * Text preprocessing tasks: BPE tokenization (cl100k_base from gpt-tokenizer, which ships its
 * vocabulary, so nothing is downloaded at run time).
 * @module
 */
import { defineTask, transfer } from '../src/worker/index.js';
import { tokenizeText, type TokenizeInput, type TokenizeOutput } from './lib/tokenize.js';

export type { TokenizeInput, TokenizeOutput } from './lib/tokenize.js';

/** Text → token ids with attention mask, truncated/padded to `maxLength`; buffers are moved, not copied. */
export const tokenize = defineTask((input: TokenizeInput, ctx) => {
  const output = tokenizeText(input, () => ctx.throwIfAborted());
  return transfer(output, [output.ids, output.attentionMask]);
});

/** Like {@link tokenize}, but returns plain arrays (JSON-friendly, e.g. for the CLI). */
export const tokenizeJson = defineTask((input: TokenizeInput, ctx) => {
  const output: TokenizeOutput = tokenizeText(input, () => ctx.throwIfAborted());
  return {
    ids: Array.from(output.ids),
    attentionMask: Array.from(output.attentionMask),
    length: output.length,
    truncated: output.truncated,
  };
});
