/**
 * Tokenization as a model's input: whole-text BPE identical to OpenAI's tiktoken, special tokens
 * only where allowed, optional BOS/EOS ids, truncation and padding with an attention mask.
 * @module
 */
import { ENCODINGS, encoding, type Encoding, type EncodingName } from './encodings.js';

export type { EncodingName } from './encodings.js';

/** How a text becomes token ids; shared by `tokenize` and `tokenizeBatch`. */
export interface TokenizeOptions {
  /** The BPE. @default 'cl100k_base' */
  encoding?: EncodingName;
  /**
   * Special tokens recognized in the text (`'all'`, or a list such as `['<|endoftext|>']`).
   * Any other special-token text, and all of it by default, is encoded as ordinary text
   * (tiktoken's `encode_ordinary`), so user input cannot inject control tokens.
   * @default []
   */
  allowedSpecial?: 'all' | readonly string[];
  /** Truncate (and, with padding, pad) to this many ids, BOS/EOS included. */
  maxLength?: number;
  /** Cut the text's tokens so the ids fit `maxLength` (BOS and EOS are kept). @default true when maxLength is given */
  truncation?: boolean;
  /** The id padding uses. @default 0 */
  padId?: number;
  /** An id put before the text's tokens (a model's BOS/CLS token). */
  bosId?: number;
  /** An id put after the text's tokens (a model's EOS/SEP token), also after truncation. */
  eosId?: number;
}

/** Input of the `tokenize` task: a text, or options with it. */
export type TokenizeInput =
  | string
  | (TokenizeOptions & {
      /** The text to encode. */
      text: string;
      /** Pad to `maxLength` with `padId`. @default false */
      padding?: boolean;
    });

/** Output of the `tokenize` task. */
export interface TokenizeOutput {
  /** Token ids: BOS, the text's tokens, EOS, then padding. */
  ids: Int32Array;
  /** 1 for a real id (BOS and EOS included), 0 for padding. */
  attentionMask: Uint8Array;
  /** Real ids in `ids` (BOS and EOS included). */
  length: number;
  /** Whether some of the text's tokens were cut off. */
  truncated: boolean;
}

/** Options checked once, ready to encode with. @internal */
export interface Settings {
  readonly encoding: Encoding;
  /** Matches the allowed special tokens; undefined when none is allowed. */
  readonly special: RegExp | undefined;
  readonly maxLength: number | undefined;
  readonly truncation: boolean;
  readonly padId: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
}

const specialPatterns = new Map<string, RegExp>();

/** Checks the options, naming the field and the value of the first bad one. @internal */
export function settingsOf(options: TokenizeOptions): Settings {
  const name = options.encoding ?? 'cl100k_base';
  if (!(ENCODINGS as readonly unknown[]).includes(name)) {
    throw new RangeError(`encoding must be one of ${ENCODINGS.join(', ')}, got ${show(name)}`);
  }
  const found = encoding(name);
  const { maxLength, padId = 0, bosId, eosId } = options;
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) {
    throw new RangeError(`maxLength must be an integer >= 1, got ${show(maxLength)}`);
  }
  for (const [field, value] of [
    ['padId', padId],
    ['bosId', bosId],
    ['eosId', eosId],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > 0x7fffffff))
      throw new RangeError(`${field} must be an integer from 0 to 2147483647, got ${show(value)}`);
  }
  const reserved = (bosId === undefined ? 0 : 1) + (eosId === undefined ? 0 : 1);
  if (maxLength !== undefined && maxLength <= reserved)
    throw new RangeError(`maxLength must leave room for a token besides bosId/eosId, got ${maxLength}`);
  const truncation = options.truncation ?? maxLength !== undefined;
  if (typeof truncation !== 'boolean')
    throw new TypeError(`truncation must be a boolean, got ${show(truncation)}`);
  return {
    encoding: found,
    special: specialPattern(found, options.allowedSpecial),
    maxLength,
    truncation,
    padId,
    bosId,
    eosId,
  };
}

