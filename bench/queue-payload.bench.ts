/**
 * Bytes a job's payload takes in Redis, on a corpus of what the shipped workers read and write:
 * the job's `data` field as BullMQ stores it (JSON around the base64 payload), for each encoding.
 */
import { Orchestrator } from 'node-orchestrator';
import { encodeJob } from '../src/bullmq/envelope.js';
import { resolvePayload, type PayloadOptions } from '../src/bullmq/codec.js';
import { patternImage, textCorpus } from '../src/demo/dataset.js';

/** One corpus row: the serialized size, then bytes stored and encode time per encoding. */
export interface PayloadRow {
  corpus: string;
  items: number;
  serialized: number;
  stored: Record<string, { bytes: number; encodeMs: number }>;
}

const ENCODINGS: Record<string, PayloadOptions['compression']> = {
  none: false,
  'gzip 1': { algorithm: 'gzip', level: 1 },
  'brotli 1 (default)': {},
  'brotli 4': { algorithm: 'brotli', level: 4 },
  'brotli 6': { algorithm: 'brotli', level: 6 },
};

/** The corpus: one job's worth of each kind of payload. */
async function corpus(): Promise<[string, unknown[]][]> {
  const sentences = [...textCorpus(512)];
  const text = new Orchestrator({
    worker: new URL('../../dist/workers/text.js', import.meta.url),
    baseLimit: 1,
    minLimit: 1,
    maxLimit: 1,
    adaptive: false,
  });
  const tokens: unknown[] = [];
  try {
    for await (const record of text.map('tokenize', sentences, { ordered: true })) {
      if (!record.ok) throw record.error;
      tokens.push(record.value);
    }
  } finally {
    await text.close();
  }
  const records = sentences.map((sentence, i) => ({
    id: i,
    user: `user-${i % 37}`,
    at: new Date(Date.UTC(2026, 0, 1) + i * 60_000),
    words: sentence.split(' ').length,
    tags: new Set(['a', 'b', 'c'].slice(i % 3)),
    score: i / 7,
  }));
  const images = Array.from({ length: 16 }, (_, i) => ({
    image: patternImage(320, 240, i, 'jpeg'),
    width: 224,
    height: 224,
  }));
  return [
    ['512 sentences (tokenize inputs)', sentences],
    ['512 token results (Int32Array ids, masks)', tokens],
    ['512 records (Dates, Sets)', records],
    ['16 JPEG images 320×240 (preprocess inputs)', images],
    ['512 small integers', sentences.map((_, i) => i)],
  ];
}

/** Measures every corpus under every encoding (the median of 5 encodes for the time). */
export async function benchQueuePayload(): Promise<PayloadRow[]> {
  const rows: PayloadRow[] = [];
  for (const [name, items] of await corpus()) {
    const row: PayloadRow = { corpus: name, items: items.length, serialized: 0, stored: {} };
    for (const [encoding, compression] of Object.entries(ENCODINGS)) {
      const settings = resolvePayload({ compression, maxPayloadBytes: 64 << 20 });
      const times: number[] = [];
      let stored = 0;
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const { data, bytes } = await encodeJob('task', items, {}, settings);
        times.push(performance.now() - started);
        stored = JSON.stringify(data).length;
        row.serialized = bytes;
      }
      row.stored[encoding] = { bytes: stored, encodeMs: times.sort((a, b) => a - b)[2]! };
    }
    rows.push(row);
  }
  return rows;
}
