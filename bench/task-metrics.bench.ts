/**
 * Issue #17's goal: recording 1,000,000 observations inside tasks costs under 5% throughput on
 * a 20 µs task through `map`. One orchestrator runs the same 20 µs task bare and recording four
 * task metrics per item, side by side; the run checks that the registry holds every
 * observation, and that there were at least a million of them.
 */
import { Orchestrator } from 'node-orchestrator';
import { iterationsForMs } from './support/calibrate.js';
import { compare, type ComparisonResult } from './support/compare.js';

const THREADS = 2;
const ITEMS = 10_000;
const OBSERVATIONS_PER_ITEM = 4;

/** Consumes a map, checking that every item came back and succeeded. */
async function drain(iterable: AsyncIterable<{ ok: boolean }>, expected: number): Promise<void> {
  let count = 0;
  for await (const record of iterable) {
    if (!record.ok) throw new Error('item failed');
    count++;
  }
  if (count !== expected) throw new Error(`map yielded ${count} records for ${expected} inputs`);
}

function* inputs(iterations: number): Generator<{ iterations: number; n: number }> {
  for (let n = 0; n < ITEMS; n++) yield { iterations, n };
}

/** The comparison, and the observations recorded in all (every one checked on the registry). */
export async function benchTaskMetrics(
  rounds = Number(process.env['BENCH_ROUNDS'] ?? 5),
): Promise<{ result: ComparisonResult; observations: number }> {
  const orchestrator = new Orchestrator({
    worker: new URL('./fixtures/metric-tasks.mjs', import.meta.url),
    baseLimit: THREADS,
    minLimit: THREADS,
    maxLimit: THREADS,
    adaptive: false,
  });
  const iterations = iterationsForMs(0.02);
  let recorded = 0;
  try {
    const result = await compare(
      `Task metrics (#17): 20 µs task through map, ${THREADS} threads, ${ITEMS.toLocaleString('en-US')} items per op, bare and making ${OBSERVATIONS_PER_ITEM} observations per item`,
      [
        {
          name: 'map, no task metrics',
          run: () => drain(orchestrator.map('cpu', inputs(iterations)), ITEMS),
        },
        {
          name: `map, ${OBSERVATIONS_PER_ITEM} observations per item`,
          run: async () => {
            await drain(orchestrator.map('cpuRecording', inputs(iterations)), ITEMS);
            recorded += ITEMS;
          },
        },
      ],
      { itemsPerOp: ITEMS, rounds, timeMs: 2000 },
    );
    const items = (await orchestrator.registry!.getSingleMetric('orchestrator_items_total')?.get())?.values[0]
      ?.value;
    if (items !== recorded) throw new Error(`items_total is ${items} after ${recorded} recording items`);
    const observations = recorded * OBSERVATIONS_PER_ITEM;
    if (observations < 1_000_000) throw new Error(`only ${observations} observations: run more rounds`);
    return { result, observations };
  } finally {
    await orchestrator.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { toMarkdown } = await import('./support/compare.js');
  console.log(toMarkdown((await benchTaskMetrics()).result));
}
