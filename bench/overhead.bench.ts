/**
 * Per-task overhead of Orchestrator.run against a bare piscina.run with the same thread count,
 * side by side, on a trivial task and a 1 ms CPU task; with and without an AbortSignal per run.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { Orchestrator } from 'node-orchestrator';
import { iterationsForMs } from './support/calibrate.js';
import { compare, toMarkdown, type ComparisonResult } from './support/compare.js';

const THREADS = Math.min(2, availableParallelism());
const bare = new URL('./fixtures/bare.mjs', import.meta.url).href;
const tasks = new URL('./fixtures/tasks.mjs', import.meta.url);

/** Runs both overhead comparisons. */
export async function benchOverhead(rounds = 7): Promise<ComparisonResult[]> {
  const piscina = new Piscina({ filename: bare, minThreads: THREADS, maxThreads: THREADS });
  const orchestrator = new Orchestrator({
    worker: tasks,
    baseLimit: THREADS,
    minLimit: THREADS,
    maxLimit: THREADS,
  });
  const signal = new AbortController().signal;
  try {
    const results: ComparisonResult[] = [];
    for (const [label, name, input, jobs] of [
      ['trivial task', 'trivial', 1, 4000],
      ['1 ms CPU task', 'cpu', iterationsForMs(1), 200],
    ] as const) {
      const batch = (fn: () => Promise<unknown>) => () => Promise.all(Array.from({ length: jobs }, fn));
      results.push(
        await compare(
          `Overhead: ${label}, ${THREADS} threads, ${jobs} tasks submitted at once`,
          [
            {
              name: 'piscina.run',
              run: batch(() => piscina.run(input, { name: name === 'trivial' ? 'default' : name })),
            },
            { name: 'orchestrator.run', run: batch(() => orchestrator.run(name, input)) },
            {
              name: 'orchestrator.run + shared signal',
              run: batch(() => orchestrator.run(name, input, { signal })),
            },
            {
              name: 'orchestrator.run + own signal',
              run: batch(() => orchestrator.run(name, input, { signal: new AbortController().signal })),
            },
          ],
          { itemsPerOp: jobs, rounds, timeMs: name === 'trivial' ? 1500 : 1500 },
        ),
      );
    }
    return results;
  } finally {
    await orchestrator.close();
    await piscina.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const result of await benchOverhead()) console.log(toMarkdown(result) + '\n');
}
