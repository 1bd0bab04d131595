/**
 * Abort-to-stop latency: a synchronous CPU loop that checks ctx.throwIfAborted() is cancelled
 * from the main thread once it is running; we time from abort() to the run's rejection, which
 * happens only after the task has stopped in its worker.
 */
import { Orchestrator } from 'node-orchestrator';
import { median, percentile } from './support/compare.js';

/** Abort-to-stop latency figures, in milliseconds. */
export interface AbortLatency {
  trials: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function waitStarted(cells: Int32Array, count: number): Promise<void> {
  for (;;) {
    const seen = Atomics.load(cells, 0);
    if (seen >= count) return;
    const wait = Atomics.waitAsync(cells, 0, seen);
    if (wait.async) await wait.value;
  }
}

/** Measures abort-to-stop latency over `trials` cancelled runs. */
export async function benchAbortLatency(trials = 300): Promise<AbortLatency> {
  const orchestrator = new Orchestrator({
    worker: new URL('./fixtures/tasks.mjs', import.meta.url),
    baseLimit: 2,
    minLimit: 2,
    maxLimit: 2,
    cancelGraceMs: 60_000,
  });
  const shared = new SharedArrayBuffer(8);
  const cells = new Int32Array(shared);
  const latencies: number[] = [];
  try {
    for (let i = 0; i < trials; i++) {
      const controller = new AbortController();
      const run = orchestrator.run('loopUntilAborted', { shared }, { signal: controller.signal });
      await waitStarted(cells, i + 1);
      const start = performance.now();
      controller.abort();
      await run.catch(() => undefined);
      latencies.push(performance.now() - start);
    }
  } finally {
    await orchestrator.close();
  }
  return {
    trials,
    p50Ms: median(latencies),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchAbortLatency();
  console.log(
    `abort-to-stop over ${result.trials} runs: p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms, max ${result.maxMs.toFixed(3)} ms`,
  );
}
