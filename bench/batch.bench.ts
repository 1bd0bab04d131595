/**
 * Many small tasks: orchestrator.map (batched, pipelined) against bare Piscina, tinypool and
 * workerpool running one task per item with 64 in flight, same thread count, side by side.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import Tinypool from 'tinypool';
import workerpool from 'workerpool';
import { Orchestrator } from 'node-orchestrator';
import { iterationsForMs } from './support/calibrate.js';
import { compare, median, percentile, type ComparisonResult } from './support/compare.js';
import { drain, FIXED, memoryMiB, pump, repeat, THREADS } from './support/fixed-pool.js';

const bare = new URL('./fixtures/bare.mjs', import.meta.url).href;

/** Throughput comparisons for trivial, 20 µs, 1 ms and 10 ms tasks. */
export async function benchBatch(
  rounds = Number(process.env['BENCH_ROUNDS'] ?? 5),
): Promise<ComparisonResult[]> {
  const piscina = new Piscina({ filename: bare, minThreads: THREADS, maxThreads: THREADS });
  const tinypool = new Tinypool({ filename: fileURLToPath(bare), minThreads: THREADS, maxThreads: THREADS });
  const wpool = workerpool.pool(fileURLToPath(new URL('./fixtures/workerpool-worker.mjs', import.meta.url)), {
    maxWorkers: THREADS,
    minWorkers: THREADS,
    workerType: 'thread',
  });
  const orchestrator = new Orchestrator(FIXED);
  const cases: [string, 'trivial' | 'cpu', unknown, number][] = [
    ['trivial task', 'trivial', 1, 20_000],
    ['20 µs task', 'cpu', iterationsForMs(0.02), 10_000],
    ['1 ms task', 'cpu', iterationsForMs(1), 400],
    ['10 ms task', 'cpu', iterationsForMs(10), 40],
  ];
  try {
    const results: ComparisonResult[] = [];
    for (const [label, name, input, count] of cases) {
      const piscinaName = name === 'trivial' ? 'default' : name;
      results.push(
        await compare(
          `Small tasks: ${label}, ${THREADS} threads, ${count.toLocaleString('en-US')} items per op`,
          [
            {
              name: 'piscina.run ×64 in flight',
              run: () => pump(count, () => piscina.run(input, { name: piscinaName })),
            },
            {
              name: 'orchestrator.map',
              run: () => drain(orchestrator.map(name, repeat(input, count)), count),
            },
            {
              name: 'tinypool ×64 in flight',
              run: () => pump(count, () => tinypool.run(input, { name: piscinaName })),
            },
            { name: 'workerpool ×64 in flight', run: () => pump(count, () => wpool.exec(name, [input])) },
          ],
          { itemsPerOp: count, rounds, timeMs: name === 'trivial' ? 1000 : 1500 },
        ),
      );
    }
    return results;
  } finally {
    await orchestrator.close();
    await piscina.destroy();
    await tinypool.destroy();
    await wpool.terminate();
  }
}

/**
 * run() one call at a time with 64 in flight: bare Piscina, the orchestrator's one-task path, and
 * the same with the `batch` option coalescing the calls.
 */
export async function benchCoalesce(rounds = 5): Promise<ComparisonResult[]> {
  const piscina = new Piscina({ filename: bare, minThreads: THREADS, maxThreads: THREADS });
  const plain = new Orchestrator(FIXED);
  const coalesced = new Orchestrator({ ...FIXED, batch: { maxSize: 32, maxDelayMs: 1 } });
  const cases: [string, 'trivial' | 'cpu', unknown, number][] = [
    ['trivial task', 'trivial', 1, 20_000],
    ['20 µs task', 'cpu', iterationsForMs(0.02), 10_000],
  ];
  try {
    const results: ComparisonResult[] = [];
    for (const [label, name, input, count] of cases) {
      const piscinaName = name === 'trivial' ? 'default' : name;
      results.push(
        await compare(
          `Coalesced run(): ${label}, ${THREADS} threads, 64 in flight, ${count.toLocaleString('en-US')} runs per op`,
          [
            { name: 'piscina.run', run: () => pump(count, () => piscina.run(input, { name: piscinaName })) },
            { name: 'orchestrator.run', run: () => pump(count, () => plain.run(name, input)) },
            {
              name: 'orchestrator.run, batch { maxSize: 32, maxDelayMs: 1 }',
              run: () => pump(count, () => coalesced.run(name, input)),
            },
          ],
          { itemsPerOp: count, rounds, timeMs: 1000 },
        ),
      );
    }
    return results;
  } finally {
    await plain.close();
    await coalesced.close();
    await piscina.destroy();
  }
}

/** p50/p99 latency of items through map at about half of its peak throughput. */
export async function benchMapLatency(): Promise<{ offeredPerSecond: number; p50Ms: number; p99Ms: number }> {
  const orchestrator = new Orchestrator(FIXED);
  try {
    const work = iterationsForMs(0.02);
    const peakStart = performance.now();
    const peakItems = 50_000;
    await drain(orchestrator.map('cpu', repeat(work, peakItems)), peakItems);
    const peak = (peakItems / (performance.now() - peakStart)) * 1000;
    const offered = peak / 2;
    const entered = new Map<number, number>();
    const latencies: number[] = [];
    const total = Math.round(offered * 3); // about three seconds of arrivals
    async function* arrivals(): AsyncGenerator<number> {
      const start = performance.now();
      for (let i = 0; i < total; i++) {
        const due = start + (i / offered) * 1000;
        while (performance.now() < due) await new Promise((resolve) => setImmediate(resolve));
        entered.set(i, performance.now());
        yield work;
      }
    }
    for await (const record of orchestrator.map('cpu', arrivals())) {
      latencies.push(performance.now() - entered.get(record.index)!);
      entered.delete(record.index);
    }
    return { offeredPerSecond: offered, p50Ms: median(latencies), p99Ms: percentile(latencies, 99) };
  } finally {
    await orchestrator.close();
  }
}

/** Heap and RSS while map streams `total` generated inputs (checkpoints at 1M and at the end). */
export async function benchMapMemory(
  total = 5_000_000,
): Promise<{ items: number; heapMiB: number; rssMiB: number }[]> {
  const orchestrator = new Orchestrator(FIXED);
  const checkpoints: { items: number; heapMiB: number; rssMiB: number }[] = [];
  const sample = (items: number): void => {
    checkpoints.push({ items, ...memoryMiB() });
  };
  try {
    sample(0);
    let seen = 0;
    for await (const record of orchestrator.map('trivial', repeat(1, total))) {
      if (!record.ok) throw new Error('item failed');
      seen++;
      if (seen === 1_000_000 || seen === total) sample(seen);
    }
    return checkpoints;
  } finally {
    await orchestrator.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { toMarkdown } = await import('./support/compare.js');
  for (const result of await benchBatch(3)) console.log(toMarkdown(result) + '\n');
  console.log(await benchMapLatency());
  console.log(await benchMapMemory());
}
