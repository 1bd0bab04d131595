/**
 * The shipped workers as users run them: resolved through the package exports
 * (`node-orchestrator/workers/text`, `/image`), driven by run and map, held against the same
 * references as their libraries.
 */
import { readFileSync } from 'node:fs';
import { get_encoding } from 'tiktoken';
import { afterAll, describe, expect, it } from 'vitest';
import { Orchestrator } from 'node-orchestrator';
import { preprocess } from '../workers/lib/image/preprocess.js';
import { tokenizeBatch as collate } from '../workers/lib/collate.js';
import { tokenize, tokenizeBatch } from '../workers/text.js';
import { passages } from './support/corpus.js';
import { FIXTURES } from './support/pillow.js';

const text = new Orchestrator<typeof import('node-orchestrator/workers/text')>({
  worker: import.meta.resolve('node-orchestrator/workers/text'),
  adaptive: false,
});
const images = new Orchestrator<typeof import('node-orchestrator/workers/image')>({
  worker: import.meta.resolve('node-orchestrator/workers/image'),
  adaptive: false,
});
afterAll(async () => {
  await Promise.all([text.close(), images.close()]);
});

describe('the text worker through map', () => {
  it.each(['cl100k_base', 'o200k_base'] as const)(
    'gives tiktoken’s ids for every one of 600 real passages (%s)',
    async (encoding) => {
      const sample = passages()
        .filter((_, i) => i % 8 === 0)
        .slice(0, 600);
      const reference = get_encoding(encoding);
      try {
        let seen = 0;
        for await (const record of text.map(
          'tokenize',
          sample.map(({ text: t }) => ({ text: t, encoding })),
        )) {
          if (!record.ok) throw record.error;
          expect(Array.from(record.value.ids)).toEqual(
            Array.from(reference.encode_ordinary(sample[record.index]!.text)),
          );
          seen++;
        }
        expect(seen).toBe(sample.length);
      } finally {
        reference.free();
      }
    },
  );

  it('map records equal, item by item, what tokenize returns in the thread (packed or moved alone)', async () => {
    const ctx = { throwIfAborted: () => undefined } as never;
    const texts = passages()
      .slice(0, 400)
      .map((p) => p.text);
    // A long text among them: its result (≥ 8,192 ids) moves on its own, the others are packed.
    const long = texts.join('').slice(0, 100_000);
    const inputs = texts.map((t, i) =>
      i === 150 ? long : i % 3 === 0 ? t : { text: t, maxLength: 64, padding: i % 3 === 1, bosId: 7 },
    );
    const unwrap = (out: unknown): unknown =>
      typeof out === 'object' && out !== null && 'transferList' in out && 'value' in out ? out.value : out;
    const results = new Map<number, unknown>();
    for await (const record of text.map('tokenize', inputs)) {
      if (!record.ok) throw record.error;
      results.set(record.index, record.value);
    }
    expect(results.size).toBe(inputs.length);
    inputs.forEach((input, i) => {
      expect(results.get(i)).toStrictEqual(unwrap(tokenize(input, ctx)));
    });
    expect((results.get(150) as { ids: Int32Array }).ids.length).toBeGreaterThanOrEqual(8192);
  });

  it('tokenize moves a large result (one buffer for ids and mask) and copies a small one', () => {
    const ctx = { throwIfAborted: () => undefined } as never;
    const long = passages()
      .map((p) => p.text)
      .join('')
      .slice(0, 200_000);
    const moved = tokenize(long, ctx) as unknown as {
      value: { ids: Int32Array; attentionMask: Uint8Array };
      transferList: ArrayBuffer[];
    };
    expect(moved.transferList).toEqual([moved.value.ids.buffer]);
    expect(moved.value.attentionMask.buffer).toBe(moved.value.ids.buffer);
    const small = tokenize('hello world', ctx) as { ids: Int32Array };
    expect(Array.from(small.ids)).toEqual([15339, 1917]);
  });

  it('tokenizeBatch returns the [N, L] batch its library builds, its buffers marked to move', async () => {
    const input = {
      texts: passages()
        .slice(0, 32)
        .map((p) => p.text),
      maxLength: 128,
      bosId: 1,
      eosId: 2,
    };
    const batch = await text.run('tokenizeBatch', input);
    const local = collate(input);
    expect(batch.shape).toEqual(local.shape);
    expect(Array.from(batch.ids, Number)).toEqual(Array.from(local.ids));
    expect(Array.from(batch.attentionMask, Number)).toEqual(Array.from(local.attentionMask));
    const marked = tokenizeBatch(input, { throwIfAborted: () => undefined } as never) as unknown as {
      value: { ids: Int32Array; attentionMask: Int32Array };
      transferList: ArrayBuffer[];
    };
    expect(marked.transferList).toContain(marked.value.ids.buffer);
    expect(marked.transferList).toContain(marked.value.attentionMask.buffer);
  });
});

describe('the image worker through map', () => {
  it('gives the pixels its library gives, for PNG and JPEG, in every fit', async () => {
    const files = ['coffee.png', 'rocket.jpg', 'chelsea.png'];
    const inputs = files.flatMap((file) =>
      (['fill', 'cover', 'contain'] as const).map((fit) => ({
        image: new Uint8Array(readFileSync(`${FIXTURES}${file}`)),
        width: 96,
        height: 64,
        fit,
      })),
    );
    let seen = 0;
    for await (const record of images.map('preprocessImage', inputs)) {
      if (!record.ok) throw record.error;
      const expected = preprocess(inputs[record.index]!);
      expect(record.value.shape).toEqual([3, 64, 96]);
      expect(record.value.tensor).toEqual(expected.tensor);
      seen++;
    }
    expect(seen).toBe(inputs.length);
  });
});
