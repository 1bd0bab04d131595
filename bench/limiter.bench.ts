/**
 * Acquire/release throughput of AdaptiveLimiter against p-limit and p-queue at the same
 * concurrency: each op pushes 10,000 no-op async jobs through the limiter and awaits them all.
 */
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import { AdaptiveLimiter } from 'node-orchestrator';
import { compare, toMarkdown, type ComparisonResult } from './support/compare.js';

const JOBS = 10_000;
const CONCURRENCY = 4;
const noop = async (): Promise<void> => {};

/** Runs the limiter comparison. */
export async function benchLimiter(rounds = 5): Promise<ComparisonResult> {
  const limiter = new AdaptiveLimiter({ limit: CONCURRENCY });
  const limit = pLimit(CONCURRENCY);
  const queue = new PQueue({ concurrency: CONCURRENCY });
  return compare(
    `Limiter: ${JOBS.toLocaleString('en-US')} no-op jobs at concurrency ${CONCURRENCY}`,
    [
      {
        name: 'AdaptiveLimiter.run',
        run: () => Promise.all(Array.from({ length: JOBS }, () => limiter.run(noop))),
      },
      {
        name: 'AdaptiveLimiter acquire/release',
        run: () =>
          Promise.all(
            Array.from({ length: JOBS }, async () => {
              const permit = await limiter.acquire();
              await noop();
              permit.release();
            }),
          ),
      },
      { name: 'p-limit', run: () => Promise.all(Array.from({ length: JOBS }, () => limit(noop))) },
      { name: 'p-queue', run: () => Promise.all(Array.from({ length: JOBS }, () => queue.add(noop))) },
    ],
    { itemsPerOp: JOBS, rounds },
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(toMarkdown(await benchLimiter()));
}
