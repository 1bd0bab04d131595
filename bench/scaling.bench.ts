/**
 * Scaling on CPU-bound work from 1 thread to the core count, as efficiency against ideal linear
 * scaling; and memory while 1,000,000 tiny tasks stream through `run`.
 */
import { availableParallelism } from 'node:os';
import { Orchestrator } from 'node-orchestrator';
import { iterationsForMs } from './support/calibrate.js';
import { median } from './support/compare.js';

const WORKER = new URL('./fixtures/tasks.mjs', import.meta.url);

/** Runs `count` tasks keeping `inFlight` submitted; returns tasks/s. */
async function closedLoop(
  orchestrator: Orchestrator,
  count: number,
  input: unknown,
  inFlight = 64,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      await orchestrator.run('cpu', input);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return (count / (performance.now() - start)) * 1000;
}

/** Throughput and efficiency at 1..cores threads on 1 ms CPU tasks (median of `rounds`). */
export async function benchScaling(
  rounds = 3,
): Promise<{ threads: number; tasksPerSecond: number; efficiency: number }[]> {
  const work = iterationsForMs(1);
  const cores = availableParallelism();
  const results = new Map<number, number[]>();
  for (let round = 0; round < rounds; round++) {
    const order = Array.from({ length: cores }, (_, i) => i + 1);
    if (round % 2 === 1) order.reverse();
    for (const threads of order) {
      const orchestrator = new Orchestrator({
        worker: WORKER,
        baseLimit: threads,
        minLimit: threads,
        maxLimit: threads,
        adaptive: false,
      });
      try {
        await closedLoop(orchestrator, 50, work);
        const rate = await closedLoop(orchestrator, 1000, work);
        results.set(threads, [...(results.get(threads) ?? []), rate]);
      } finally {
        await orchestrator.close();
      }
    }
  }
  const one = median(results.get(1)!);
  return [...results.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([threads, rates]) => ({
      threads,
      tasksPerSecond: median(rates),
      efficiency: median(rates) / (one * threads),
    }));
}

/** Heap and RSS while `total` trivial tasks stream through run() with 64 in flight. */
export async function benchRunMemory(
  total = 1_000_000,
): Promise<{ tasks: number; heapMiB: number; rssMiB: number }[]> {
  const orchestrator = new Orchestrator({
    worker: WORKER,
    baseLimit: 2,
    minLimit: 2,
    maxLimit: 2,
    adaptive: false,
  });
  const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
  const rows: { tasks: number; heapMiB: number; rssMiB: number }[] = [];
  const sample = (tasks: number): void => {
    (globalThis as { gc?: () => void }).gc?.();
    const usage = process.memoryUsage();
    rows.push({ tasks, heapMiB: mib(usage.heapUsed), rssMiB: mib(usage.rss) });
  };
  try {
    sample(0);
    let done = 0;
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < total) {
        next++;
        await orchestrator.run('trivial', 1);
        done++;
        if (done % 250_000 === 0) sample(done);
      }
    };
    await Promise.all(Array.from({ length: 64 }, lane));
    return rows;
  } finally {
    await orchestrator.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchScaling());
  console.log(await benchRunMemory());
}
