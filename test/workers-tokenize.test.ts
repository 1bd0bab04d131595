/**
 * The text worker's tokenizer held against OpenAI's tiktoken (the npm package: tiktoken's own
 * Rust core compiled to WASM) on a corpus of real text and on the edge cases of BPE
 * pre-tokenization. Regression tests for issue #12.
 */
import { get_encoding, type Tiktoken } from 'tiktoken';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECKED_FROM_CHARS, ENCODINGS, type EncodingName } from '../workers/lib/encodings.js';
import { tokenizeText, type TokenizeOptions } from '../workers/lib/tokenize.js';
import { markdownFiles, passages } from './support/corpus.js';

const reference = new Map<EncodingName, Tiktoken>(ENCODINGS.map((name) => [name, get_encoding(name)]));
afterAll(() => {
  for (const encoder of reference.values()) encoder.free();
});

const ref = (name: EncodingName): Tiktoken => reference.get(name)!;

/** Our ids for `text`, as a plain array. */
function ours(text: string, options: TokenizeOptions = {}): number[] {
  return Array.from(tokenizeText({ text, ...options }).ids);
}

/** Where two id lists first differ, for a readable failure; undefined when equal. */
function firstDifference(expected: ArrayLike<number>, actual: ArrayLike<number>): string | undefined {
  const length = Math.max(expected.length, actual.length);
  for (let i = 0; i < length; i++) {
    if (expected[i] !== actual[i])
      return `at ${i}: tiktoken ${String(expected[i])}, ours ${String(actual[i])} (lengths ${expected.length}/${actual.length})`;
  }
  return undefined;
}

const corpus = passages();

describe('the corpus', () => {
  it('is real, varied text: thousands of passages, blank-line runs, non-ASCII, long files', () => {
    expect(markdownFiles().length).toBeGreaterThan(100);
    expect(corpus.length).toBeGreaterThan(1000);
    expect(corpus.filter((p) => p.text.includes('\n\n\n')).length).toBeGreaterThan(20);
    expect(corpus.filter((p) => /[\u0080-\uffff]/.test(p.text)).length).toBeGreaterThan(50);
    expect(markdownFiles().filter((f) => f.text.length >= CHECKED_FROM_CHARS).length).toBeGreaterThan(10);
  });
});

describe.each(ENCODINGS)('%s: ids identical to tiktoken', (name) => {
  it('on every passage of the corpus (encode_ordinary)', () => {
    const mismatches: string[] = [];
    let tokens = 0;
    for (const { source, text } of corpus) {
      const expected = ref(name).encode_ordinary(text);
      tokens += expected.length;
      const difference = firstDifference(expected, ours(text, { encoding: name }));
      if (difference !== undefined) mismatches.push(`${source} ${difference}`);
    }
    expect(mismatches).toEqual([]);
    expect(tokens).toBeGreaterThan(300_000);
  });

  it('on every whole file, long ones encoded chunk by chunk with cancellation checks between', () => {
    const mismatches: string[] = [];
    let checks = 0;
    for (const { path, text } of markdownFiles()) {
      const actual = tokenizeText({ text, encoding: name }, () => {
        checks++;
      }).ids;
      const difference = firstDifference(ref(name).encode_ordinary(text), actual);
      if (difference !== undefined) mismatches.push(`${path} ${difference}`);
    }
    expect(mismatches).toEqual([]);
    expect(checks).toBeGreaterThan(0);
  });

  it.each([
    ['runs of newlines', 'foo)\n\n\n[npm]\n\n\n\n\nbar\n\n'],
    ['CRLF and mixed whitespace', 'a\r\n\r\n\tb  \r\n \n\t\t c   '],
    ['whitespace only', ' \n\t  \n\n   '],
    ['a single space', ' '],
    ['the empty string', ''],
    ['ChatML markers', '<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant'],
    ['special-token text', 'a<|endoftext|>b <|fim_prefix|><|endofprompt|>'],
    ['accents, CJK, Hangul, Arabic', 'héllo wörld ÆØÅ 中文字符 日本語のテキスト 한국어 مرحبا بالعالم'],
    ['emoji, ZWJ sequences, flags, skin tones', '👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 🏳️‍🌈 ✨done✨'],
    ['a very long word', 'a'.repeat(5000) + 'supercalifragilistic'.repeat(200)],
    ['long digit runs', '1234567890'.repeat(100) + ' 3.14159265358979 1,000,000'],
    ['contractions in any case', "I'M HERE, YOU'LL SEE, we'Ve It'S they'd"],
    ['a lone surrogate', 'lone \ud800 high and \udc00 low'],
    ['title-case and modifier letters', 'ǅungla ǲ ʰʲ ꜰ Ⅻ ＡＢＣ'],
    ['non-breaking and ideographic spaces', '\u00a0x\u2003y\u3000z\u200b'],
    ['code', 'function f(x) {\n\treturn x ?? 0;\n}\n// TODO: café'],
  ])('on %s', (_, text) => {
    expect(ours(text, { encoding: name })).toEqual(Array.from(ref(name).encode_ordinary(text)));
  });
});

