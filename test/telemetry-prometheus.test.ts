import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { serveMetrics, type Orchestrator } from 'node-orchestrator';
import { closeServer, get } from './support/http.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { startPrometheus, type PrometheusServer } from './support/prometheus.js';
import { requireTool } from './support/tools.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const servers: Server[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await Promise.all(servers.splice(0).map(closeServer));
  await closeAll();
});

/** Runs successes, task errors, aborts, timeouts and a shed submission. */
async function realTraffic(orchestrator: Orchestrator): Promise<void> {
  await Promise.all([1, 2, 3, 4, 5].map((n) => orchestrator.run('echo', n)));
  await Promise.allSettled([
    orchestrator.run('fail', 'a'),
    orchestrator.run('fail', 'b'),
    orchestrator.run('echo', 1, { signal: AbortSignal.abort() }),
    orchestrator.run('spin', 60_000, { timeoutMs: 5 }),
  ]);
}

async function check(args: string[], input: string): Promise<{ code: number; out: string }> {
  const child = execFile('promtool', args);
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stdin?.end(input);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  return { code, out };
}

describe.runIf(requireTool('promtool'))('promtool', () => {
  it.each([
    ['its defaults', {}],
    ['tenants and resources (#13)', { tenants: { acme: {} }, resources: { gpu: 1, 'model-a': 2 } }],
  ])(
    'finds nothing to complain about in the live /metrics output after real tasks, with %s',
    async (_, options) => {
      const orchestrator = createOrchestrator({ defaultMetrics: true, ...options });
      await realTraffic(orchestrator);
      if ('tenants' in options) await orchestrator.run('echo', 1, { tenant: 'acme', needs: { gpu: 1 } });
      const server = await serveMetrics({ registry: orchestrator.registry!, port: 0 });
      servers.push(server);
      const text = await get(server, '/metrics');
      const result = await check(['check', 'metrics'], text.body);
      expect(result.out).toBe('');
      expect(result.code).toBe(0);
    },
  );

  it('finds nothing to complain about in /metrics with task metrics of every type (#17), on two named orchestrators', async () => {
    const worker = new URL('./fixtures/metric-tasks.mjs', import.meta.url);
    const first = createOrchestrator({ worker, name: 'first', defaultMetrics: true });
    const second = createOrchestrator({ worker, name: 'second', registry: first.registry });
    for (const orchestrator of [first, second]) {
      await orchestrator.run('record', {
        calls: [
          ['inc', 'tokens_total', 3, { model: 'gpt "4"\\n' }],
          ['inc', 'tokens_total', 1],
          ['set', 'queue_items', -2],
          ['observe', 'item_size_bytes', 5, { kind: 'text' }],
          ['observe', 'item_size_bytes', 500],
          ['inc', 'requests_total', 1, { route: '/a' }],
        ],
      });
    }
    const server = await serveMetrics({ registry: first.registry!, port: 0 });
    servers.push(server);
    const text = await get(server, '/metrics');
    expect(text.body).toContain(
      'orchestrator_item_size_bytes_bucket{orchestrator="second",kind="text",le="10"} 1',
    );
    expect(text.body).toContain('orchestrator_tokens_total{orchestrator="first",model="gpt \\"4\\"\\\\n"} 3');
    const result = await check(['check', 'metrics'], text.body);
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });

  it('finds nothing to complain about with tracing on: exemplars stay out of the text format (#14)', async () => {
    const provider = new BasicTracerProvider();
    const orchestrator = createOrchestrator({ tracing: { tracerProvider: provider } });
    await realTraffic(orchestrator);
    const server = await serveMetrics({ registry: orchestrator.registry!, port: 0 });
    servers.push(server);
    const text = await get(server, '/metrics');
    // The OpenMetrics rendering of the same registry does carry them: promtool's linter reads only
    // the text format (a real Prometheus scrapes the exemplars: test/tracing-exemplars.test.ts).
    expect(
      (await get(server, '/metrics', { headers: { accept: 'application/openmetrics-text' } })).body,
    ).toContain('# {trace_id="');
    const result = await check(['check', 'metrics'], text.body);
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });

  it('accepts the alerting rules', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', join(root, 'prometheus/alerts.yml')]);
    expect(stdout).toMatch(/SUCCESS: 5 rules found/);
  });

  it('the alerting rules fire on the series they are meant for and stay quiet on near misses', async () => {
    const tests = join(root, 'prometheus/alerts.test.yml');
    // promtool exits non-zero on any failed expectation, which rejects here with its output.
    const { stdout } = await run('promtool', ['test', 'rules', tests]);
    expect(stdout).toMatch(/SUCCESS/);
    // A new alert without a test case would pass the run above unnoticed.
    const names = (file: string, pattern: RegExp): string[] =>
      [
        ...new Set([...readFileSync(join(root, file), 'utf8').matchAll(pattern)].map((m) => m[1] ?? '')),
      ].sort();
    expect(names('prometheus/alerts.test.yml', /alertname: (\w+)/g)).toEqual(
      names('prometheus/alerts.yml', /- alert: (\w+)/g),
    );
  });

  it('the Grafana dashboard only queries metrics the orchestrator exports', async () => {
    const orchestrator = createOrchestrator();
    await realTraffic(orchestrator);
    orchestrator.resize(2);
    const exported = new Set(
      (await orchestrator.registry!.getMetricsAsJSON()).flatMap((m) =>
        m.type === ('histogram' as never)
          ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`]
          : [m.name],
      ),
    );
    const dashboard = JSON.parse(readFileSync(join(root, 'grafana/dashboard.json'), 'utf8')) as {
      panels: { targets: { expr: string; exemplar?: boolean }[] }[];
    };
    // Exemplars are asked for where the histograms carry them (with tracing): duration and wait.
    const withExemplars = dashboard.panels.flatMap((p) => p.targets.filter((t) => t.exemplar === true));
    expect(withExemplars.map((t) => /orchestrator_task_(duration|wait)_seconds_bucket/.test(t.expr))).toEqual(
      [true, true],
    );
    // The node and cluster families come from a QueueNode; test/bullmq-metrics.test.ts checks those panels.
    const used = dashboard.panels
      .flatMap((p) => p.targets.flatMap((t) => t.expr.match(/orchestrator_[a-z_]+/g) ?? []))
      .filter((name) => !/^orchestrator_(node|cluster)_/.test(name));
    expect(used.length).toBeGreaterThan(8);
    expect(used.filter((name) => !exported.has(name))).toEqual([]);
  });
});

describe.runIf(requireTool('prometheus'))('a real Prometheus server', () => {
  /** A Prometheus server scraping an orchestrator that has seen real traffic. */
  async function scrapingOrchestrator(): Promise<PrometheusServer> {
    const orchestrator = createOrchestrator();
    await realTraffic(orchestrator);
    const target = await serveMetrics({ registry: orchestrator.registry!, port: 0 });
    servers.push(target);
    const prometheus = await startPrometheus(target);
    cleanups.push(() => prometheus.stop());
    return prometheus;
  }

  it('scrapes a live orchestrator and its query API returns the task counters', async () => {
    const prometheus = await scrapingOrchestrator();
    type Series = { metric: Record<string, string>; value: [number, string] }[];
    const query = encodeURIComponent('orchestrator_tasks_total{job="orchestrator"}');
    const series =
      (await prometheus.poll(`/api/v1/query?query=${query}`, (body) => {
        const result = (body as { data?: { result: Series } }).data?.result ?? [];
        return result.length > 0 ? result : undefined;
      })) ?? [];
    const count = (task: string, outcome: string): number =>
      Number(series.find((s) => s.metric['task'] === task && s.metric['outcome'] === outcome)?.value[1]);
    expect(count('echo', 'success')).toBe(5);
    expect(count('fail', 'error')).toBe(2);
    expect(count('echo', 'aborted')).toBe(1);
    expect(count('spin', 'timeout')).toBe(1);
  }, 90_000);

  it('runs every dashboard query: each selects by the Node variable, and All shows an orchestrator without a node label', async () => {
    const dashboard = JSON.parse(readFileSync(join(root, 'grafana/dashboard.json'), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    const queries = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    // Cluster-wide families are the same whichever node reports them; every other name is filtered.
    const unfiltered = queries.flatMap((expr) =>
      [...expr.matchAll(/(orchestrator_[a-z_]+)(\{node=~"\$node")?/g)]
        .filter(([, name, filter]) => filter === undefined && !name!.startsWith('orchestrator_cluster_'))
        .map(([, name]) => `${name} in ${expr}`),
    );
    expect(unfiltered).toEqual([]);

    const prometheus = await scrapingOrchestrator();
    type Answer = { status: string; error?: string; data?: { result: unknown[] } };
    const ask = (expr: string): Promise<Answer | undefined> =>
      prometheus.poll(`/api/v1/query?query=${encodeURIComponent(expr)}`, (body) => body as Answer);
    // rate() needs two scrapes (one a second).
    await prometheus.poll(
      `/api/v1/query?query=${encodeURIComponent('count_over_time(orchestrator_concurrency_limit[1m]) >= 2')}`,
      (body) => ((body as Answer).data?.result.length ? true : undefined),
    );
    const at = (expr: string, node: string): string =>
      expr.replaceAll('$node', node).replaceAll('$__rate_interval', '1m');
    const answers = await Promise.all(queries.map((expr) => ask(at(expr, '.*'))));
    expect(answers.map((a, i) => `${a?.status ?? 'no answer'} ${a?.error ?? ''} ${queries[i]}`)).toEqual(
      queries.map((expr) => `success  ${expr}`),
    );
    const seriesOf = (expr: string, node: string): Promise<number> =>
      ask(at(expr, node)).then((a) => a?.data?.result.length ?? -1);
    const shown = queries.filter((q) =>
      /^(orchestrator_(concurrency_limit|pool_threads)|sum by \(outcome\))/.test(q),
    );
    expect(shown).toHaveLength(3);
    for (const expr of shown) {
      expect([expr, await seriesOf(expr, '.*')]).not.toEqual([expr, 0]); // All: the unlabelled orchestrator shows
      expect([expr, await seriesOf(expr, 'elsewhere')]).toEqual([expr, 0]); // another node: it does not
    }
  }, 90_000);
});
