import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidConfigError,
  Orchestrator,
  type AdaptEvent,
  type Controller,
  type SignalSource,
} from 'node-orchestrator';
import { fakeGpu } from './support/fake-gpu.js';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator, fixtureWorker } from './support/orchestrator.js';

const removals: (() => void)[] = [];
afterEach(async () => {
  await closeAll();
  removals.splice(0).forEach((remove) => remove());
});

function sampleValue(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** One thread, adaptation by hand only, and a controller that records every sample and holds. */
function recordingOrchestrator(): {
  orchestrator: Orchestrator;
  samples: Parameters<Controller['decide']>[0][];
} {
  const samples: Parameters<Controller['decide']>[0][] = [];
  const recorder: Controller = {
    name: 'recorder',
    decide: (sample) => (samples.push(sample), { limit: sample.limit, reason: 'hold' }),
  };
  const orchestrator = createOrchestrator({
    adaptive: true,
    controller: recorder,
    baseLimit: 1,
    minLimit: 1,
    maxLimit: 1,
    errorMinSamples: 4,
    adaptationIntervalMs: 3_600_000,
    systemSampler: false,
  });
  return { orchestrator, samples };
}

describe('adaptive configuration', () => {
  it('names every bad field and its value in one error, never clamping silently', () => {
    let error: unknown;
    try {
      new Orchestrator({
        worker: fixtureWorker,
        baseLimit: 0,
        minLimit: 5,
        maxLimit: 2,
        errorRateHigh: 2,
        adaptationIntervalMs: -1,
        controller: 'pid' as never,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/baseLimit must be an integer >= 1, got 0/);
    expect(message).toMatch(/minLimit must be <= maxLimit \(2\), got 5/);
    expect(message).toMatch(/errorRateHigh must be a ratio in \(0, 1\], got 2/);
    expect(message).toMatch(/adaptationIntervalMs must be an integer >= 1, got -1/);
    expect(message).toMatch(/controller must be 'threshold', 'gradient' or an object.*got "pid"/);
  });
});

describe('adaptation', () => {
  it('resizes by the controller, emits adapt with the rule, and counts the change', async () => {
    const decisions: Controller = {
      name: 'scripted',
      decide: (sample) => ({ limit: sample.limit + 3, reason: 'queue-depth' }),
    };
    const orchestrator = createOrchestrator({
      adaptive: true,
      controller: decisions,
      baseLimit: 2,
      maxLimit: 8,
      adaptationIntervalMs: 3_600_000,
      systemSampler: false,
    });
    const events: AdaptEvent[] = [];
    orchestrator.on('adapt', (event: AdaptEvent) => events.push(event));
    const event = await orchestrator.adapt();
    expect(event).toMatchObject({ from: 2, to: 5, reason: 'queue-depth' });
    expect(events).toEqual([event]);
    expect(orchestrator.limit).toBe(5);
    await orchestrator.adapt();
    expect(orchestrator.limit).toBe(8);
    // Clamped at maxLimit: no change, no event.
    expect(await orchestrator.adapt()).toBeUndefined();
    expect(events).toHaveLength(2);
    const body = await orchestrator.registry!.metrics();
    expect(sampleValue(body, 'orchestrator_limit_changes_total{direction="up",reason="queue-depth"}')).toBe(
      2,
    );
  });

  it('a map workload feeds the controller too: queued batches count their items, failed items the error rate', async () => {
    const { orchestrator, samples } = recordingOrchestrator();
    const gate = new Gate();
    const inputs = [0, 1, 2, 3, 4, 5].map((n) => ({ n, ...(n === 0 ? { shared: gate.shared } : {}) }));
    const iterator = orchestrator.map('gateOrEcho', inputs)[Symbol.asyncIterator]();
    const first = iterator.next();
    await gate.waitStarted(1);
    await orchestrator.adapt();
    // A window of 2 × limit + 2 = 4 one-item batches: one running, three queued.
    expect(samples.at(-1)).toMatchObject({ queueDepth: 3, inFlight: 1 });
    gate.release();
    await first;
    while ((await iterator.next()).done !== true);
    for await (const record of orchestrator.map(
      'doubleOrFail',
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => ({ n, every: 2 })),
    )) {
      expect(record.ok).toBe(record.index % 2 === 0);
    }
    await orchestrator.adapt();
    expect(samples.at(-1)?.errorRate).toBeGreaterThan(0.2);
  });

  it('feeds the controller queue depth, in-flight, latency and the error rate of real runs', async () => {
    const { orchestrator, samples } = recordingOrchestrator();
    await Promise.allSettled(
      [1, 2, 3].map((n) => orchestrator.run('echo', n)).concat([orchestrator.run('fail', 'x')]),
    );
    const gate = new Gate();
    const runs = [1, 2, 3].map(() => orchestrator.run('gate', { shared: gate.shared }));
    await gate.waitStarted(1);
    await orchestrator.adapt();
    gate.release();
    await Promise.all(runs);
    expect(samples[0]).toMatchObject({ limit: 1, inFlight: 1, queueDepth: 2, completed: 4, errorRate: 0.25 });
    expect(samples[0]!.latencyMs).toBeGreaterThan(0);
  });

  it('tells the controller for how many samples in a row the limit bound (#13)', async () => {
    const { orchestrator, samples } = recordingOrchestrator();
    const gate = new Gate();
    const runs = [1, 2, 3].map(() => orchestrator.run('gate', { shared: gate.shared }));
    await gate.waitStarted(1);
    await orchestrator.adapt();
    await orchestrator.adapt();
    gate.release();
    await Promise.all(runs);
    await orchestrator.adapt();
    expect(samples.map((s) => s.boundStreak)).toEqual([1, 2, 0]);
  });

  it('reads extra signal sources, and a failing source does not stop adaptation', async () => {
    const sources: SignalSource[] = [
      { read: () => Promise.reject(new Error('source down')) },
      { read: () => ({ errorRate: 0.9 }) },
    ];
    const orchestrator = createOrchestrator({
      adaptive: true,
      signals: sources,
      baseLimit: 6,
      adaptationIntervalMs: 3_600_000,
      systemSampler: false,
    });
    expect(await orchestrator.adapt()).toMatchObject({ from: 6, to: 4, reason: 'error-rate' });
  });

  it('drives a 97% GPU utilization from a fake nvidia-smi into the sample, the metric and a decrease', async () => {
    const gpu = fakeGpu({ utilization: 97 });
    removals.push(gpu.remove);
    const orchestrator = createOrchestrator({
      adaptive: true,
      baseLimit: 8,
      adaptationIntervalMs: 3_600_000,
      systemSampler: { intervalMs: 50, gpuIntervalMs: 100, env: gpu.env },
    });
    const deadline = Date.now() + 20_000;
    let body = '';
    // The sampler is another thread; poll its published reading through the metric.
    while (Date.now() < deadline) {
      body = await orchestrator.registry!.metrics();
      if (sampleValue(body, 'orchestrator_gpu_utilization_ratio') !== undefined) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(sampleValue(body, 'orchestrator_gpu_utilization_ratio')).toBeCloseTo(0.97, 5);
    const event = await orchestrator.adapt();
    expect(event).toMatchObject({ from: 8, to: 6, reason: 'gpu-utilization' });
    expect(event!.sample.gpuUtilization).toBeCloseTo(0.97, 5);
  });
});
