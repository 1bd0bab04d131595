import { afterEach, describe, expect, it } from 'vitest';
import type { AdaptEvent, Orchestrator, OrchestratorOptions, ResourceAdaptEvent } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { until } from './support/poll.js';
import { Concurrency, edgeWorker, sampleSum, StartLog } from './support/probe.js';

afterEach(closeAll);

/* #13 §2 against real workers: resource units on top of the slots, and the GPU rules on them. */

const orchestratorWith = (options: Partial<OrchestratorOptions>): Orchestrator =>
  createOrchestrator({ worker: edgeWorker, baseLimit: 2, maxLimit: 2, closeTimeoutMs: 100, ...options });

describe('resources (#13)', () => {
  it.each([
    ['needs: { gpu: 1 }', { needs: { gpu: 1 } }],
    ['gpu: true (short for needs: { gpu: 1 })', { gpu: true }],
  ])(
    'a run that %s waits for the busy GPU without a slot: CPU runs submitted after it go on',
    async (_kind, gpuOptions) => {
      const orchestrator = orchestratorWith({ resources: { gpu: 1 } });
      const gate = new Gate();
      const log = new StartLog();
      const holder = orchestrator.run('probe', { n: 1, shared: gate.shared }, gpuOptions);
      await gate.waitStarted(1);
      const waiting = orchestrator.run('probe', { n: 2, order: log.shared }, gpuOptions);
      // The second thread is free: CPU work submitted after the GPU run takes it, one after another.
      const cpu = await Promise.all(Array.from({ length: 5 }, (_, n) => orchestrator.run('echo', n)));
      expect(cpu).toEqual([0, 1, 2, 3, 4]);
      expect(log.length).toBe(0);
      expect(orchestrator.resourceStats('gpu')).toMatchObject({ inUse: 1, limit: 1, max: 1, waiting: 1 });
      expect(orchestrator.queued).toBe(1);
      gate.release();
      await holder;
      await expect(waiting).resolves.toBe(2);
      expect(orchestrator.resourceStats('gpu')).toMatchObject({ inUse: 0, waiting: 0, waitSeconds: 0 });
    },
  );

  it('a new thread offered only a run that waits for the GPU stays free for the next CPU run', async () => {
    const orchestrator = orchestratorWith({ baseLimit: 1, resources: { gpu: 1 } });
    const cpuGate = new Gate();
    const held = orchestrator.run('probe', { n: 0, shared: cpuGate.shared });
    await cpuGate.waitStarted(1);
    // Both queue behind the CPU run; either could start as far as the GPU's units went then.
    const gpuGate = new Gate();
    const gpuRuns = [1, 2].map((n) =>
      orchestrator.run('probe', { n, shared: gpuGate.shared }, { needs: { gpu: 1 } }),
    );
    cpuGate.release();
    await held;
    await gpuGate.waitStarted(1);
    expect(orchestrator.inFlight).toBe(1);
    // Growing the limit stages a place for the waiting run; a second thread starts for it, but
    // the run needs the GPU the first holds: the thread is turned down, the run parks, and the
    // staged place goes.
    orchestrator.resize(2);
    await until(() => orchestrator.threads === 2 && orchestrator.inFlight === 1);
    await expect(orchestrator.run('echo', 'cpu')).resolves.toBe('cpu');
    expect(orchestrator.resourceStats('gpu')).toMatchObject({ inUse: 1, waiting: 1 });
    gpuGate.release();
    await Promise.all(gpuRuns);
  });

  it('growing a resource’s units by hand starts waiting runs at once; at most that many hold it', async () => {
    const orchestrator = orchestratorWith({ baseLimit: 3, maxLimit: 3, resources: { gpu: 2 } });
    expect(orchestrator.resizeResource('gpu', 1)).toBe(1);
    const gate = new Gate();
    const concurrency = new Concurrency();
    const runs = [0, 1, 2].map((n) =>
      orchestrator.run('probe', { n, shared: gate.shared, count: concurrency.shared }, { needs: { gpu: 1 } }),
    );
    await gate.waitStarted(1);
    expect(orchestrator.resourceStats('gpu')).toMatchObject({ inUse: 1, waiting: 2 });
    expect(orchestrator.resizeResource('gpu', 5)).toBe(2);
    await gate.waitStarted(2);
    expect(orchestrator.resourceStats('gpu')).toMatchObject({ inUse: 2, waiting: 1 });
    gate.release();
    await Promise.all(runs);
    expect(concurrency.max).toBe(2);
    expect(() => orchestrator.resizeResource('tpu', 1)).toThrow(/resource "tpu" is not declared/);
  });

  it('map batches and coalesced runs hold their units too', async () => {
    const orchestrator = orchestratorWith({
      resources: { 'model-a': 1 },
      batch: { maxSize: 4, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    const concurrency = new Concurrency();
    const inputs = Array.from({ length: 12 }, (_, n) => ({ n, count: concurrency.shared }));
    const mapped: number[] = [];
    const map = (async () => {
      for await (const record of orchestrator.map('probe', inputs, { batchSize: 1, needs: { 'model-a': 1 } }))
        if (record.ok) mapped.push(record.value as number);
    })();
    const coalesced = inputs.map((input) => orchestrator.run('probe', input, { needs: { 'model-a': 1 } }));
    await map;
    await expect(Promise.all(coalesced)).resolves.toEqual(inputs.map((input) => input.n));
    expect(mapped.sort((a, b) => a - b)).toEqual(inputs.map((input) => input.n));
    expect(concurrency.max).toBe(1);
  });

  it('pipeline batches and a cached task’s run hold their units too', async () => {
    const orchestrator = orchestratorWith({
      resources: { 'model-a': 1 },
      cache: { tasks: { probe: { cacheKey: (input) => (input as { n: number }).n } } },
    });
    const concurrency = new Concurrency();
    const inputs = Array.from({ length: 8 }, (_, n) => ({ n, count: concurrency.shared }));
    const pipeline = orchestrator
      .pipeline(inputs, { needs: { 'model-a': 1 } })
      .map('probe', { batchSize: 1 });
    const values: number[] = [];
    for await (const record of pipeline) if (record.ok) values.push(record.value as number);
    expect(values.sort((a, b) => a - b)).toEqual(inputs.map((input) => input.n));
    expect(concurrency.max).toBe(1);
    // A cached task's miss runs with the caller's needs: the unit is held while it runs.
    const gate = new Gate();
    const cached = orchestrator.run('probe', { n: 100, shared: gate.shared }, { needs: { 'model-a': 1 } });
    await gate.waitStarted(1);
    expect(orchestrator.resourceStats('model-a')).toMatchObject({ inUse: 1 });
    gate.release();
    await expect(cached).resolves.toBe(100);
    await expect(orchestrator.run('probe', { n: 2 }, { needs: { 'model-b': 1 } })).rejects.toThrow(
      /needs\.model-b names no resource declared/,
    );
    expect(() => orchestrator.pipeline([1], { needs: { gpu: 1 } })).toThrow(RangeError);
    expect(() => orchestrator.pipeline([1], { tenant: '' })).toThrow(TypeError);
  });

  it('refuses needs of an undeclared resource, or more units than declared, naming the entry', async () => {
    const orchestrator = orchestratorWith({ resources: { gpu: 2 } });
    await expect(orchestrator.run('echo', 1, { needs: { tpu: 1 } })).rejects.toThrow(
      /needs\.tpu names no resource declared in the resources option \(declared: gpu\)/,
    );
    await expect(orchestrator.run('echo', 1, { needs: { gpu: 3 } })).rejects.toThrow(
      /needs\.gpu must be an integer in \[0, 2\] \(the units declared\), got 3/,
    );
    await expect(orchestrator.map('echo', [1], { needs: { gpu: 1.5 } }).next()).rejects.toThrow(RangeError);
    expect(() => orchestrator.go('x', () => undefined, { needs: { tpu: 1 } })).toThrow(RangeError);
  });

  it('exports each resource’s units in use, limit and wait', async () => {
    const orchestrator = orchestratorWith({ resources: { gpu: 1, 'model-a': 3 } });
    const gate = new Gate();
    const holder = orchestrator.run('probe', { n: 1, shared: gate.shared }, { needs: { gpu: 1 } });
    await gate.waitStarted(1);
    const waiting = orchestrator.run('echo', 2, { needs: { gpu: 1 } });
    const registry = orchestrator.registry!;
    const gauge = (name: string, resource: string): Promise<number> =>
      sampleSum(registry, `orchestrator_resource_${name}`, { resource });
    expect(await gauge('units_in_use', 'gpu')).toBe(1);
    expect(await gauge('limit', 'gpu')).toBe(1);
    expect(await gauge('limit', 'model-a')).toBe(3);
    expect(await gauge('units_in_use', 'model-a')).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await gauge('wait_seconds', 'gpu')).toBeGreaterThan(0);
    gate.release();
    await Promise.all([holder, waiting]);
    expect(await gauge('wait_seconds', 'gpu')).toBe(0);
  });
});

describe('the GPU rules act on the gpu resource (#13)', () => {
  const busyGpu = { read: () => ({ gpuUtilization: 0.99 }) };

  it('high GPU utilization shrinks the gpu units and leaves the pool’s limit alone', async () => {
    const orchestrator = orchestratorWith({
      baseLimit: 4,
      maxLimit: 4,
      resources: { gpu: 4 },
      adaptive: true,
      adaptationIntervalMs: 3_600_000,
      systemSampler: false,
      signals: [busyGpu],
    });
    const resourceEvents: ResourceAdaptEvent[] = [];
    const events: AdaptEvent[] = [];
    orchestrator.on('resourceAdapt', (event: ResourceAdaptEvent) => resourceEvents.push(event));
    orchestrator.on('adapt', (event: AdaptEvent) => events.push(event));
    await orchestrator.adapt();
    expect(orchestrator.limit).toBe(4);
    expect(orchestrator.resourceStats('gpu')?.limit).toBe(2);
    expect(events).toEqual([]);
    expect(resourceEvents).toMatchObject([{ resource: 'gpu', from: 4, to: 2, reason: 'gpu-utilization' }]);
    await orchestrator.adapt();
    await orchestrator.adapt();
    expect(orchestrator.resourceStats('gpu')?.limit).toBe(1);
    expect(orchestrator.limit).toBe(4);
  });

  it('without a gpu resource, high GPU utilization shrinks the pool as before', async () => {
    const orchestrator = orchestratorWith({
      baseLimit: 4,
      maxLimit: 4,
      adaptive: true,
      adaptationIntervalMs: 3_600_000,
      systemSampler: false,
      signals: [busyGpu],
    });
    await expect(orchestrator.adapt()).resolves.toMatchObject({ from: 4, to: 2, reason: 'gpu-utilization' });
  });
});
