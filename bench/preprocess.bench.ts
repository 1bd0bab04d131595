/**
 * The shipped workers on real data, side by side: `orchestrator.map` on one thread per core
 * against bare worker threads that already hold their share of the inputs (no pool, no
 * messages per item: the limit of this machine for this work) and against one main thread.
 * Text: every README passage in node_modules (cl100k_base). Images: the real photographs of
 * test/fixtures/images to 224×224 (cover, bilinear, ImageNet-normalized float32 CHW), and
 * sharp doing the same, as a figure for users. Also the memory a thread costs.
 */
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { Orchestrator } from 'node-orchestrator';
import { tokenize } from 'node-orchestrator/workers/text';
import { preprocessImage, type ImageInput } from 'node-orchestrator/workers/image';
import { passages } from '../test/support/corpus.js';
import { compare, toMarkdown, type ComparisonResult, type Contender } from './support/compare.js';
import { cpuMarkdown, cpuPerItem, type CpuPerItem } from './support/cpu.js';

const THREADS = availableParallelism();
const BARE = new URL('./fixtures/bare-preprocess.mjs', import.meta.url);
const ctx = { throwIfAborted: () => undefined } as never;
const TEXTS_PER_BATCH_ITEM = 32;
/** The orchestrators here: the shipped worker on exactly one thread per core. */
const fixed = (worker: 'text' | 'image'): Orchestrator =>
  new Orchestrator({
    worker: import.meta.resolve(`node-orchestrator/workers/${worker}`),
    baseLimit: THREADS,
    minLimit: THREADS,
    maxLimit: THREADS,
    adaptive: false,
  });

/** Worker threads that each hold every THREADS-th input and run the task over them when told. */
class BareThreads {
  readonly #workers: Worker[];

