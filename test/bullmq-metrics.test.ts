import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { serveMetrics, type AdaptEvent } from 'node-orchestrator';
import { QueueClient, QueueNode } from 'node-orchestrator/bullmq';
import { closeServer, get } from './support/http.js';
import { markers, queueTasks, until } from './support/queue-node.js';
import { requireRedis, startRedis, type RedisServer } from './support/redis-server.js';
import { hasCommand } from './support/tools.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe.runIf(requireRedis())('a node’s metrics and adaptation', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(queue: string, options: Partial<ConstructorParameters<typeof QueueNode>[0]> = {}) {
    const redis: RedisServer = await startRedis();
    cleanups.push(() => redis.stop());
    const node = new QueueNode({
      worker: queueTasks,
      queue,
      connection: redis.url,
      nodeName: 'node-a',
      adaptive: false,
      baseLimit: 2,
      ...options,
    } as ConstructorParameters<typeof QueueNode>[0]);
    const client = new QueueClient({ queue, connection: redis.url });
    cleanups.push(
      () => node.close(),
      () => client.close(),
    );
    await node.ready();
    return { redis, node, client };
  }

  it('every series carries the node label; the cluster gauges are Redis’s counts at scrape time', async () => {
    const { redis, node, client } = await setup('metrics');
    await Promise.all(Array.from({ length: 7 }, (_, i) => client.run('echo', i)));
    const { Queue } = await import('bullmq');
    const queue = new Queue('metrics', { connection: { host: '127.0.0.1', port: redis.port } });
    cleanups.push(() => queue.close());
    await queue.add('echo', { not: 'ours' });
    await until(async () => (await queue.getFailedCount()) === 1, 'the foreign job to fail');
    const registry = node.orchestrator.registry!;
    const metrics = await registry.getMetricsAsJSON();
    for (const metric of metrics)
      for (const value of metric.values) expect(value.labels).toMatchObject({ node: 'node-a' });
    const sample = (name: string, labels: Record<string, string> = {}) =>
      metrics
        .find((m) => m.name === name)
        ?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    const counts = await queue.getJobCounts(
      'completed',
      'failed',
      'active',
      'waiting',
      'delayed',
      'prioritized',
    );
    for (const state of ['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized'] as const) {
      expect(sample('orchestrator_cluster_jobs', { queue: 'metrics', state })).toBe(counts[state]);
    }
    expect(counts['completed']).toBe(7);
    expect(sample('orchestrator_node_jobs_total', { outcome: 'completed' })).toBe(7);
    expect(sample('orchestrator_node_jobs_total', { outcome: 'failed' })).toBe(1);
    expect(sample('orchestrator_node_job_concurrency')).toBe(4);
    expect(sample('orchestrator_tasks_total', { task: 'echo', outcome: 'success' })).toBe(7);

    const server = await serveMetrics({ registry, port: 0 });
    cleanups.push(() => closeServer(server));
    const text = (await get(server, '/metrics')).body;
    expect(text).toMatch(/^orchestrator_cluster_jobs\{queue="metrics",state="completed",node="node-a"\} 7$/m);
    if (hasCommand('promtool')) {
      const child = execFile('promtool', ['check', 'metrics']);
      let out = '';
      child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
      child.stdin?.end(text);
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(out).toBe('');
      expect(code).toBe(0);
    }
  });

  it('the Grafana dashboard’s node panels only query metrics a QueueNode exports', async () => {
    const { node } = await setup('dashboard');
    const exported = new Set(
      (await node.orchestrator.registry!.getMetricsAsJSON()).flatMap((m) =>
        m.type === ('histogram' as never)
          ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`]
          : [m.name],
      ),
    );
    const dashboard = JSON.parse(readFileSync(join(root, 'grafana/dashboard.json'), 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const used = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).flatMap((t) => t.expr.match(/orchestrator_[a-z_]+/g) ?? []),
    );
    expect(used).toEqual(
      expect.arrayContaining(['orchestrator_cluster_jobs', 'orchestrator_node_jobs_total']),
    );
    expect(used.filter((name) => !exported.has(name))).toEqual([]);
    const byNode = dashboard.panels.filter((p) =>
      (p.targets ?? []).some((t) => /by \(node\b|by \(node,/.test(t.expr)),
    );
    expect(byNode.length).toBeGreaterThanOrEqual(3);
  });

  it("the queue's backlog in Redis feeds adaptation, and the new limit drives worker.concurrency", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'queue-metrics-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { redis, node, client } = await setup('backlog', {
      adaptive: true,
      adaptationIntervalMs: 3_600_000,
      systemSampler: false,
      baseLimit: 1,
      minLimit: 1,
      maxLimit: 4,
    });
    expect(node.concurrency).toBe(2);
    const runs = Array.from({ length: 62 }, (_, i) => client.run('holdIdempotent', { dir, key: `b${i}` }));
    // Should an assertion below fail, the client's close rejects these: not an unhandled rejection.
    for (const run of runs) run.catch(() => undefined);
    // The node holds two jobs (one running, one waiting on the node); sixty wait in Redis.
    await until(
      () => markers(dir, 'started').length === 1 && redis.cli('ZCARD', 'bull:backlog:prioritized') === '60',
      'the backlog',
    );
    const adapted = new Promise<AdaptEvent>((resolve) => node.orchestrator.once('adapt', resolve));
    // The controllers grow only once the limit has bound in two consecutive samples.
    expect(await node.orchestrator.adapt()).toBeUndefined();
    const event = await node.orchestrator.adapt();
    expect(event).toMatchObject({ from: 1, to: 3, reason: 'queue-depth' });
    expect(event?.sample.queueDepth).toBe(60);
    await adapted;
    expect(node.concurrency).toBe(6);
    writeFileSync(join(dir, 'release'), '');
    expect(await Promise.all(runs)).toHaveLength(62);
  });
});
