import type { Server } from 'node:http';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { serveMetrics, type Orchestrator } from 'node-orchestrator';
import { HistogramAccumulator, SECONDS_BUCKETS } from '../src/telemetry/accumulators.js';
import { closeServer, get } from './support/http.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { startPrometheus } from './support/prometheus.js';
import { requireTool } from './support/tools.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';
/** Servers and Prometheus processes to stop after the test, last started first. */
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await closeAll();
  exporter.reset();
});

async function metricsServer(orchestrator: Orchestrator): Promise<Server> {
  const server = await serveMetrics({ registry: orchestrator.registry!, port: 0 });
  cleanups.push(() => closeServer(server));
  return server;
}

/** One bucket line of an OpenMetrics histogram, with its exemplar if it has one. */
interface Bucket {
  series: string;
  task: string;
  le: number;
  exemplar?: { traceId: string; spanId: string; value: number; timestamp: number };
}

const BUCKET_LINE =
  /^(orchestrator_task_(?:duration|wait)_seconds)_bucket\{task="([^"]+)",le="([^"]+)"\} \d+(?: # \{trace_id="([0-9a-f]{32})",span_id="([0-9a-f]{16})"\} (\S+) (\S+))?$/;

function buckets(text: string): Bucket[] {
  return text.split('\n').flatMap((line) => {
    const match = BUCKET_LINE.exec(line);
    if (match === null) return [];
    const [, series, task, le, traceId, spanId, value, timestamp] = match;
    const bucket: Bucket = { series: series!, task: task!, le: le === '+Inf' ? Infinity : Number(le) };
    if (traceId !== undefined)
      bucket.exemplar = { traceId, spanId: spanId!, value: Number(value), timestamp: Number(timestamp) };
    return [bucket];
  });
}

async function scrape(orchestrator: Orchestrator, accept?: string): Promise<string> {
  const server = await metricsServer(orchestrator);
  const response = await get(server, '/metrics', accept === undefined ? {} : { headers: { accept } });
  expect(response.status).toBe(200);
  return response.body;
}

describe('exemplars on the duration and wait histograms (#14)', () => {
  it('link each OpenMetrics bucket to the trace of a run whose observation lies in it', async () => {
    const orchestrator = createOrchestrator({ tracing: { tracerProvider: provider } });
    for (let i = 0; i < 5; i++) await orchestrator.run('echo', i);
    await orchestrator.run('spin', 30);
    const runs = new Map(
      exporter.getFinishedSpans().map((span) => [span.spanContext().spanId, span.spanContext().traceId]),
    );
    const all = buckets(await scrape(orchestrator, OPENMETRICS));
    const withExemplars = all.filter((bucket) => bucket.exemplar !== undefined);
    expect(withExemplars.length).toBeGreaterThanOrEqual(4);
    for (const series of ['orchestrator_task_duration_seconds', 'orchestrator_task_wait_seconds']) {
      for (const task of ['echo', 'spin']) {
        const own = all.filter((bucket) => bucket.series === series && bucket.task === task);
        expect(own.some((bucket) => bucket.exemplar !== undefined)).toBe(true);
        own.forEach((bucket, i) => {
          if (bucket.exemplar === undefined) return;
          // The run it names is a real span of this task, and its value falls in this bucket.
          expect(runs.get(bucket.exemplar.spanId)).toBe(bucket.exemplar.traceId);
          expect(bucket.exemplar.value).toBeLessThanOrEqual(bucket.le);
          expect(bucket.exemplar.value).toBeGreaterThan(i === 0 ? -Infinity : own[i - 1]!.le);
          expect(bucket.exemplar.timestamp).toBeGreaterThan(1.7e9);
        });
      }
    }
    const spin = exporter.getFinishedSpans().find((span) => span.name === 'spin process')!;
    const spinBuckets = all.filter(
      (b) => b.series === 'orchestrator_task_duration_seconds' && b.task === 'spin',
    );
    expect(spinBuckets.find((bucket) => bucket.exemplar !== undefined)?.exemplar?.traceId).toBe(
      spin.spanContext().traceId,
    );
  });

  it('are absent from the Prometheus text format, which has no exemplars', async () => {
    const orchestrator = createOrchestrator({ tracing: { tracerProvider: provider } });
    await orchestrator.run('echo', 1);
    const text = await scrape(orchestrator);
    expect(text).toContain('orchestrator_task_duration_seconds_bucket{task="echo",le="+Inf"} 1');
    expect(text).not.toContain('trace_id');
  });

  it('come only from sampled traces', async () => {
    const unsampled = new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
    const orchestrator = createOrchestrator({ tracing: { tracerProvider: unsampled } });
    await orchestrator.run('echo', 1);
    expect(await scrape(orchestrator, OPENMETRICS)).not.toContain('trace_id');
  });

  it("are rendered by prom-client's own OpenMetrics renderer too (same exemplar shape)", async () => {
    const registry = new Registry();
    // Typed as a text-format registry, as the orchestrator's option is; prom-client renders by its content type.
    (registry as unknown as { setContentType(type: string): void }).setContentType(
      Registry.OPENMETRICS_CONTENT_TYPE,
    );
    const orchestrator = createOrchestrator({ tracing: { tracerProvider: provider }, registry });
    await orchestrator.run('echo', 1);
    const { traceId, spanId } = exporter.getFinishedSpans()[0]!.spanContext();
    expect(await registry.metrics()).toContain(` # {trace_id="${traceId}",span_id="${spanId}"} `);
  });

  it('keep the latest exemplar per bucket, and put observations above the last bound in +Inf', () => {
    const histogram = new HistogramAccumulator(SECONDS_BUCKETS);
    histogram.observe(0.00005, { trace_id: 'a', span_id: '1' });
    histogram.observe(0.00007, { trace_id: 'b', span_id: '2' });
    histogram.observe(0.2);
    histogram.observe(1000, { trace_id: 'c', span_id: '3' });
    expect(histogram.exemplars?.[0]).toMatchObject({ labelSet: { trace_id: 'b' }, value: 0.00007 });
    expect(histogram.exemplars?.[SECONDS_BUCKETS.indexOf(0.25)]).toBeUndefined();
    expect(histogram.exemplars?.[SECONDS_BUCKETS.length]).toMatchObject({ labelSet: { trace_id: 'c' } });
    expect(Array.from(histogram.counts).reduce((a, b) => a + b)).toBe(3);
    expect(histogram.count).toBe(4);
  });
});

describe.runIf(requireTool('prometheus'))('a real Prometheus server with exemplar storage', () => {
  it("scrapes OpenMetrics exemplars whose trace ids are the runs' traces (what Grafana links to)", async () => {
    const orchestrator = createOrchestrator({ tracing: { tracerProvider: provider } });
    for (let i = 0; i < 3; i++) await orchestrator.run('echo', i);
    const traces = new Set(exporter.getFinishedSpans().map((span) => span.spanContext().traceId));
    const target = await metricsServer(orchestrator);
    const prometheus = await startPrometheus(target, ['--enable-feature=exemplar-storage']);
    cleanups.push(() => prometheus.stop());
    const query = encodeURIComponent('orchestrator_task_duration_seconds_bucket{task="echo"}');
    const found =
      (await prometheus.poll(
        `/api/v1/query_exemplars?query=${query}&start=0&end=${Date.now() / 1000 + 3600}`,
        (body) => {
          const data = (body as { data?: { exemplars: { labels: Record<string, string> }[] }[] }).data ?? [];
          const ids = data.flatMap((series) => series.exemplars.map((e) => e.labels['trace_id'] ?? ''));
          return ids.length > 0 ? ids : undefined;
        },
      )) ?? [];
    expect(found.length).toBeGreaterThan(0);
    for (const traceId of found) expect(traces.has(traceId)).toBe(true);
  }, 90_000);
});