  constructor(task: 'tokenize' | 'preprocessImage', inputs: readonly unknown[]) {
    this.#workers = Array.from(
      { length: THREADS },
      (_, k) =>
        new Worker(BARE, { workerData: { task, inputs: inputs.filter((_, i) => i % THREADS === k) } }),
    );
  }

  async ready(): Promise<void> {
    await Promise.all(this.#workers.map((w) => once(w, 'message')));
  }

  #pass = 0;

  /** One pass over the inputs on every thread; each thread answers with the pass's number. */
  async run(): Promise<void> {
    const pass = ++this.#pass;
    const done = this.#workers.map(async (w) => {
      while (((await once(w, 'message')) as [number])[0] !== pass);
    });
    for (const w of this.#workers) w.postMessage(pass);
    await Promise.all(done);
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** Drains a map, checking every item came back and succeeded (a short count would flatter it). */
async function drain(records: AsyncIterable<{ ok: boolean }>, expected: number): Promise<void> {
  let count = 0;
  for await (const record of records) {
    if (!record.ok) throw new Error('item failed');
    count++;
  }
  if (count !== expected) throw new Error(`map yielded ${count} records for ${expected} inputs`);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}

/** A comparison with the bare threads as baseline, plus each contender's ratio to one main thread. */
function withMainRatio(result: ComparisonResult, main: string): string {
  const mainRate = result.rows.find((r) => r.name === main)!.itemsPerSecond;
  const ratios = result.rows
    .filter((r) => r.name !== main)
    .map((r) => `${r.name}: ${(r.itemsPerSecond / mainRate).toFixed(2)}×`)
    .join('; ');
  return `${toMarkdown(result)}\n\nAgainst ${main}: ${ratios}.`;
}

/** How one workload runs side by side: its task, inputs, extra contenders and timing. */
interface Workload {
  title: string;
  worker: 'text' | 'image';
  task: 'tokenize' | 'preprocessImage';
  inputs: readonly unknown[];
  /** Contenders besides bare threads, map and one main thread, given the orchestrator. */
  others: (orchestrator: Orchestrator) => Contender[];
  timeMs: number;
  warmupMs: number;
  /** Passes over the inputs per contender for the CPU-per-item table. */
  cpuReps: number;
}

/** A side-by-side result: throughput, CPU per item where /proc has it, and the report. */
export interface SideBySide {
  result: ComparisonResult;
  cpu: CpuPerItem[] | undefined;
  markdown: string;
}

/**
 * Runs a workload on bare threads holding the inputs (the baseline), through
 * `orchestrator.map` on one thread per core, through the other contenders, and on one main
 * thread; reports ratios to the bare threads and to the main thread.
 */
async function sideBySide(w: Workload, rounds: number): Promise<SideBySide> {
  const bare = new BareThreads(w.task, w.inputs);
  const orchestrator = fixed(w.worker);
  const fn = w.task === 'tokenize' ? tokenize : preprocessImage;
  const contenders: Contender[] = [
    { name: `${THREADS} bare threads holding the inputs`, run: () => bare.run() },
    {
      name: `orchestrator.map('${w.task}'), ${THREADS} threads`,
      run: () => drain(orchestrator.map(w.task, w.inputs), w.inputs.length),
    },
    ...w.others(orchestrator),
    {
      name: 'one main thread',
      run: () => {
        for (const input of w.inputs) void fn(input as never, ctx);
      },
    },
  ];
  try {
    await bare.ready();
    const result = await compare(w.title, contenders, {
      itemsPerOp: w.inputs.length,
      rounds,
      timeMs: w.timeMs,
      warmupMs: w.warmupMs,
    });
    // Where the time goes, in CPU per item: the part that holds on a busy machine.
    const cpu = await cpuPerItem(contenders, w.inputs.length, w.cpuReps);
    const markdown = withMainRatio(result, 'one main thread');
    return {
      result,
      cpu,
      markdown:
        cpu === undefined ? markdown : `${markdown}\n\nCPU per item (Linux /proc):\n\n${cpuMarkdown(cpu)}`,
    };
  } finally {
    await orchestrator.close();
    await bare.close();
  }
}

/** Tokenizing every README passage: bare threads, map, map of tokenizeBatch, one main thread. */
export function benchTokenize(rounds = 5): Promise<SideBySide> {
  const texts = passages().map((p) => p.text);
  const batches = chunks(texts, TEXTS_PER_BATCH_ITEM).map((group) => ({ texts: group, maxLength: 512 }));
  return sideBySide(
    {
      title: `Tokenizing ${texts.length.toLocaleString('en-US')} README passages (cl100k_base), ${THREADS} cores`,
      worker: 'text',
      task: 'tokenize',
      inputs: texts,
      others: (orchestrator) => [
        {
          name: `orchestrator.map('tokenizeBatch'), ${TEXTS_PER_BATCH_ITEM} texts (≤ 512 tokens) an item`,
          run: () => drain(orchestrator.map('tokenizeBatch', batches), batches.length),
        },
      ],
      timeMs: 1500,
      warmupMs: 500,
      cpuReps: 4,
    },
    rounds,
  );
}

/** The real photographs, twice each, in an order that alternates large and small. */
function imageInputs(): ImageInput[] {
  const dir = join(process.cwd(), 'test/fixtures/images');
  const files = readdirSync(dir)
    .filter((f) => /\.(png|jpe?g)$/.test(f) && f !== 'truncated.jpg')
    .sort();
  const images = files.map((f) => new Uint8Array(readFileSync(join(dir, f))));
  return [...images, ...[...images].reverse()].map((image) => ({
    image,
    width: 224,
    height: 224,
    fit: 'cover',
    filter: 'bilinear',
  }));
}

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** sharp's nearest equivalent: cover 224×224 with its linear kernel, then the same normalization. */
async function withSharp(input: ImageInput): Promise<Float32Array> {
  const { data } = await sharp(input.image as Uint8Array)
    .rotate()
    .resize(input.width, input.height, { fit: 'cover', kernel: 'linear' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = input.width * input.height;
  const tensor = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++)
      tensor[c * plane + i] = ((data[i * 3 + c] as number) / 255 - MEAN[c]!) / STD[c]!;
  return tensor;
}

/** Preprocessing real photographs: bare threads, map, one main thread, and sharp. */
export function benchImages(rounds = 5): Promise<SideBySide> {
  const inputs = imageInputs();
  return sideBySide(
    {
      title: `Preprocessing ${inputs.length} real photographs (0.1–2 MP, PNG and JPEG) to 224×224 float32, ${THREADS} cores`,
      worker: 'image',
      task: 'preprocessImage',
      inputs,
      others: () => [
        { name: 'sharp (libvips, native), all at once', run: () => Promise.all(inputs.map(withSharp)) },
      ],
      timeMs: 3000,
      warmupMs: 1000,
      cpuReps: 2,
    },
    rounds,
  );
}

/** RSS the process gains per pool thread once the threads have done `warm`, in MiB. */
async function rssPerThread(orchestrator: Orchestrator, warm: () => Promise<void>): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().rss;
  await warm();
  gc?.();
  const after = process.memoryUsage().rss;
  await orchestrator.close();
  return (after - before) / THREADS / 2 ** 20;
}

/** Memory a thread costs: RSS per pool thread (vocabularies load only when an encoding is used). */
export async function benchPreprocessMemory(): Promise<{ what: string; rssMiBPerThread: number }[]> {
  const texts = passages()
    .slice(0, 2000)
    .map((p) => p.text);
  const rows: { what: string; rssMiBPerThread: number }[] = [];
  for (const [what, encodings] of [
    ['text worker, cl100k_base used', ['cl100k_base']],
    ['text worker, cl100k_base and o200k_base used', ['cl100k_base', 'o200k_base']],
  ] as const) {
    const orchestrator = fixed('text');
    const rss = await rssPerThread(orchestrator, async () => {
      for (const encoding of encodings)
        await drain(
          orchestrator.map(
            'tokenize',
            texts.map((text) => ({ text, encoding })),
          ),
          texts.length,
        );
    });
    rows.push({ what, rssMiBPerThread: Math.round(rss) });
  }
  const images = fixed('image');
  const inputs = imageInputs();
  rows.push({
    what: 'image worker, after the photographs',
    rssMiBPerThread: Math.round(
      await rssPerThread(images, () => drain(images.map('preprocessImage', inputs), inputs.length)),
    ),
  });
  return rows;
}
