/**
 * The cost of telemetry: trivial-task throughput with metrics off, on but never scraped, and on
 * with a scrape every 100 ms, side by side in one run.
 */
import { Orchestrator } from 'node-orchestrator';
import { compare, type ComparisonResult } from './support/compare.js';

const JOBS = 4000;

/** Runs the telemetry comparison. */
export async function benchTelemetry(rounds = 7): Promise<ComparisonResult> {
  const worker = new URL('./fixtures/tasks.mjs', import.meta.url);
  const limits = { baseLimit: 2, minLimit: 2, maxLimit: 2 };
  const off = new Orchestrator({ worker, ...limits, telemetry: false });
  const unscraped = new Orchestrator({ worker, ...limits });
  const scraped = new Orchestrator({ worker, ...limits });
  const registry = scraped.registry!;
  const scraper = setInterval(() => void registry.getMetricsAsJSON(), 100);
  const batch = (orchestrator: Orchestrator) => () =>
    Promise.all(Array.from({ length: JOBS }, () => orchestrator.run('trivial', 1)));
  try {
    return await compare(
      `Telemetry cost: trivial tasks, 2 threads, ${JOBS} tasks submitted at once`,
      [
        { name: 'telemetry off', run: batch(off) },
        { name: 'telemetry on, never scraped', run: batch(unscraped) },
        { name: 'telemetry on, scraped every 100 ms', run: batch(scraped) },
      ],
      { itemsPerOp: JOBS, rounds, timeMs: 1500 },
    );
  } finally {
    clearInterval(scraper);
    await Promise.all([off.close(), unscraped.close(), scraped.close()]);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { toMarkdown } = await import('./support/compare.js');
  console.log(toMarkdown(await benchTelemetry()));
}