function specialPattern(found: Encoding, allowed: TokenizeOptions['allowedSpecial']): RegExp | undefined {
  if (allowed === undefined) return undefined;
  let tokens: readonly string[];
  if (allowed === 'all') tokens = [...found.specialTokens.keys()];
  else if (Array.isArray(allowed)) {
    tokens = allowed;
    const unknown = tokens.find((token) => !found.specialTokens.has(token));
    if (unknown !== undefined) {
      throw new RangeError(
        `allowedSpecial: ${show(unknown)} is not a special token of ${found.name}; its special tokens are ${[...found.specialTokens.keys()].join(', ')}`,
      );
    }
  } else throw new TypeError(`allowedSpecial must be 'all' or an array of strings, got ${show(allowed)}`);
  if (tokens.length === 0) return undefined;
  const key = `${found.name}\u0000${[...tokens].sort().join('\u0000')}`;
  let pattern = specialPatterns.get(key);
  if (pattern === undefined) {
    pattern = new RegExp(tokens.map((t) => t.replace(/[|\\{}()[\]^$+*?.]/g, '\\$&')).join('|'), 'g');
    specialPatterns.set(key, pattern);
  }
  return pattern;
}

/**
 * The text's token ids: ordinary BPE of the whole text, with each allowed special token's id
 * where its text appears (the splitting tiktoken does).
 * @internal
 */
export function encodeText(text: string, settings: Settings, check: () => void): number[] {
  const { encoding: found, special } = settings;
  if (special === undefined) return found.encodeOrdinary(text, check);
  const ids: number[] = [];
  let start = 0;
  for (const match of text.matchAll(special)) {
    for (const id of found.encodeOrdinary(text.slice(start, match.index), check)) ids.push(id);
    ids.push(found.specialTokens.get(match[0]) as number);
    start = match.index + match[0].length;
  }
  for (const id of found.encodeOrdinary(text.slice(start), check)) ids.push(id);
  return ids;
}

/** How a text's tokens fit a row: how many are kept, and the row's real length. @internal */
export function fit(tokens: number, settings: Settings): { kept: number; length: number } {
  const reserved = (settings.bosId === undefined ? 0 : 1) + (settings.eosId === undefined ? 0 : 1);
  const { maxLength, truncation } = settings;
  const kept = truncation && maxLength !== undefined ? Math.min(tokens, maxLength - reserved) : tokens;
  return { kept, length: kept + reserved };
}

/** Writes BOS, the first `kept` tokens and EOS at `offset`; returns the end. @internal */
export function writeRow(
  target: Int32Array,
  offset: number,
  tokens: readonly number[],
  kept: number,
  settings: Settings,
): number {
  let at = offset;
  if (settings.bosId !== undefined) target[at++] = settings.bosId;
  for (let i = 0; i < kept; i++) target[at++] = tokens[i] as number;
  if (settings.eosId !== undefined) target[at++] = settings.eosId;
  return at;
}

/** The text of a `tokenize` input, checked. @internal */
export function textOf(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string, got ${show(value)}`);
  return value;
}

/** A value as an error message shows it. @internal */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/**
 * Encodes one text (identical ids to tiktoken's, see {@link TokenizeOptions.allowedSpecial}),
 * with BOS/EOS, truncation and padding as a model's input.
 * @param check - called between pre-tokenizer chunks of a long text; a throw stops the work.
 */
export function tokenizeText(input: TokenizeInput, check: () => void = () => undefined): TokenizeOutput {
  const options = typeof input === 'string' ? { text: input } : input;
  if (typeof options !== 'object' || (options as unknown) === null)
    throw new TypeError(`input must be a string or an object with text, got ${show(options)}`);
  const text = textOf(options.text, 'text');
  const padding = options.padding ?? false;
  if (typeof padding !== 'boolean') throw new TypeError(`padding must be a boolean, got ${show(padding)}`);
  const settings = settingsOf(options);
  const tokens = encodeText(text, settings, check);
  const { kept, length } = fit(tokens.length, settings);
  const size = padding && settings.maxLength !== undefined ? Math.max(length, settings.maxLength) : length;
  // One buffer for both arrays: one allocation, and one buffer to move or copy.
  const buffer = new ArrayBuffer(size * 5);
  const ids = new Int32Array(buffer, 0, size);
  const attentionMask = new Uint8Array(buffer, size * 4, size);
  writeRow(ids, 0, tokens, kept, settings);
  if (size > length) ids.fill(settings.padId, length);
  attentionMask.fill(1, 0, length);
  return { ids, attentionMask, length, truncated: kept < tokens.length };
}
