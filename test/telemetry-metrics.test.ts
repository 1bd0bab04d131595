import { afterEach, describe, expect, it } from 'vitest';
import { Counter, Registry, register as globalRegistry } from 'prom-client';
import { InvalidConfigError, Orchestrator } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { closeAll, createOrchestrator, fixtureWorker } from './support/orchestrator.js';

afterEach(closeAll);

async function text(registry: Registry | undefined): Promise<string> {
  return (registry as Registry).metrics();
}

function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('telemetry metrics', () => {
  it('counts exactly N successes and M failures, with error types and histograms', async () => {
    const orchestrator = createOrchestrator();
    const n = 37;
    const m = 11;
    await Promise.all(Array.from({ length: n }, (_, i) => orchestrator.run('echo', i)));
    await Promise.all(Array.from({ length: m }, () => orchestrator.run('fail', 'x').catch(() => undefined)));
    await orchestrator.run('echo', 1, { signal: AbortSignal.abort() }).catch(() => undefined);
    const body = await text(orchestrator.registry);
    expect(value(body, 'orchestrator_tasks_total{task="echo",outcome="success"}')).toBe(n);
    expect(value(body, 'orchestrator_tasks_total{task="fail",outcome="error"}')).toBe(m);
    expect(value(body, 'orchestrator_tasks_total{task="echo",outcome="aborted"}')).toBe(1);
    expect(value(body, 'orchestrator_task_errors_total{task="fail",type="E_FIXTURE"}')).toBe(m);
    expect(value(body, 'orchestrator_task_duration_seconds_count{task="echo"}')).toBe(n);
    expect(value(body, 'orchestrator_task_wait_seconds_count{task="echo"}')).toBe(n);
    expect(value(body, 'orchestrator_task_duration_seconds_bucket{task="echo",le="+Inf"}')).toBe(n);
  });

  it('keeps at most 32 error types per task and counts the rest as type="other"', async () => {
    const orchestrator = createOrchestrator();
    const codes = Array.from({ length: 40 }, (_, i) => `E_CODE_${i}`);
    // Code i fails (i % 3) + 1 times, so a wrong count cannot hide behind equal counts.
    const times = (i: number): number => (i % 3) + 1;
    const failAll = (batch: string[], offset: number): Promise<unknown> =>
      Promise.allSettled(
        batch.flatMap((code, i) =>
          Array.from({ length: times(offset + i) }, () => orchestrator.run('failWithCode', code)),
        ),
      );
    // The first 32 codes settle before the other 8 start, so which ones keep a name is fixed.
    await failAll(codes.slice(0, 32), 0);
    await failAll(codes.slice(32), 32);
    // A named type that recurs after the cap still counts under its own name.
    await orchestrator.run('failWithCode', 'E_CODE_0').catch(() => undefined);

    const body = await text(orchestrator.registry);
    const series = body
      .split('\n')
      .filter((line) => line.startsWith('orchestrator_task_errors_total{task="failWithCode",'));
    expect(series).toHaveLength(33);
    codes.slice(0, 32).forEach((code, i) => {
      expect(value(body, `orchestrator_task_errors_total{task="failWithCode",type="${code}"}`)).toBe(
        times(i) + (i === 0 ? 1 : 0),
      );
    });
    const overflow = [32, 33, 34, 35, 36, 37, 38, 39].reduce((sum, i) => sum + times(i), 0);
    expect(value(body, 'orchestrator_task_errors_total{task="failWithCode",type="other"}')).toBe(overflow);
    for (const code of codes.slice(32)) expect(body).not.toContain(`type="${code}"`);
    const total = codes.reduce((sum, _, i) => sum + times(i), 0) + 1;
    expect(value(body, 'orchestrator_tasks_total{task="failWithCode",outcome="error"}')).toBe(total);
  });

  it('gauges are current at every scrape', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, minLimit: 1, maxLimit: 4 });
    const gate = new Gate();
    const runs = [1, 2, 3, 4, 5].map(() => orchestrator.run('gate', { shared: gate.shared }));
    await gate.waitStarted(1);
    let body = await text(orchestrator.registry);
    expect(value(body, 'orchestrator_queue_depth')).toBe(4);
    expect(value(body, 'orchestrator_tasks_in_flight')).toBe(1);
    expect(value(body, 'orchestrator_concurrency_limit')).toBe(1);
    orchestrator.resize(3);
    body = await text(orchestrator.registry);
    expect(value(body, 'orchestrator_concurrency_limit')).toBe(3);
    // Three of the five take the three slots at once; two wait.
    expect(value(body, 'orchestrator_queue_depth')).toBe(2);
    expect(value(body, 'orchestrator_tasks_in_flight')).toBe(3);
    gate.release();
    await Promise.all(runs);
    body = await text(orchestrator.registry);
    expect(value(body, 'orchestrator_tasks_in_flight')).toBe(0);
    // Signals not sampled yet are absent rather than a made-up zero.
    expect(body).not.toMatch(/^orchestrator_gpu_utilization_ratio /m);
  });

  it('writes to a registry the user passes, with the chosen prefix, never to the global one', async () => {
    const registry = new Registry();
    const orchestrator = createOrchestrator({ registry, metricsPrefix: 'prep_' });
    expect(orchestrator.registry).toBe(registry);
    await orchestrator.run('echo', 1);
    const body = await registry.metrics();
    expect(value(body, 'prep_tasks_total{task="echo",outcome="success"}')).toBe(1);
    expect(await globalRegistry.metrics()).not.toMatch(/orchestrator_/);
    const own = createOrchestrator();
    expect(own.registry).not.toBe(globalRegistry);
  });

  it('two orchestrators on one registry need distinct names, which become the orchestrator label', async () => {
    const registry = new Registry();
    createOrchestrator({ registry });
    expect(() => new Orchestrator({ worker: fixtureWorker, registry })).toThrow(InvalidConfigError);
    expect(() => new Orchestrator({ worker: fixtureWorker, registry })).toThrow(
      /name must be a name distinct/,
    );

    const shared = new Registry();
    const text1 = createOrchestrator({ registry: shared, name: 'text' });
    const images = createOrchestrator({ registry: shared, name: 'images' });
    expect(() => new Orchestrator({ worker: fixtureWorker, registry: shared, name: 'text' })).toThrow(
      /distinct/,
    );
    await text1.run('echo', 1);
    await images.run('echo', 2);
    await images.run('echo', 3);
    const body = await shared.metrics();
    expect(value(body, 'orchestrator_tasks_total{orchestrator="text",task="echo",outcome="success"}')).toBe(
      1,
    );
    expect(value(body, 'orchestrator_tasks_total{orchestrator="images",task="echo",outcome="success"}')).toBe(
      2,
    );
  });

  it('refuses a registry where a user metric already has one of our names, registering none of ours', async () => {
    const registry = new Registry();
    // task_errors_total comes after nine gauges and another counter in our registration order,
    // so registering one by one until the collision would leave ten of ours behind.
    new Counter({ name: 'orchestrator_task_errors_total', help: "the user's own", registers: [registry] });
    let caught: unknown;
    try {
      new Orchestrator({ worker: fixtureWorker, registry });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidConfigError);
    expect((caught as InvalidConfigError).code).toBe('ERR_INVALID_CONFIG');
    expect((caught as InvalidConfigError).message).toMatch(/orchestrator_task_errors_total/);
    expect((await registry.getMetricsAsJSON()).map((m) => m.name)).toEqual([
      'orchestrator_task_errors_total',
    ]);
    expect((await registry.getMetricsAsJSON())[0]?.help).toBe("the user's own");

    // Nothing was left behind either: with the user's metric gone, an orchestrator fits.
    registry.removeSingleMetric('orchestrator_task_errors_total');
    const orchestrator = createOrchestrator({ registry });
    await orchestrator.run('fail', 'x').catch(() => undefined);
    expect(
      value(await registry.metrics(), 'orchestrator_task_errors_total{task="fail",type="E_FIXTURE"}'),
    ).toBe(1);
  });

  it('closing the last orchestrator on a registry removes its metrics, so a new one can take the name', async () => {
    const registry = new Registry();
    const first = new Orchestrator({ worker: fixtureWorker, registry });
    await first.close();
    expect(await registry.metrics()).not.toMatch(/orchestrator_tasks_total/);
    const second = createOrchestrator({ registry });
    await second.run('echo', 1);
    expect(value(await registry.metrics(), 'orchestrator_tasks_total{task="echo",outcome="success"}')).toBe(
      1,
    );
  });

  it("collects Node's default process metrics only when asked, once per registry", async () => {
    const quiet = createOrchestrator();
    expect(await text(quiet.registry)).not.toMatch(/process_cpu_user_seconds_total/);
    const registry = new Registry();
    createOrchestrator({ registry, defaultMetrics: true, name: 'a' });
    createOrchestrator({ registry, defaultMetrics: true, name: 'b' });
    expect(await registry.metrics()).toMatch(/process_cpu_user_seconds_total/);
  });

  it('keeps no metrics with telemetry: false', () => {
    expect(createOrchestrator({ telemetry: false }).registry).toBeUndefined();
  });

  it('names a bad prefix or name in the error', () => {
    expect(() => new Orchestrator({ worker: fixtureWorker, metricsPrefix: 'bad-prefix' })).toThrow(
      /metricsPrefix must be a valid Prometheus metric name prefix.*got "bad-prefix"/,
    );
    expect(() => new Orchestrator({ worker: fixtureWorker, name: '' })).toThrow(
      /name must be a non-empty string/,
    );
  });
});
