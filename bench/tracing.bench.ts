/**
 * The cost of tracing: run throughput on trivial tasks with the `tracing` option off, on with no
 * tracer provider registered (spans are no-ops), and on with a provider (a BatchSpanProcessor
 * whose exporter drops the spans), side by side in one run; and the same for 20 µs tasks, where
 * a span's cost is spread over real work. Threads make those ratios noisy on a busy machine, so
 * the main thread's own cost of a run's span is also measured alone: its whole life (start,
 * events, end) with no provider and with one.
 */
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { Orchestrator } from 'node-orchestrator';
// The span's life as the engine drives it, without threads: internals, from the source.
import { loadOtelApi } from '../src/internal/otel-api.js';
import { RunTracer } from '../src/tracing/tracer.js';
import { iterationsForMs } from './support/calibrate.js';
import { compare, type ComparisonResult } from './support/compare.js';

const worker = new URL('./fixtures/tasks.mjs', import.meta.url);
const limits = { baseLimit: 2, minLimit: 2, maxLimit: 2 };

/** Accepts every span and keeps none: the cost measured is the library's and the SDK's, not an export's. */
class DiscardingExporter extends InMemorySpanExporter {
  override export(_spans: ReadableSpan[], done: Parameters<InMemorySpanExporter['export']>[1]): void {
    super.export([], done);
  }
}

/** Runs the tracing comparisons. */
export async function benchTracing(rounds = 7): Promise<ComparisonResult[]> {
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new DiscardingExporter())],
  });
  const off = new Orchestrator({ worker, ...limits });
  const noProvider = new Orchestrator({ worker, ...limits, tracing: true });
  const recording = new Orchestrator({ worker, ...limits, tracing: { tracerProvider: provider } });
  try {
    const results: ComparisonResult[] = [];
    for (const [label, task, input, jobs] of [
      ['trivial tasks', 'trivial', 1, 4000],
      ['20 µs tasks', 'cpu', iterationsForMs(0.02), 2000],
    ] as const) {
      const batch = (orchestrator: Orchestrator) => () =>
        Promise.all(Array.from({ length: jobs }, () => orchestrator.run(task, input)));
      results.push(
        await compare(
          `Tracing cost: ${label}, 2 threads, ${jobs} runs submitted at once`,
          [
            { name: 'tracing off', run: batch(off) },
            { name: 'tracing: true, no provider registered', run: batch(noProvider) },
            { name: 'tracing with a provider (BatchSpanProcessor)', run: batch(recording) },
          ],
          { itemsPerOp: jobs, rounds, timeMs: 1500 },
        ),
      );
    }
    results.push(await benchSpanLife(provider, rounds));
    return results;
  } finally {
    await Promise.all([off.close(), noProvider.close(), recording.close()]);
    await provider.shutdown();
  }
}

/** A run's span on the main thread: started, told the run started and stopped, ended; no threads. */
async function benchSpanLife(provider: BasicTracerProvider, rounds: number): Promise<ComparisonResult> {
  const api = loadOtelApi()!;
  const spans = 1000;
  const life = (tracer: RunTracer) => () => {
    for (let i = 0; i < spans; i++) {
      const span = tracer.run('trivial');
      span.started(1);
      span.stopped();
      span.end('success', undefined, 0.01, 0.02);
    }
  };
  return compare(
    `A run's span on the main thread alone (${spans} per op)`,
    [
      {
        name: 'no provider registered (no-op span)',
        run: life(new RunTracer({ api, tracerProvider: undefined })),
      },
      {
        name: 'with a provider (BatchSpanProcessor)',
        run: life(new RunTracer({ api, tracerProvider: provider })),
      },
    ],
    { itemsPerOp: spans, rounds, timeMs: 500 },
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { toMarkdown } = await import('./support/compare.js');
  for (const result of await benchTracing()) console.log(toMarkdown(result) + '\n');
}
