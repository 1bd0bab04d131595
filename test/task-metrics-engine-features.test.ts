/**
 * Issue #17 with the engine's other features: task metrics of several worker modules (`workers`,
 * tasks named `module.task`), recorded by fused pipeline stages, and not recorded by the runs the
 * result cache answers.
 */
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricConflictError, serveMetrics, type Orchestrator } from 'node-orchestrator';
import { parseSamples, samplesOf } from './support/exposition.js';
import { closeServer, get } from './support/http.js';
import { closeAll, createOrchestrator, warnings } from './support/orchestrator.js';

const worker = new URL('./fixtures/metric-tasks.mjs', import.meta.url);
const rival = new URL('./fixtures/metric-rival-tasks.mjs', import.meta.url);
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
  await closeAll();
});

/** The samples of `names` on the orchestrator's /metrics. */
async function scrape(orchestrator: Orchestrator, names: readonly string[]): Promise<Map<string, number>> {
  const server = await serveMetrics({ registry: orchestrator.registry!, port: 0 });
  servers.push(server);
  return samplesOf(parseSamples((await get(server, '/metrics')).body), names);
}

const tokens = (model: string, value: number): [string, number] => [
  `orchestrator_tokens_total{model="${model}"}`,
  value,
];

describe('task metrics with the engine’s other features (#17)', () => {
  it('several worker modules: tasks of each record under their qualified names, and a metric declared alike in two modules is one metric', async () => {
    const orchestrator = createOrchestrator({ workers: { a: worker, b: worker } });
    await orchestrator.run('a.record', { calls: [['inc', 'tokens_total', 2, { model: 'gpt' }]] });
    await orchestrator.run('b.record', { calls: [['inc', 'tokens_total', 5, { model: 'gpt' }]] });
    expect(await orchestrator.run('b.countTokens', 'one two three')).toBe(3);
    const misuse = (await orchestrator.run('a.misuse', {
      method: 'inc',
      name: 'pages_total',
      value: 1,
    })) as { message: string };
    expect(misuse.message).toMatch(/task "a\.misuse" declares no such metric/);
    expect(await scrape(orchestrator, ['orchestrator_tokens_total'])).toEqual(
      new Map([tokens('gpt', 7), tokens('split', 3)]),
    );
  });

  it('several worker modules declaring one metric differently: the tasks declaring it in either module are refused, the others run', async () => {
    const orchestrator = createOrchestrator({ workers: { main: worker, other: rival } });
    const seen = warnings(orchestrator);
    await orchestrator.taskNames();
    // A module's exports are listed alphabetically: countTokens is the first task declaring it.
    const message =
      'Metric "tokens_total" is declared differently by tasks "main.countTokens" and "other.rival" ' +
      '(help "Tokens produced, by model." against "Tokens, counted otherwise."); ' +
      'tasks that share a metric must declare it alike';
    expect(seen).toEqual([{ code: 'ORCHESTRATOR_METRICS', message }]);
    for (const task of ['main.record', 'main.countTokens', 'other.rival']) {
      const error: unknown = await orchestrator.run(task, 1).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error, task).toBeInstanceOf(MetricConflictError);
      expect((error as Error).message, task).toBe(message);
    }
    expect(await orchestrator.run('other.echo', 'untouched')).toBe('untouched');
    expect(seen).toHaveLength(1);
  });

  it('fused pipeline stages each record their own metrics, exactly once per item', async () => {
    const orchestrator = createOrchestrator({ worker });
    const texts = ['a b', 'a b c', 'x', 'p q r s'];
    const records = [];
    for await (const record of orchestrator
      .pipeline(
        texts.map((text) => ({ calls: [['inc', 'tokens_total', 2, { model: 'gpt' }]], result: text })),
        { ordered: true },
      )
      .map('record')
      .map('countTokens'))
      records.push(record);
    expect(records.map((record) => (record.ok ? record.value : record.error))).toEqual([2, 3, 1, 4]);
    expect(await scrape(orchestrator, ['orchestrator_tokens_total'])).toEqual(
      new Map([tokens('gpt', 8), tokens('split', 10)]),
    );
  });

  it('fused pipeline stages of which a later one declares a conflicting metric: each item fails at that stage with ERR_METRIC_CONFLICT, as unfused', async () => {
    const orchestrator = createOrchestrator({ workers: { main: worker, other: rival } });
    orchestrator.on('warning', () => undefined);
    for (const fuse of [true, false]) {
      const records = [];
      for await (const record of orchestrator
        .pipeline(['a', 'b'], { ordered: true, fuse })
        .map('other.echo')
        .map('main.countTokens'))
        records.push(record);
      expect(
        records.map((record) => [record.index, record.ok, record.ok ? undefined : record.stage]),
        `fuse: ${fuse}`,
      ).toEqual([
        [0, false, { index: 1, name: 'main.countTokens' }],
        [1, false, { index: 1, name: 'main.countTokens' }],
      ]);
      for (const record of records)
        expect(record.ok ? undefined : record.error, `fuse: ${fuse}`).toBeInstanceOf(MetricConflictError);
    }
    const refused = [];
    for await (const record of orchestrator.pipeline(['a']).map('main.countTokens').map('other.echo'))
      refused.push(record.ok ? undefined : [record.stage, record.error]);
    expect(refused).toEqual([[{ index: 0, name: 'main.countTokens' }, expect.any(MetricConflictError)]]);
    expect(await scrape(orchestrator, ['orchestrator_tokens_total'])).toEqual(new Map());
  });

  it('a run the result cache answers runs no task and records nothing; the run that filled it recorded once', async () => {
    const orchestrator = createOrchestrator({ worker, cache: { tasks: ['record'] } });
    const input = { calls: [['inc', 'tokens_total', 4, { model: 'gpt' }]], result: 'kept' };
    expect(await orchestrator.run('record', input)).toBe('kept');
    expect(await orchestrator.run('record', input)).toBe('kept');
    expect(await orchestrator.run('record', input, { cache: false })).toBe('kept');
    expect(
      await scrape(orchestrator, ['orchestrator_tokens_total', 'orchestrator_cache_hits_total']),
    ).toEqual(new Map([tokens('gpt', 8), ['orchestrator_cache_hits_total{task="record"}', 1]]));
  });
});
