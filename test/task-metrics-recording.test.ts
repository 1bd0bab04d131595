/**
 * Issue #17: how tasks record their own metrics through ctx.metrics, and how the main thread
 * exports them: errors at the call, gauges, bounded label sets, cancelled runs, shared and
 * conflicting declarations, several orchestrators on one registry.
 */
import type { Server } from 'node:http';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MetricConflictError,
  serveMetrics,
  TaskFailedError,
  type Orchestrator,
  type OrchestratorOptions,
} from 'node-orchestrator';
import { parseSamples, samplesOf } from './support/exposition.js';
import { Gate } from './support/gate.js';
import { closeServer, get } from './support/http.js';
import { FIXTURE_METRICS } from './support/metric-model.js';
import { closeAll, createOrchestrator, warnings } from './support/orchestrator.js';

const worker = new URL('./fixtures/metric-tasks.mjs', import.meta.url);
const conflicting = new URL('./fixtures/metric-conflict-tasks.mjs', import.meta.url);
const rival = new URL('./fixtures/metric-rival-tasks.mjs', import.meta.url);
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
  await closeAll();
});

function orchestrate(options: Partial<OrchestratorOptions> = {}): Orchestrator {
  return createOrchestrator({ worker, baseLimit: 1, minLimit: 1, maxLimit: 1, ...options });
}

/** GET /metrics of a registry, as samples (only those named by `prefixes`, by default the fixture's). */
async function scrape(registry: Registry, prefixes = FIXTURE_METRICS): Promise<Map<string, number>> {
  const server = await serveMetrics({ registry, port: 0 });
  servers.push(server);
  return samplesOf(parseSamples((await get(server, '/metrics')).body), prefixes);
}

