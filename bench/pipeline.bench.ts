/**
 * Pipelines: three stages fused inside the worker against the same three `map` calls chained
 * by hand (every item back to the main thread between stages), for trivial stages, ~20 µs
 * stages and a stage that passes a 600 KB tensor to the next; and memory over 5,000,000 inputs.
 */
import { Orchestrator, type MapRecord } from 'node-orchestrator';
import { iterationsForMs } from './support/calibrate.js';
import { compare, type ComparisonResult } from './support/compare.js';
import { drain, FIXED, memoryMiB, repeat, THREADS } from './support/fixed-pool.js';

/** What a user writes without pipelines: the next map's inputs are the last one's values. */
async function* values(records: AsyncIterable<MapRecord>): AsyncGenerator {
  for await (const record of records) {
    if (!record.ok) throw record.error;
    yield record.value;
  }
}

/** Three stages: fused pipeline, the same unfused, and three chained maps. */
export async function benchPipeline(rounds = 5): Promise<ComparisonResult[]> {
  const orchestrator = new Orchestrator(FIXED);
  const work = iterationsForMs(0.02);
  const cases: [string, string[], unknown, number][] = [
    ['three trivial stages', ['trivial', 'trivial', 'trivial'], 1, 20_000],
    ['three ~20 µs stages', ['cpuPass', 'cpuPass', 'cpu'], work, 4_000],
    ['a 600 KB tensor passed from stage 1 to stage 2', ['makeTensor', 'sumTensor'], 1, 200],
  ];
  try {
    const results: ComparisonResult[] = [];
    for (const [label, tasks, input, count] of cases) {
      const chained = (): AsyncIterable<MapRecord> =>
        tasks
          .slice(1)
          .reduce<AsyncIterable<MapRecord>>(
            (records, task) => orchestrator.map(task, values(records)),
            orchestrator.map(tasks[0]!, repeat(input, count)),
          );
      const piped = (fuse: boolean) =>
        tasks.reduce((p, task) => p.map(task), orchestrator.pipeline(repeat(input, count), { fuse }));
      results.push(
        await compare(
          `Pipeline: ${label}, ${THREADS} threads, ${count.toLocaleString('en-US')} items per op`,
          [
            { name: `${tasks.length} map calls chained by hand`, run: () => drain(chained(), count) },
            { name: 'pipeline, fused', run: () => drain(piped(true), count) },
            { name: 'pipeline, fuse: false', run: () => drain(piped(false), count) },
          ],
          { itemsPerOp: count, rounds, timeMs: 1500 },
        ),
      );
    }
    return results;
  } finally {
    await orchestrator.close();
  }
}

/** Heap and RSS while a three-stage fused pipeline streams `total` generated inputs. */
export async function benchPipelineMemory(
  total = 5_000_000,
): Promise<{ items: number; heapMiB: number; rssMiB: number }[]> {
  const orchestrator = new Orchestrator(FIXED);
  const rows: { items: number; heapMiB: number; rssMiB: number }[] = [];
  const sample = (items: number): void => {
    rows.push({ items, ...memoryMiB() });
  };
  try {
    sample(0);
    let seen = 0;
    const records = orchestrator.pipeline(repeat(1, total)).map('trivial').map('trivial').map('trivial');
    for await (const record of records) {
      if (!record.ok) throw new Error('item failed');
      seen++;
      if (seen === 1_000_000 || seen === total) sample(seen);
    }
    return rows;
  } finally {
    await orchestrator.close();
  }
}
