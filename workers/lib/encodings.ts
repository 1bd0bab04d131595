/**
 * The BPE encodings the text worker speaks, as OpenAI's tiktoken defines them: the merge ranks
 * and pre-tokenizer of gpt-tokenizer (which ships its vocabularies, so nothing is downloaded)
 * and tiktoken's own special-token table. gpt-tokenizer's tables add chat tokens that tiktoken's
 * `cl100k_base` does not have, and give `<|endofprompt|>` another id in `o200k_base`; so special
 * tokens are handled here, and gpt-tokenizer only ever sees ordinary text.
 * @module
 */
import { createRequire } from 'node:module';

/** The encodings the text worker offers. */
export const ENCODINGS = ['cl100k_base', 'o200k_base'] as const;

/** A BPE encoding: `cl100k_base` (GPT-4, GPT-3.5) or `o200k_base` (GPT-4o and later). */
export type EncodingName = (typeof ENCODINGS)[number];

/** Special tokens and their ids, exactly as tiktoken's registry lists them per encoding. */
const SPECIAL_TOKENS: Readonly<Record<EncodingName, ReadonlyMap<string, number>>> = {
  cl100k_base: new Map([
    ['<|endoftext|>', 100257],
    ['<|fim_prefix|>', 100258],
    ['<|fim_middle|>', 100259],
    ['<|fim_suffix|>', 100260],
    ['<|endofprompt|>', 100276],
  ]),
  o200k_base: new Map([
    ['<|endoftext|>', 199999],
    ['<|endofprompt|>', 200018],
  ]),
};

/** The part of a gpt-tokenizer encoding module this worker uses. */
interface GptEncodingModule {
  encode(text: string, options: { disallowedSpecial: ReadonlySet<string> }): number[];
  encodeGenerator(text: string, options: { disallowedSpecial: ReadonlySet<string> }): Iterable<number[]>;
}

/** A loaded encoding. */
export interface Encoding {
  readonly name: EncodingName;
  /** Special token text → id. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /**
   * Encodes `text` as ordinary text (tiktoken's `encode_ordinary`): special-token text is
   * encoded like any other text. `check` runs between pre-tokenizer chunks of a long text, so a
   * cancel is seen without changing how the text is split.
   */
  encodeOrdinary(text: string, check: () => void): number[];
}

/**
 * Texts shorter than this are encoded in one call (a few ms at most); longer ones chunk by chunk
 * with `check` in between.
 */
export const CHECKED_FROM_CHARS = 16_384;
/** Pre-tokenizer chunks between two checks. */
const CHUNKS_PER_CHECK = 256;
/** Nothing is special to gpt-tokenizer: special-token text is ordinary text. */
const ORDINARY = { disallowedSpecial: new Set<string>() } as const;

const require = createRequire(import.meta.url);
const loaded = new Map<EncodingName, Encoding>();

/**
 * The encoding `name`, loaded on first use: a thread holds only the vocabularies it is asked for
 * (cl100k_base costs about 33 MB and 130 ms to load, o200k_base about 68 MB and 150 ms).
 * Loaded synchronously (gpt-tokenizer's CommonJS build) so the tasks stay synchronous.
 */
export function encoding(name: EncodingName): Encoding {
  let found = loaded.get(name);
  if (found === undefined) {
    const gpt = require(`gpt-tokenizer/cjs/encoding/${name}`) as GptEncodingModule;
    found = { name, specialTokens: SPECIAL_TOKENS[name], encodeOrdinary: ordinary(gpt) };
    loaded.set(name, found);
  }
  return found;
}

function ordinary(gpt: GptEncodingModule): Encoding['encodeOrdinary'] {
  return (text, check) => {
    if (text.length < CHECKED_FROM_CHARS) return gpt.encode(text, ORDINARY);
    const out: number[] = [];
    let chunks = 0;
    for (const ids of gpt.encodeGenerator(text, ORDINARY)) {
      if (++chunks % CHUNKS_PER_CHECK === 0) check();
      for (const id of ids) out.push(id);
    }
    return out;
  };
}