describe('ctx.metrics in a task (#17)', () => {
  it('throws InvalidMetricError at a bad call, in the worker, where the task can catch it; the call records nothing', async () => {
    const orchestrator = orchestrate();
    const cases: [Record<string, unknown>, string][] = [
      [
        { method: 'inc', name: 'tokens' },
        'ctx.metrics.inc("tokens"): task "misuse" declares no such metric; it declares: tokens_total, queue_items, item_size_bytes, requests_total',
      ],
      [
        { method: 'inc', name: 'item_size_bytes' },
        'ctx.metrics.inc("item_size_bytes"): "item_size_bytes" is a histogram; use observe()',
      ],
      [
        { method: 'set', name: 'tokens_total', value: 1 },
        'ctx.metrics.set("tokens_total"): "tokens_total" is a counter; use inc()',
      ],
      [
        { method: 'observe', name: 'queue_items', value: 1 },
        'ctx.metrics.observe("queue_items"): "queue_items" is a gauge; use inc()',
      ],
      [
        { method: 'inc', name: 'tokens_total', value: -1 },
        'ctx.metrics.inc("tokens_total"): a counter only goes up, got -1 (declare a gauge for a value that goes down)',
      ],
      [
        { method: 'inc', name: 'tokens_total', value: Number.NaN },
        'ctx.metrics.inc("tokens_total"): the value must be a finite number, got NaN',
      ],
      [
        { method: 'observe', name: 'item_size_bytes', value: Number.POSITIVE_INFINITY },
        'ctx.metrics.observe("item_size_bytes"): the value must be a finite number, got Infinity',
      ],
      [
        { method: 'set', name: 'queue_items', value: '3' },
        'ctx.metrics.set("queue_items"): the value must be a finite number, got "3"',
      ],
      [
        { method: 'inc', name: 'tokens_total', value: 1, labels: { modle: 'gpt' } },
        'ctx.metrics.inc("tokens_total"): label "modle" is not declared; its labels are: model',
      ],
      [
        { method: 'set', name: 'queue_items', value: 1, labels: { model: 'gpt' } },
        'ctx.metrics.set("queue_items"): label "model" is not declared; its labels are: (none)',
      ],
      [
        { method: 'inc', name: 'tokens_total', value: 1, labels: { model: { id: 1 } } },
        'ctx.metrics.inc("tokens_total"): label "model" must be a string or a finite number, got {"id":1}',
      ],
      [
        { method: 'inc', name: 'tokens_total', value: 1, labels: 'gpt' },
        'ctx.metrics.inc("tokens_total"): labels must be an object of label values, got "gpt"',
      ],
    ];
    for (const [call, message] of cases) {
      expect(await orchestrator.run('misuse', call), message).toEqual({
        threw: true,
        isInvalidMetric: true,
        code: 'ERR_INVALID_METRIC',
        message,
      });
    }
    expect(
      await orchestrator.run('misuse', {
        method: 'inc',
        name: 'tokens_total',
        value: 2,
        labels: { model: 7 },
      }),
    ).toEqual({ threw: false });
    expect(await scrape(orchestrator.registry!)).toEqual(
      new Map([['orchestrator_tokens_total{model="7"}', 2]]),
    );
  });

  it('an uncaught bad call fails its run with ERR_TASK_FAILED, whose remoteCode is ERR_INVALID_METRIC', async () => {
    const orchestrator = orchestrate();
    const error = await orchestrator.run('plain', 1).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ remoteCode: 'ERR_INVALID_METRIC', remoteName: 'InvalidMetricError' });
    expect((error as Error).message).toBe(
      'ctx.metrics.inc("tokens_total"): task "plain" declares no such metric; it declares: (none)',
    );
  });

  it('a gauge shows the last value set, moved by the increments after it', async () => {
    const orchestrator = orchestrate();
    const gauge = async (calls: unknown[][]): Promise<number | undefined> => {
      await orchestrator.run('record', { calls });
      return (await scrape(orchestrator.registry!)).get('orchestrator_queue_items');
    };
    expect(await gauge([['inc', 'queue_items', 4]])).toBe(4);
    expect(
      await gauge([
        ['set', 'queue_items', 5],
        ['inc', 'queue_items', 2],
      ]),
    ).toBe(7);
    expect(
      await gauge([
        ['inc', 'queue_items', -10],
        ['set', 'queue_items', 3],
      ]),
    ).toBe(3);
    expect(await gauge([['inc', 'queue_items', -1]])).toBe(2);
  });

  it('label sets past maxSeries are counted under one series labelled "other", so the total stays exact', async () => {
    const orchestrator = orchestrate({ baseLimit: 2, minLimit: 2, maxLimit: 2 });
    // maxSeries is 3 for requests_total. Two threads see the routes in different orders.
    const routes = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9'];
    await orchestrator.run('record', {
      calls: routes.slice(0, 3).map((route) => ['inc', 'requests_total', 1, { route }]),
    });
    await Promise.all(
      [routes, [...routes].reverse()].map((order) =>
        orchestrator.run('record', { calls: order.map((route) => ['inc', 'requests_total', 1, { route }]) }),
      ),
    );
    const shown = await scrape(orchestrator.registry!, ['orchestrator_requests_total']);
    expect([...shown.keys()].sort()).toEqual([
      'orchestrator_requests_total{route="other"}',
      'orchestrator_requests_total{route="r0"}',
      'orchestrator_requests_total{route="r1"}',
      'orchestrator_requests_total{route="r2"}',
    ]);
    expect([...shown.values()].reduce((a, b) => a + b, 0)).toBe(23);
    expect(shown.get('orchestrator_requests_total{route="r0"}')).toBeGreaterThanOrEqual(2);
  });

  it("a cancelled run's observations count once its answer arrives; a run cancelled before it started records nothing", async () => {
    const orchestrator = orchestrate({ cancelGraceMs: Number.POSITIVE_INFINITY });
    const gate = new Gate();
    const running = new AbortController();
    const queued = new AbortController();
    const first = orchestrator.run('recordThenWait', { shared: gate.shared }, { signal: running.signal });
    const second = orchestrator.run('recordThenWait', { shared: gate.shared }, { signal: queued.signal });
    await gate.waitStarted(1);
    queued.abort(new Error('never ran'));
    running.abort(new Error('stopped'));
    await expect(second).rejects.toThrow('never ran');
    gate.release();
    await expect(first).rejects.toThrow('stopped');
    expect(gate.started).toBe(1);
    expect(await scrape(orchestrator.registry!)).toEqual(
      new Map([['orchestrator_tokens_total{model="waiting"}', 1]]),
    );
  });

  it('tasks that declare a metric alike share it; orchestrators on one registry each label their series, and the last to close removes it', async () => {
    const registry = new Registry();
    const one = orchestrate({ registry, name: 'one' });
    const two = orchestrate({ registry, name: 'two' });
    await one.run('record', { calls: [['inc', 'tokens_total', 2, { model: 'gpt' }]] });
    await one.run('countTokens', 'a b c');
    await two.run('record', { calls: [['inc', 'tokens_total', 5, { model: 'gpt' }]] });
    expect(await scrape(registry, ['orchestrator_tokens_total'])).toEqual(
      new Map([
        ['orchestrator_tokens_total{model="gpt",orchestrator="one"}', 2],
        ['orchestrator_tokens_total{model="split",orchestrator="one"}', 3],
        ['orchestrator_tokens_total{model="gpt",orchestrator="two"}', 5],
      ]),
    );
    await one.close();
    expect(await scrape(registry, ['orchestrator_tokens_total'])).toEqual(
      new Map([['orchestrator_tokens_total{model="gpt",orchestrator="two"}', 5]]),
    );
    await two.close();
    expect(registry.getSingleMetric('orchestrator_tokens_total')).toBeUndefined();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });

  it('two tasks that declare one metric differently both fail with ERR_METRIC_CONFLICT naming them, and the orchestrator warns at once', async () => {
    const orchestrator = orchestrate({ worker: conflicting });
    const seen = warnings(orchestrator);
    await orchestrator.taskNames();
    const message =
      'Metric "tokens_total" is declared differently by tasks "first" and "second" (help "Tokens produced." against "Tokens produced, by model."); ' +
      'tasks that share a metric must declare it alike';
    expect(seen).toEqual([{ code: 'ORCHESTRATOR_METRICS', message }]);
    for (const task of ['first', 'second']) {
      const error = await orchestrator.run(task, 1).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error, task).toBeInstanceOf(MetricConflictError);
      expect((error as Error).message).toBe(message);
    }
    const records = [];
    for await (const record of orchestrator.map('first', [1, 2])) records.push(record);
    expect(records.map((record) => record.ok || record.error instanceof MetricConflictError)).toEqual([
      true,
      true,
    ]);
    expect(await orchestrator.run('third', 4)).toBe(4);
    expect(
      await scrape(orchestrator.registry!, ['orchestrator_pages_total', 'orchestrator_tokens_total']),
    ).toEqual(new Map([['orchestrator_pages_total', 4]]));
    expect(seen).toHaveLength(1);
  });

  it("a metric whose name the registry already holds is not exported, and the orchestrator says so; the registry's own metric is left alone", async () => {
    const registry = new Registry();
    const theirs = new Counter({
      name: 'orchestrator_tokens_total',
      help: 'Not ours.',
      registers: [registry],
    });
    theirs.inc(41);
    const orchestrator = orchestrate({ registry });
    const seen = warnings(orchestrator);
    await orchestrator.run('record', {
      calls: [
        ['inc', 'tokens_total', 1],
        ['inc', 'queue_items', 2],
      ],
    });
    expect(seen).toEqual([
      {
        code: 'ORCHESTRATOR_METRICS',
        message:
          'The task metric "tokens_total" (declared by tasks "countTokens", "misuse", "record", "recordAsync", "recordThenWait") is not exported: ' +
          'the registry already has a metric named "orchestrator_tokens_total"; rename the metric, or use another metricsPrefix or registry',
      },
    ]);
    expect(await scrape(registry)).toEqual(
      new Map([
        ['orchestrator_tokens_total', 41],
        ['orchestrator_queue_items', 2],
      ]),
    );
    await orchestrator.close();
    expect(registry.getSingleMetric('orchestrator_tokens_total')).toBe(theirs);
  });

  it('orchestrators of one prefix whose modules declare a name differently: the later one does not export it, and warns naming the other', async () => {
    const registry = new Registry();
    const first = orchestrate({ registry, name: 'first' });
    await first.run('record', { calls: [['inc', 'tokens_total', 1]] });
    const second = orchestrate({ registry, name: 'second', worker: rival });
    const seen = warnings(second);
    expect(await second.run('rival', 3)).toBe(3);
    expect(seen.map((warning) => warning.message)).toEqual([
      'The task metric "tokens_total" (declared by task "rival" of orchestrator "second") is not exported: "orchestrator_tokens_total" is already registered ' +
        'for tasks "countTokens", "misuse", "record", "recordAsync", "recordThenWait" of orchestrator "first", declared otherwise ' +
        '(help "Tokens, counted otherwise." against "Tokens produced, by model.")',
    ]);
    expect(await scrape(registry)).toEqual(
      new Map([
        ['orchestrator_tokens_total{orchestrator="first"}', 1],
        ['orchestrator_queue_items{orchestrator="second"}', 3],
      ]),
    );
  });

  it("a run's metrics are on the registry, and its orchestrator's warnings given, by the time the run resolves, even if the thread's hello is still on its way", async () => {
    // The answer travels on another port than the hello, and may overtake it: it then carries the
    // declarations. Read without a macrotask in between, so a hello still on its way cannot land.
    for (let i = 0; i < 5; i++) {
      const registry = new Registry();
      const first = orchestrate({ registry, name: 'first' });
      await first.run('record', { calls: [['inc', 'tokens_total', 2, { model: 'gpt' }]] });
      expect(await registry.metrics()).toContain(
        'orchestrator_tokens_total{orchestrator="first",model="gpt"} 2',
      );
      const second = orchestrate({ registry, name: 'second', worker: rival });
      const seen = warnings(second);
      await second.run('rival', 1);
      expect(seen.map((warning) => warning.code)).toEqual(['ORCHESTRATOR_METRICS']);
      await closeAll();
    }
  });

  it('with telemetry off, tasks still have their calls checked, and nothing is kept', async () => {
    const orchestrator = orchestrate({ telemetry: false });
    expect(await orchestrator.run('misuse', { method: 'inc', name: 'nope' })).toMatchObject({
      threw: true,
      code: 'ERR_INVALID_METRIC',
    });
    expect(await orchestrator.run('record', { calls: [['inc', 'tokens_total', 1]] })).toBe(true);
    expect(orchestrator.registry).toBeUndefined();
  });
});
