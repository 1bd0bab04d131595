/**
 * What the throughput and memory suites share: one orchestrator setup on a fixed number of
 * threads, a closed loop that keeps calls in flight, and a drained iteration that checks its
 * count (a short count would flatter a contender).
 */

export const THREADS = 2;
export const IN_FLIGHT = 64;

/** Every orchestrator of these suites: the bench fixtures on exactly THREADS threads, no adaptation. */
export const FIXED = {
  worker: new URL('../fixtures/tasks.mjs', import.meta.url),
  baseLimit: THREADS,
  minLimit: THREADS,
  maxLimit: THREADS,
  adaptive: false,
} as const;

/** Runs `count` calls of `fn(i)`, keeping `IN_FLIGHT` of them pending. */
export async function pump(count: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

/** Consumes records, checking that every item came back and succeeded. */
export async function drain(records: AsyncIterable<unknown>, expected: number): Promise<void> {
  let count = 0;
  for await (const record of records) {
    if (!(record as { ok: boolean }).ok) throw new Error('item failed');
    count++;
  }
  if (count !== expected) throw new Error(`${count} records for ${expected} inputs`);
}

export function* repeat<T>(value: T, count: number): Generator<T> {
  for (let i = 0; i < count; i++) yield value;
}

/** Heap used and RSS in MiB (one decimal), after a full GC when `--expose-gc` allows it. */
export function memoryMiB(): { heapMiB: number; rssMiB: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const usage = process.memoryUsage();
  const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
  return { heapMiB: mib(usage.heapUsed), rssMiB: mib(usage.rss) };
}
