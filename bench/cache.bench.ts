/**
 * The result cache: what a hit costs against a run, what keeps results immutable costs, a
 * 90%-repeat workload against the same without a cache, and memory under a stream of distinct
 * inputs. Contenders run side by side in one process (see support/compare.ts).
 */
import { Orchestrator } from 'node-orchestrator';
import { iterationsForMs } from './support/calibrate.js';
import { compare, type ComparisonResult } from './support/compare.js';
import { FIXED, memoryMiB, pump, THREADS } from './support/fixed-pool.js';

/** A request-like input of about 900 bytes (as JSON): a document to tokenize and its settings. */
const SMALL_INPUT = {
  id: 'doc-42',
  text: 'The quick brown fox jumps over the lazy dog. '.repeat(19),
  maxLength: 512,
  padding: true,
  tags: ['en', 'news'],
};

/** A cache hit (default key, user cacheKey, clone mode) against a run of the trivial task. */
export async function benchCacheHit(rounds = 5): Promise<ComparisonResult> {
  const plain = new Orchestrator(FIXED);
  const byDigest = new Orchestrator({ ...FIXED, cache: { tasks: ['trivial'] } });
  const byKey = new Orchestrator({
    ...FIXED,
    cache: { tasks: { trivial: { cacheKey: (input) => (input as { id: string }).id } } },
  });
  const cloning = new Orchestrator({ ...FIXED, cache: { tasks: ['trivial'], immutability: 'clone' } });
  const count = 4000;
  try {
    for (const o of [byDigest, byKey, cloning]) await o.run('trivial', SMALL_INPUT);
    return await compare(
      `Cache hit vs a run of a trivial task, ${JSON.stringify(SMALL_INPUT).length}-byte input, 64 in flight, ${count.toLocaleString('en-US')} calls per op`,
      [
        {
          name: 'orchestrator.run (no cache)',
          run: () => pump(count, () => plain.run('trivial', SMALL_INPUT)),
        },
        {
          name: 'hit, default key (SHA-256), frozen result',
          run: () => pump(count, () => byDigest.run('trivial', SMALL_INPUT)),
        },
        {
          name: 'hit, cacheKey, frozen result',
          run: () => pump(count, () => byKey.run('trivial', SMALL_INPUT)),
        },
        {
          name: "hit, default key, immutability: 'clone'",
          run: () => pump(count, () => cloning.run('trivial', SMALL_INPUT)),
        },
      ],
      { itemsPerOp: count, rounds, timeMs: 800 },
    );
  } finally {
    await Promise.all([plain, byDigest, byKey, cloning].map((o) => o.close()));
  }
}

/**
 * 1 ms CPU tasks where 9 calls in 10 repeat one of 20 hot inputs and 1 in 10 is new: with the
 * cache against the same calls with `cache: false`.
 */
export async function benchCacheRepeat(rounds = 5): Promise<ComparisonResult> {
  const orchestrator = new Orchestrator({ ...FIXED, cache: { tasks: ['cpuKeyed'] } });
  const iterations = iterationsForMs(1);
  const count = 400;
  let fresh = 0;
  const input = (i: number): { iterations: number; id: number } =>
    i % 10 === 0 ? { iterations, id: -++fresh } : { iterations, id: i % 20 };
  try {
    return await compare(
      `90%-repeat workload of 1 ms tasks, ${THREADS} threads, 64 in flight, ${count} calls per op`,
      [
        {
          name: 'cache: false',
          run: () => pump(count, (i) => orchestrator.run('cpuKeyed', input(i), { cache: false })),
        },
        { name: 'cached', run: () => pump(count, (i) => orchestrator.run('cpuKeyed', input(i))) },
      ],
      { itemsPerOp: count, rounds, timeMs: 1500 },
    );
  } finally {
    await orchestrator.close();
  }
}

/** Heap, RSS and the cache's bytes while `total` distinct inputs stream through a cached task. */
export async function benchCacheMemory(
  total = 1_000_000,
  maxBytes = 8 * 2 ** 20,
): Promise<{ calls: number; heapMiB: number; rssMiB: number; cacheMiB: number }[]> {
  const orchestrator = new Orchestrator({
    ...FIXED,
    cache: { tasks: ['trivial'], maxBytes, maxEntries: 200_000 },
  });
  const rows: { calls: number; heapMiB: number; rssMiB: number; cacheMiB: number }[] = [];
  const sample = async (calls: number): Promise<void> => {
    const text = await orchestrator.registry!.metrics();
    const cached = Number(/orchestrator_cache_bytes\{task="trivial"\} (\d+)/.exec(text)?.[1] ?? 0);
    rows.push({ calls, ...memoryMiB(), cacheMiB: Math.round((cached / 2 ** 20) * 10) / 10 });
  };
  try {
    await sample(0);
    const checkpoints = new Set([total / 10, total / 2, total]);
    let done = 0;
    await pump(total, async (i) => {
      await orchestrator.run('trivial', { id: i, text: `input number ${i}` });
      if (checkpoints.has(++done)) await sample(done);
    });
    return rows;
  } finally {
    await orchestrator.close();
  }
}