describe.each(ENCODINGS)('%s: special tokens', (name) => {
  // Real passages with every special token of the encoding spliced in.
  const texts = corpus.slice(0, 300).map(({ text }, i) => {
    const cut = Math.floor(text.length / 2);
    const token =
      name === 'cl100k_base'
        ? ['<|endoftext|>', '<|fim_prefix|>', '<|endofprompt|>'][i % 3]!
        : '<|endofprompt|>';
    return `${text.slice(0, cut)}${token}${text.slice(cut)}<|endoftext|>`;
  });

  it('encodes special-token text as ordinary text by default, so input cannot inject control ids', () => {
    for (const text of texts)
      expect(ours(text, { encoding: name })).toEqual(Array.from(ref(name).encode_ordinary(text)));
    const endOfText = name === 'cl100k_base' ? 100257 : 199999;
    expect(ours('<|endoftext|>', { encoding: name })).not.toContain(endOfText);
  });

  it("gives tiktoken's ids with allowedSpecial 'all'", () => {
    for (const text of texts)
      expect(ours(text, { encoding: name, allowedSpecial: 'all' })).toEqual(
        Array.from(ref(name).encode(text, 'all')),
      );
  });

  it("gives tiktoken's ids with a list of allowed special tokens, the others staying text", () => {
    const allowed = ['<|endoftext|>'];
    for (const text of texts)
      expect(ours(text, { encoding: name, allowedSpecial: allowed })).toEqual(
        Array.from(ref(name).encode(text, allowed, [])),
      );
  });

  it('refuses a token that is not special in this encoding, naming it and the ones that are', () => {
    expect(() => ours('x', { encoding: name, allowedSpecial: ['<|im_start|>'] })).toThrow(
      new RegExp(
        `allowedSpecial: "<\\|im_start\\|>" is not a special token of ${name}; its special tokens are <\\|endoftext\\|>`,
      ),
    );
  });
});

