import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionOptions, Orchestrator } from 'node-orchestrator';
import { registerTracerProvider } from 'node-orchestrator/worker';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

/** A span the worker fixture exported, as it crossed the BroadcastChannel. */
interface WorkerSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  threadId: number;
}

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const caller = provider.getTracer('caller');
const tracedWorker = new URL('./fixtures/traced-tasks.mjs', import.meta.url);

/** Spans the worker threads exported (they flush only when idle or at close()). */
const workerSpans: WorkerSpan[] = [];
let arrived: (() => void) | undefined;
const channel = new BroadcastChannel('node-orchestrator-test-spans');
channel.addEventListener('message', (event) => {
  workerSpans.push(...(event as unknown as { data: WorkerSpan[] }).data);
  arrived?.();
});

/** Resolves once the worker spans named in `names` have all arrived (the test's timeout fails it otherwise). */
async function workerSpansNamed(...names: string[]): Promise<WorkerSpan[]> {
  const found = (): (WorkerSpan | undefined)[] =>
    names.map((name) => workerSpans.find((span) => span.name === name));
  while (found().includes(undefined)) await new Promise<void>((resolve) => (arrived = resolve));
  return found() as WorkerSpan[];
}

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  channel.close();
  context.disable();
});
afterEach(async () => {
  await closeAll();
  exporter.reset();
  workerSpans.length = 0;
});

function traced(options: ExecutionOptions = {}): Orchestrator {
  return createOrchestrator({ worker: tracedWorker, tracing: { tracerProvider: provider }, ...options });
}

function runSpan(name: string): ReadableSpan {
  const spans = exporter.getFinishedSpans().filter((span) => span.name === name);
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

describe('the trace context travels into the worker (#14)', () => {
  it("makes the spans a task starts children of its run's span, in the caller's trace", async () => {
    const orchestrator = traced();
    const result = await caller.startActiveSpan('request', async (request) => {
      const value = await orchestrator.run('step', 'one');
      request.end();
      return value;
    });
    const run = runSpan('step process').spanContext();
    expect(result).toEqual({ label: 'one', traceparent: `00-${run.traceId}-${run.spanId}-01` });
    const [step] = await workerSpansNamed('step one');
    expect(step).toMatchObject({ traceId: run.traceId, parentSpanId: run.spanId });
  });

  it('gives the task its run span as ctx.traceContext, also as the active context', async () => {
    const orchestrator = traced();
    const info = await orchestrator.run('contextInfo', null);
    const run = runSpan('contextInfo process').spanContext();
    const expected = { traceId: run.traceId, spanId: run.spanId, isRemote: true };
    expect(info).toEqual({
      traceparent: `00-${run.traceId}-${run.spanId}-01`,
      context: expected,
      active: expected,
      baggage: {},
    });
    await orchestrator.run('explicitStep', 'two');
    const explicit = runSpan('explicitStep process').spanContext();
    const [step] = await workerSpansNamed('explicit two');
    expect(step).toMatchObject({ traceId: explicit.traceId, parentSpanId: explicit.spanId });
  });

  it("runs each coalesced run in its own run's context, and each map item in its batch's", async () => {
    const orchestrator = traced({ batch: { maxSize: 16, maxDelayMs: 5, maxBatchMs: Infinity } });
    await Promise.all(['a', 'b', 'c'].map((label) => orchestrator.run('step', label)));
    const runs = exporter.getFinishedSpans().filter((span) => span.name === 'step process');
    const steps = await workerSpansNamed('step a', 'step b', 'step c');
    // Three runs, three parents: each step span hangs under a different run span.
    expect(new Set(steps.map((step) => step.parentSpanId))).toEqual(
      new Set(runs.map((run) => run.spanContext().spanId)),
    );
    exporter.reset();
    for await (const record of orchestrator.map('step', ['x', 'y'])) expect(record.ok).toBe(true);
    const batches = exporter.getFinishedSpans().filter((span) => span.name === 'step process');
    for (const step of await workerSpansNamed('step x', 'step y')) {
      expect(batches.map((batch) => batch.spanContext().spanId)).toContain(step.parentSpanId);
    }
  });
});

describe("flushing the worker's tracer provider", () => {
  it('exports the spans of a thread that goes idle, before it could retire', async () => {
    const orchestrator = traced({ idleTimeoutMs: 60_000 });
    await orchestrator.run('step', 'idle');
    // The fixture's batch delay is an hour: only the idle flush sends this span.
    const [step] = await workerSpansNamed('step idle');
    expect(step!.traceId).toBe(runSpan('step process').spanContext().traceId);
    expect(orchestrator.threads).toBeGreaterThan(0);
  });

  it('close() flushes every thread before it ends them', async () => {
    const orchestrator = traced({ baseLimit: 2, minLimit: 2, maxLimit: 2 });
    const labels = Array.from({ length: 8 }, (_, i) => `close ${i}`);
    await Promise.all(labels.map((label) => orchestrator.run('step', label)));
    await orchestrator.close();
    const steps = await workerSpansNamed(...labels.map((label) => `step ${label}`));
    expect(steps).toHaveLength(8);
  });
});

describe('registerTracerProvider', () => {
  it('refuses what is not a tracer provider, naming what it needs', () => {
    expect(() => registerTracerProvider({} as never)).toThrow(
      new TypeError('registerTracerProvider(provider): provider must have getTracer() and forceFlush()'),
    );
    expect(() => registerTracerProvider({ getTracer: () => ({}) } as never)).toThrow(TypeError);
    // Nothing was registered: the global provider is still the no-op one.
    expect(trace.getTracer('x').startSpan('y').isRecording()).toBe(false);
  });
});
