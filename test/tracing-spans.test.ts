import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidConfigError, Orchestrator, type OrchestratorOptions } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
/** The caller's own tracer: its spans stand for the HTTP requests that submit runs. */
const caller = provider.getTracer('caller');
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});
afterEach(async () => {
  await closeAll();
  exporter.reset();
});

function traced(options: Partial<OrchestratorOptions> = {}): Orchestrator {
  return createOrchestrator({ tracing: { tracerProvider: provider }, ...options });
}

/** Runs `fn` inside a caller span that ends when `fn` settles; returns the span and the result. */
async function inRequest<T>(fn: () => Promise<T>): Promise<{ request: Span; result: T }> {
  return caller.startActiveSpan('request', async (request) => {
    try {
      return { request, result: await fn() };
    } finally {
      request.end();
    }
  });
}

function spansNamed(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.name === name);
}

function event(span: ReadableSpan, name: string): readonly [number, number] {
  const found = span.events.find((candidate) => candidate.name === name);
  if (found === undefined) return expect.fail(`no ${name} event on ${span.name}`);
  return found.time;
}

/** Nanoseconds from event `from` to event `to` of one span, exactly (no float rounding of epoch times). */
function between(span: ReadableSpan, from: string, to: string): number {
  const [s1, n1] = event(span, from);
  const [s2, n2] = event(span, to);
  return (s2 - s1) * 1e9 + (n2 - n1);
}