describe('model framing: BOS/EOS, truncation, padding', () => {
  const text = 'one two three four five six seven';
  const plain = ours(text);

  it('gives the known ids of a known string, with a mask of ones, as one Int32Array and one Uint8Array', () => {
    const out = tokenizeText('hello world');
    expect(out.ids).toBeInstanceOf(Int32Array);
    expect(out.attentionMask).toBeInstanceOf(Uint8Array);
    expect(Array.from(out.ids)).toEqual([15339, 1917]);
    expect(Array.from(out.attentionMask)).toEqual([1, 1]);
    expect(out).toMatchObject({ length: 2, truncated: false });
  });

  it('truncates and pads to maxLength with an attention mask', () => {
    const cut = tokenizeText({ text, maxLength: 3 });
    expect(Array.from(cut.ids)).toEqual(plain.slice(0, 3));
    expect(cut.truncated).toBe(true);
    const padded = tokenizeText({ text: 'hello world', maxLength: 5, padding: true, padId: 100257 });
    expect(Array.from(padded.ids)).toEqual([15339, 1917, 100257, 100257, 100257]);
    expect(Array.from(padded.attentionMask)).toEqual([1, 1, 0, 0, 0]);
    expect(padded.length).toBe(2);
  });

  it('puts bosId first and eosId last, counting them as real tokens', () => {
    const out = tokenizeText({ text, bosId: 1, eosId: 2 });
    expect(Array.from(out.ids)).toEqual([1, ...plain, 2]);
    expect(out.length).toBe(plain.length + 2);
    expect(Array.from(out.attentionMask)).toEqual(Array(plain.length + 2).fill(1));
  });

  it('truncates the text, not BOS/EOS, to fit maxLength, and pads after EOS', () => {
    const cut = tokenizeText({ text, bosId: 1, eosId: 2, maxLength: 5, padding: true, padId: 9 });
    expect(Array.from(cut.ids)).toEqual([1, ...plain.slice(0, 3), 2]);
    expect(cut.truncated).toBe(true);
    const padded = tokenizeText({ text: 'hello', bosId: 1, eosId: 2, maxLength: 6, padding: true, padId: 9 });
    expect(Array.from(padded.ids)).toEqual([1, 15339, 2, 9, 9, 9]);
    expect(Array.from(padded.attentionMask)).toEqual([1, 1, 1, 0, 0, 0]);
    expect(padded).toMatchObject({ length: 3, truncated: false });
  });

  it('keeps every token with truncation: false, even past maxLength', () => {
    const out = tokenizeText({ text, maxLength: 3, truncation: false });
    expect(Array.from(out.ids)).toEqual(plain);
    expect(out.truncated).toBe(false);
  });

  it('names the field and the value of bad options', () => {
    expect(() => tokenizeText({ text: 5 as never })).toThrow(/text must be a string, got 5/);
    expect(() => tokenizeText({ text: 'x', maxLength: 0 })).toThrow(
      /maxLength must be an integer >= 1, got 0/,
    );
    expect(() => tokenizeText({ text: 'x', encoding: 'gpt2' as never })).toThrow(
      /encoding must be one of cl100k_base, o200k_base, got "gpt2"/,
    );
    expect(() => tokenizeText({ text: 'x', bosId: -1 })).toThrow(
      /bosId must be an integer from 0 to 2147483647, got -1/,
    );
    expect(() => tokenizeText({ text: 'x', maxLength: 2, bosId: 1, eosId: 2 })).toThrow(
      /maxLength must leave room for a token besides bosId\/eosId, got 2/,
    );
    expect(() => tokenizeText({ text: 'x', allowedSpecial: 'some' as never })).toThrow(
      /allowedSpecial must be 'all' or an array of strings, got "some"/,
    );
    expect(() => tokenizeText(null as never)).toThrow(
      /input must be a string or an object with text, got null/,
    );
  });
});

describe('cancellation', () => {
  const long = markdownFiles()
    .map((f) => f.text)
    .find((t) => t.length > 4 * CHECKED_FROM_CHARS)!;

  it('stops a long text between pre-tokenizer chunks when its check throws', () => {
    let calls = 0;
    expect(() =>
      tokenizeText(long, () => {
        if (++calls === 3) throw new Error('cancelled');
      }),
    ).toThrow('cancelled');
    expect(calls).toBe(3);
  });

  it('checks without changing the split: the checked encoding equals tiktoken', () => {
    let calls = 0;
    const ids = tokenizeText(long, () => {
      calls++;
    }).ids;
    expect(calls).toBeGreaterThan(3);
    expect(firstDifference(ref('cl100k_base').encode_ordinary(long), ids)).toBeUndefined();
  });
});
