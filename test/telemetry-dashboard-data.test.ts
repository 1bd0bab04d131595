import type { Server } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import {
  serveMetrics,
  type Controller,
  type DashboardFrame,
  type Decision,
  type Orchestrator,
} from 'node-orchestrator';
import { dashboardHarness, nextFrame, type Frame } from './support/dashboard.js';
import { get, sample } from './support/http.js';
import { Gate } from './support/gate.js';
import { createOrchestrator } from './support/orchestrator.js';
import type { SseStream } from './support/sse.js';

const { serve, stream } = dashboardHarness();

async function data(server: Server, query = ''): Promise<DashboardFrame> {
  const response = await get(server, `/dashboard/data${query}`);
  expect(response.status).toBe(200);
  return JSON.parse(response.body) as DashboardFrame;
}

/** Frames until `done` holds for one; returns them all, that one last. */
async function framesUntil(events: SseStream, done: (frame: DashboardFrame) => boolean): Promise<Frame[]> {
  const frames: Frame[] = [];
  for (;;) {
    const frame = await nextFrame(events);
    frames.push(frame);
    if (done(frame)) return frames;
  }
}

const FRAME_KEYS = ['v', 'time', 'seconds', 'orchestrators', 'orchestrator'];
const ORCHESTRATOR_KEYS = [
  'prefix',
  'name',
  'limit',
  'minLimit',
  'inFlight',
  'queued',
  'threads',
  'cpuLoad',
  'gpuUtilization',
  'gpuWaitSeconds',
  'errorRate',
  'total',
  'window',
  'breakdowns',
  'taskMetrics',
  'tenants',
  'resources',
];
const STATS_KEYS = ['outcomes', 'errors', 'duration', 'wait'];
const SUMMARY_KEYS = ['count', 'mean', 'p50', 'p90', 'p99'];