describe('a span per run (#14)', () => {
  it('is "{task} process", a CONSUMER child of the caller\'s active span, shaped by the messaging conventions', async () => {
    const orchestrator = traced();
    const { request, result } = await inRequest(() => orchestrator.run('echo', 7));
    expect(result).toBe(7);
    const [span] = spansNamed('echo process');
    expect(span).toBeDefined();
    expect(span!.kind).toBe(SpanKind.CONSUMER);
    expect(span!.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(span!.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(span!.attributes).toMatchObject({
      'messaging.system': 'node-orchestrator',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'echo',
      'node_orchestrator.outcome': 'success',
    });
    expect(span!.attributes['node_orchestrator.wait.duration']).toBeTypeOf('number');
    expect(span!.attributes['node_orchestrator.run.duration']).toBeTypeOf('number');
    expect(span!.events.map((event) => event.name)).toEqual(['enqueued', 'started', 'ended']);
    expect(between(span!, 'enqueued', 'started')).toBeGreaterThanOrEqual(0);
    expect(between(span!, 'started', 'ended')).toBeGreaterThanOrEqual(0);
    expect(span!.events[1]!.attributes!['thread.id']).toBeGreaterThan(0);
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('shows the queue wait: a run behind a busy thread waits at least until the thread is freed', async () => {
    const orchestrator = traced({ baseLimit: 1, maxLimit: 1 });
    const gate = new Gate();
    const ahead = orchestrator.run('gate', { shared: gate.shared });
    await gate.waitStarted(1);
    const behind = orchestrator.run('echo', 1);
    const submitted = performance.now();
    await new Promise((resolve) => setImmediate(resolve));
    // The one thread is busy until the gate opens: the echo cannot start before this.
    const released = performance.now();
    gate.release();
    await Promise.all([ahead, behind]);
    const [echoSpan] = spansNamed('echo process');
    // Times within one span share its clock; across spans they may differ by the SDK's ms anchor.
    expect(between(echoSpan!, 'enqueued', 'started')).toBeGreaterThanOrEqual((released - submitted) * 1e6);
    expect(echoSpan!.attributes['node_orchestrator.wait.duration']).toBeGreaterThanOrEqual(
      (released - submitted) / 1000,
    );
  });

  it('records a failure: error.type, status ERROR and the exception; a caller abort is no error', async () => {
    const orchestrator = traced({ maxQueue: 0, baseLimit: 1, maxLimit: 1 });
    await orchestrator.run('fail', 'broken').catch(() => undefined);
    const [failed] = spansNamed('fail process');
    expect(failed!.attributes).toMatchObject({
      'error.type': 'E_FIXTURE',
      'node_orchestrator.outcome': 'error',
    });
    expect(failed!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'broken' });
    expect(failed!.events.find((event) => event.name === 'exception')?.attributes).toMatchObject({
      'exception.message': 'broken',
    });

    await orchestrator.run('echo', 1, { signal: AbortSignal.abort() }).catch(() => undefined);
    const [aborted] = spansNamed('echo process');
    expect(aborted!.attributes['node_orchestrator.outcome']).toBe('aborted');
    expect(aborted!.attributes['error.type']).toBeUndefined();
    expect(aborted!.status.code).toBe(SpanStatusCode.UNSET);

    await orchestrator.run('spin', 60_000, { timeoutMs: 1 }).catch(() => undefined);
    expect(spansNamed('spin process')[0]!.attributes['error.type']).toBe('ERR_TASK_TIMEOUT');
    await orchestrator.run('nope', 1).catch(() => undefined);
    expect(spansNamed('nope process')[0]!.attributes['error.type']).toBe('ERR_UNKNOWN_TASK');
  });

  it('records a shed run as rejected with ERR_QUEUE_FULL', async () => {
    const orchestrator = traced({ maxQueue: 0, baseLimit: 1, maxLimit: 1 });
    const gate = new Gate();
    const busy = [orchestrator.run('gate', { shared: gate.shared })];
    await gate.waitStarted(1);
    await orchestrator.run('echo', 1).catch(() => undefined);
    gate.release();
    await Promise.all(busy);
    const shed = spansNamed('echo process').find(
      (span) => span.attributes['node_orchestrator.outcome'] === 'rejected',
    );
    expect(shed?.attributes['error.type']).toBe('ERR_QUEUE_FULL');
    expect(shed?.events.map((event) => event.name)).toEqual(['enqueued']);
  });

  it("gives each coalesced run its own span, a child of its own caller's span", async () => {
    const orchestrator = traced({ batch: { maxSize: 8, maxDelayMs: 5, maxBatchMs: Infinity } });
    const runs = await Promise.all([
      inRequest(() => orchestrator.run('echo', 'a')),
      inRequest(() => orchestrator.run('echo', 'b')),
    ]);
    const spans = spansNamed('echo process');
    expect(spans).toHaveLength(2);
    for (const { request } of runs) {
      const mine = spans.filter((span) => span.parentSpanContext?.spanId === request.spanContext().spanId);
      expect(mine).toHaveLength(1);
      expect(mine[0]!.events.map((event) => event.name)).toEqual(['enqueued', 'started', 'ended']);
    }
  });

  it("makes go()'s runs children of the context go() was called in", async () => {
    const orchestrator = traced();
    const { request } = await inRequest(async () => {
      orchestrator.go('job', (ctx) => ctx.run('echo', 1));
      await orchestrator.wait();
    });
    expect(spansNamed('echo process')[0]!.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
  });
});

describe('a span per map batch (#14)', () => {
  it('counts its items, records each failed item as an event, and is a child of where map() was called', async () => {
    const orchestrator = traced();
    const inputs = Array.from({ length: 40 }, (_, n) => ({ n, every: 7 }));
    const { request } = await inRequest(async () => {
      for await (const record of orchestrator.map('doubleOrFail', inputs))
        expect(record.index).toBeLessThan(40);
    });
    const batches = spansNamed('doubleOrFail process');
    expect(batches.length).toBeGreaterThan(0);
    let items = 0;
    const failedIndexes: number[] = [];
    for (const batch of batches) {
      expect(batch.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      const count = batch.attributes['messaging.batch.message_count'] as number;
      items += count;
      const failed = batch.events.filter((event) => event.name === 'item failed');
      expect(batch.attributes['node_orchestrator.batch.failed']).toBe(failed.length);
      expect(batch.attributes['node_orchestrator.batch.succeeded']).toBe(count - failed.length);
      expect(batch.status.code).toBe(failed.length > 0 ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
      for (const event of failed)
        failedIndexes.push(event.attributes!['node_orchestrator.item.index'] as number);
    }
    expect(items).toBe(40);
    expect(failedIndexes.sort((a, b) => a - b)).toEqual([0, 7, 14, 21, 28, 35]);
  });
});

describe('tracing with no provider to record', () => {
  it('makes no spans, and passes the caller context on to the worker unchanged', async () => {
    const orchestrator = createOrchestrator({
      worker: new URL('./fixtures/traced-tasks.mjs', import.meta.url),
      tracing: true,
    });
    // No global tracer provider is registered in this process: spans are no-ops.
    const parent = caller.startSpan('request');
    const info = (await context.with(trace.setSpan(context.active(), parent), () =>
      orchestrator.run('contextInfo', null),
    )) as { traceparent: string | null };
    parent.end();
    const { traceId, spanId } = parent.spanContext();
    expect(info.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    expect(spansNamed('contextInfo process')).toEqual([]);
    expect(await orchestrator.run('contextInfo', null)).toMatchObject({ traceparent: null, context: null });
  });

  it('carries the caller baggage into the worker', async () => {
    const orchestrator = createOrchestrator({
      worker: new URL('./fixtures/traced-tasks.mjs', import.meta.url),
      tracing: { tracerProvider: provider },
    });
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
    const info = await context.with(propagation.setBaggage(context.active(), baggage), () =>
      orchestrator.run('contextInfo', null),
    );
    expect(info).toMatchObject({ baggage: { tenant: 'acme' } });
  });
});

describe('the tracing option is validated like every option', () => {
  it('names a bad tracing value and a tracer provider without getTracer', () => {
    const worker = new URL('./fixtures/tasks.mjs', import.meta.url);
    for (const [tracing, field] of [
      ['yes', 'tracing'],
      [{ tracerProvider: {} }, 'tracing.tracerProvider'],
    ] as const) {
      let error: unknown;
      try {
        new Orchestrator({ worker, tracing: tracing as never });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).issues.map((issue) => issue.field)).toEqual([field]);
    }
  });
});