describe('dashboard data endpoint', () => {
  it('answers one frame of the documented schema whose counts equal /metrics', async () => {
    const orchestrator = createOrchestrator();
    await Promise.all([1, 2, 3].map((n) => orchestrator.run('echo', n)));
    await Promise.allSettled([orchestrator.run('fail', 'a'), orchestrator.run('fail', 'b')]);
    const server = await serve(orchestrator.registry!);
    const response = await get(server, '/dashboard/data');
    expect(response.type).toBe('application/json; charset=utf-8');
    const frame = JSON.parse(response.body) as DashboardFrame;
    const text = (await get(server, '/metrics')).body;
    expect(Object.keys(frame).sort()).toEqual([...FRAME_KEYS].sort());
    expect(frame).toMatchObject({
      v: 1,
      seconds: null,
      orchestrators: [{ prefix: 'orchestrator_', name: null }],
    });
    const o = frame.orchestrator!;
    expect(Object.keys(o).sort()).toEqual([...ORCHESTRATOR_KEYS].sort());
    expect(Object.keys(o.total).sort()).toEqual([...STATS_KEYS, 'limitChanges'].sort());
    expect(Object.keys(o.total.duration).sort()).toEqual([...SUMMARY_KEYS].sort());
    expect(o).toMatchObject({
      limit: orchestrator.limit,
      inFlight: 0,
      queued: 0,
      threads: orchestrator.threads,
      gpuUtilization: null,
      window: null,
    });
    for (const task of ['echo', 'fail']) {
      const row = o.breakdowns['task']!.find((r) => r.key === task)!;
      for (const outcome of ['success', 'error']) {
        expect(row.total.outcomes[outcome]).toBe(
          sample(text, `orchestrator_tasks_total{task="${task}",outcome="${outcome}"}`),
        );
      }
      expect(row.total.duration.count).toBe(
        sample(text, `orchestrator_task_duration_seconds_count{task="${task}"}`),
      );
      expect(row.total.duration.mean).toBeCloseTo(
        sample(text, `orchestrator_task_duration_seconds_sum{task="${task}"}`)! / row.total.duration.count,
        12,
      );
      expect(row.window).toBeNull();
    }
    expect(o.total.outcomes).toMatchObject({ success: 3, error: 2 });
    expect(o.total.errors).toEqual({ E_FIXTURE: 2 });
    expect(o.total.limitChanges).toEqual([]);
  });

  it("shows each tenant's runs and each resource's units now, as /metrics has them, and a breakdown by tenant", async () => {
    const orchestrator = createOrchestrator({
      baseLimit: 2,
      maxLimit: 2,
      tenants: { acme: {} },
      resources: { gpu: 1 },
    });
    const gate = new Gate();
    const held = orchestrator.run(
      'gateOrEcho',
      { n: 1, shared: gate.shared },
      { tenant: 'acme', needs: { gpu: 1 } },
    );
    await gate.waitStarted(1);
    const waiting = orchestrator.run('echo', 2, { tenant: 'acme', needs: { gpu: 1 } });
    // Should an expectation fail, close() ends these two: that is not the failure to report.
    for (const run of [held, waiting]) run.catch(() => undefined);
    await orchestrator.run('echo', 3, { tenant: 'zed' });
    const server = await serve(orchestrator.registry!);
    const o = (await data(server)).orchestrator!;
    const text = (await get(server, '/metrics')).body;
    // The configured tenants, then `default` (unlisted tenants) and `other`, as the metrics label them.
    expect(o.tenants.map((t) => t.name)).toEqual(['acme', 'default', 'other']);
    expect(o.tenants[0]).toEqual({
      name: 'acme',
      running: sample(text, 'orchestrator_tenant_running{tenant="acme"}'),
      waiting: sample(text, 'orchestrator_tenant_queue_depth{tenant="acme"}'),
    });
    expect(o.tenants[0]).toMatchObject({ running: 1, waiting: 1 });
    expect(o.resources.map(({ name, inUse, limit }) => ({ name, inUse, limit }))).toEqual([
      { name: 'gpu', inUse: 1, limit: 1 },
    ]);
    // The wait grows while the run waits: the frame's, read first, is at most the scrape's.
    const waited = o.resources[0]!.waitSeconds!;
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThanOrEqual(sample(text, 'orchestrator_resource_wait_seconds{resource="gpu"}')!);
    gate.release();
    await expect(Promise.all([held, waiting])).resolves.toMatchObject([{ released: true }, 2]);
    const after = (await data(server)).orchestrator!;
    expect(after.breakdowns['tenant']!.map((row) => row.key).sort()).toEqual(['acme', 'other']);
    expect(after.resources).toEqual([{ name: 'gpu', inUse: 0, limit: 1, waitSeconds: 0 }]);
    expect(after.tenants.every((t) => t.running === 0 && t.waiting === 0)).toBe(true);
  });

  it('has no tenants and no resources without those options', async () => {
    const server = await serve(createOrchestrator().registry!);
    const o = (await data(server)).orchestrator!;
    expect(o.tenants).toEqual([]);
    expect(o.resources).toEqual([]);
  });

  it('selects by orchestrator label and prefix, lists every orchestrator, and shows none for an unknown name', async () => {
    const registry = new Registry();
    const a = createOrchestrator({ registry, name: 'a' });
    const b = createOrchestrator({ registry, name: 'b' });
    const jobs = createOrchestrator({ registry, name: 'a', metricsPrefix: 'jobs_' });
    await Promise.all([b.run('echo', 1), b.run('echo', 2), jobs.run('echo', 3)]);
    const server = await serve(registry);
    const first = await data(server);
    expect(first.orchestrators).toEqual([
      { prefix: 'jobs_', name: 'a' },
      { prefix: 'orchestrator_', name: 'a' },
      { prefix: 'orchestrator_', name: 'b' },
    ]);
    expect(first.orchestrator).toMatchObject({ prefix: 'jobs_', name: 'a' });
    const onlyB = await data(server, '?orchestrator=b');
    expect(onlyB.orchestrator).toMatchObject({
      prefix: 'orchestrator_',
      name: 'b',
      total: { outcomes: { success: 2 } },
    });
    const defaultA = (await data(server, '?orchestrator=a&prefix=orchestrator_')).orchestrator!;
    expect(defaultA.name).toBe('a');
    expect(defaultA.total.outcomes['success'] ?? 0).toBe(0);
    expect(defaultA.limit).toBe(a.limit);
    const jobsA = (await data(server, '?orchestrator=a&prefix=jobs_')).orchestrator!;
    expect(jobsA.total.outcomes['success']).toBe(1);
    expect((await data(server, '?orchestrator=nobody')).orchestrator).toBeNull();
  });

  it('answers an empty registry with no orchestrator', async () => {
    const server = await serve(new Registry());
    expect(await data(server)).toMatchObject({ orchestrators: [], orchestrator: null });
  });
});

describe('dashboard event stream', () => {
  it('opens with a retry hint, and its windows add up to exactly the work done between frames', async () => {
    const orchestrator = createOrchestrator();
    await orchestrator.run('echo', 0);
    const server = await serve(orchestrator.registry!);
    const events = await stream(server, '?interval=250');
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await events.next()).toMatchObject({ retry: 2000, data: '' });
    const first = await nextFrame(events);
    expect(first).toMatchObject({
      seconds: null,
      orchestrator: { window: null, total: { outcomes: { success: 1 } } },
    });
    await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => orchestrator.run('echo', n)));
    await Promise.allSettled([
      orchestrator.run('failWithCode', 'E_ONE'),
      orchestrator.run('failWithCode', 'E_TWO'),
    ]);
    const frames = await framesUntil(events, (f) => f.orchestrator!.total.outcomes['error'] === 2);
    let previous = first.time;
    let successes = 0;
    let errors = 0;
    let observed = 0;
    const types: Record<string, number> = {};
    for (const frame of frames) {
      expect(frame.seconds).toBe((frame.time - previous) / 1000);
      previous = frame.time;
      const window = frame.orchestrator!.window!;
      successes += window.outcomes['success'] ?? 0;
      errors += window.outcomes['error'] ?? 0;
      observed += window.duration.count;
      for (const [type, count] of Object.entries(window.errors)) types[type] = (types[type] ?? 0) + count;
    }
    expect({ successes, errors, observed, types }).toEqual({
      successes: 7,
      errors: 2,
      observed: 9,
      types: { E_ONE: 1, E_TWO: 1 },
    });
    const ids = frames.map((f) => Number(f.id));
    expect(ids).toEqual(frames.map((f) => f.time));
  });

  it('carries each limit change with its direction and reason, in the window it happened', async () => {
    let next: Decision = { limit: 3, reason: 'latency' };
    const controller: Controller = { name: 'scripted', decide: () => next };
    const orchestrator = createOrchestrator({
      adaptive: true,
      controller,
      baseLimit: 2,
      maxLimit: 4,
      adaptationIntervalMs: 3_600_000,
      systemSampler: false,
    });
    const server = await serve(orchestrator.registry!);
    const events = await stream(server, '?interval=250');
    await nextFrame(events);
    await orchestrator.adapt();
    const up = await framesUntil(events, (f) => f.orchestrator!.window!.limitChanges.length > 0);
    expect(up.at(-1)!.orchestrator).toMatchObject({
      limit: 3,
      window: { limitChanges: [{ direction: 'up', reason: 'latency', count: 1 }] },
    });
    next = { limit: 1, reason: 'error-rate' };
    await orchestrator.adapt();
    const down = await framesUntil(events, (f) => f.orchestrator!.window!.limitChanges.length > 0);
    expect(down.at(-1)!.orchestrator).toMatchObject({
      limit: 1,
      window: { limitChanges: [{ direction: 'down', reason: 'error-rate', count: 1 }] },
    });
    expect(down.at(-1)!.orchestrator!.total.limitChanges).toEqual(
      expect.arrayContaining([
        { direction: 'up', reason: 'latency', count: 1 },
        { direction: 'down', reason: 'error-rate', count: 1 },
      ]),
    );
  });

  it('treats an orchestrator replaced under the same name as a counter reset, never a negative window', async () => {
    const registry = new Registry();
    createOrchestrator({ registry, name: 'keeper' }); // keeps the metric families registered
    let worker: Orchestrator = createOrchestrator({ registry, name: 'w' });
    await Promise.all([1, 2, 3, 4, 5].map((n) => worker.run('echo', n)));
    const server = await serve(registry);
    const events = await stream(server, '?interval=250&orchestrator=w');
    expect((await nextFrame(events)).orchestrator!.total.outcomes['success']).toBe(5);
    await worker.close();
    worker = createOrchestrator({ registry, name: 'w' });
    await Promise.all([1, 2].map((n) => worker.run('echo', n)));
    const frames = await framesUntil(events, (f) => f.orchestrator?.total.outcomes['success'] === 2);
    const windows = frames.flatMap((f) => (f.orchestrator?.window ? [f.orchestrator.window.outcomes] : []));
    expect(windows.flatMap((outcomes) => Object.values(outcomes)).every((count) => count >= 0)).toBe(true);
    expect(windows.reduce((sum, outcomes) => sum + (outcomes['success'] ?? 0), 0)).toBe(2);
  });

  it('reads nothing and keeps no timer while no one is connected, and a closed stream leaves none behind', async () => {
    const orchestrator = createOrchestrator();
    const registry = orchestrator.registry!;
    const read = vi.spyOn(registry, 'getMetricsAsJSON');
    const started = vi.spyOn(globalThis, 'setInterval');
    const cleared = vi.spyOn(globalThis, 'clearInterval');
    try {
      const server = await serve(registry);
      expect((await get(server, '/healthz')).status).toBe(200);
      expect((await get(server, '/dashboard')).status).toBe(200);
      expect(read).not.toHaveBeenCalled();
      const ours = (): unknown[] =>
        started.mock.calls.flatMap(([, ms], i) =>
          ms === 250 ? [started.mock.results[i]?.value as unknown] : [],
        );
      expect(ours()).toEqual([]);
      const opened = await Promise.all([1, 2, 3].map(() => stream(server, '?interval=250')));
      await Promise.all(opened.map((events) => nextFrame(events)));
      expect(read).toHaveBeenCalled();
      expect(ours()).toHaveLength(3);
      opened.forEach((events) => events.close());
      await vi.waitFor(() => {
        const stopped = new Set(cleared.mock.calls.map(([timer]) => timer as unknown));
        expect(ours().filter((timer) => !stopped.has(timer))).toEqual([]);
      }, 5000);
    } finally {
      started.mockRestore();
      cleared.mockRestore();
    }
  });

  it('starts a reconnected stream afresh: no window in its first frame, totals carried on', async () => {
    const orchestrator = createOrchestrator();
    const server = await serve(orchestrator.registry!);
    const first = await stream(server, '?interval=250');
    await nextFrame(first);
    await orchestrator.run('echo', 1);
    const before = await framesUntil(first, (f) => f.orchestrator!.total.outcomes['success'] === 1);
    const lastId = before.at(-1)!.id!;
    first.close();
    await orchestrator.run('echo', 2);
    const again = await stream(server, '?interval=250', { 'Last-Event-ID': lastId });
    expect((await again.next()).retry).toBe(2000);
    const resumed = await nextFrame(again);
    expect(Number(resumed.id)).toBeGreaterThan(Number(lastId));
    expect(resumed).toMatchObject({
      seconds: null,
      orchestrator: { window: null, total: { outcomes: { success: 2 } } },
    });
    expect((await nextFrame(again)).orchestrator!.window).not.toBeNull();
  });

  it('refuses a bad interval naming it, more than 32 streams with 503, and is off with dashboard: false', async () => {
    const registry = new Registry();
    const server = await serve(registry);
    for (const interval of ['abc', '100', '60001', '1.5']) {
      const response = await get(server, `/dashboard/events?interval=${interval}`);
      expect(response.status).toBe(400);
      expect(response.body).toBe(
        `interval must be an integer number of milliseconds in [250, 60000], got "${interval}"\n`,
      );
    }
    const open = await Promise.all(Array.from({ length: 32 }, () => stream(server, '?interval=60000')));
    expect(open.every((events) => events.status === 200)).toBe(true);
    const refused = await get(server, '/dashboard/events');
    expect(refused.status).toBe(503);
    open[0]!.close();
    await vi.waitFor(async () => {
      const events = await stream(server, '?interval=60000');
      expect(events.status).toBe(200);
    });
    expect((await get(server, '/dashboard/data', { method: 'POST' })).status).toBe(405);
    const off = await serve(registry, { dashboard: false });
    for (const path of ['/dashboard', '/dashboard/data', '/dashboard/events']) {
      expect((await get(off, path)).status).toBe(404);
    }
    await expect(serveMetrics({ registry, dashboard: 'yes' as never })).rejects.toThrow(
      'dashboard must be a boolean, got "yes"',
    );
  });
});
