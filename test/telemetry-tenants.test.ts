import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { serveMetrics, type DashboardFrame } from 'node-orchestrator';
import { Gate } from './support/gate.js';
import { closeServer, get } from './support/http.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { sampleSum, samples } from './support/probe.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
  await closeAll();
});

const PER_TASK = [
  'orchestrator_tasks_total',
  'orchestrator_task_errors_total',
  'orchestrator_task_duration_seconds',
  'orchestrator_task_wait_seconds',
];

describe('the tenant label (#13)', () => {
  it('is on every per-task family, bounded to the listed tenants, default and other', async () => {
    const orchestrator = createOrchestrator({ tenants: { acme: {}, '*': { weight: 2 } } });
    const runs = [
      orchestrator.run('echo', 1, { tenant: 'acme' }),
      orchestrator.run('echo', 2, { tenant: 'acme' }),
      orchestrator.run('echo', 3),
      orchestrator.run('fail', 'x', { tenant: 'acme' }),
      // A hundred tenants nobody listed: one series between them.
      ...Array.from({ length: 100 }, (_, i) => orchestrator.run('echo', i, { tenant: `user-${i}` })),
    ];
    await Promise.allSettled(runs);
    const registry = orchestrator.registry!;
    const tasks = (tenant: string, task = 'echo'): Promise<number> =>
      sampleSum(registry, 'orchestrator_tasks_total', { task, tenant, outcome: 'success' });
    expect(await tasks('acme')).toBe(2);
    expect(await tasks('default')).toBe(1);
    expect(await tasks('other')).toBe(100);
    expect(
      await sampleSum(registry, 'orchestrator_task_errors_total', { task: 'fail', tenant: 'acme' }),
    ).toBe(1);
    for (const name of PER_TASK) {
      const values = new Set((await samples(registry, name)).map((s) => s.labels['tenant']));
      expect(values.size).toBeGreaterThan(0);
      for (const value of values) expect(['acme', 'default', 'other']).toContain(value);
    }
    expect(await sampleSum(registry, 'orchestrator_tenant_starts_total', { tenant: 'other' })).toBe(100);
    expect(await sampleSum(registry, 'orchestrator_tenant_starts_total', { tenant: 'acme' })).toBe(3);
  });

  it('items of a map and coalesced runs carry their tenant too', async () => {
    const orchestrator = createOrchestrator({
      tenants: { acme: {} },
      batch: { maxSize: 8, maxDelayMs: 0, maxBatchMs: Infinity },
    });
    for await (const record of orchestrator.map('echo', [1, 2, 3], { tenant: 'acme' }))
      expect(record.ok).toBe(true);
    await Promise.all([1, 2].map((n) => orchestrator.run('echo', n, { tenant: 'acme' })));
    expect(
      await sampleSum(orchestrator.registry!, 'orchestrator_tasks_total', {
        task: 'echo',
        tenant: 'acme',
        outcome: 'success',
      }),
    ).toBe(5);
  });

  it('pipeline items count for the pipeline’s tenant at every stage they reach; a cached run’s miss for its caller’s', async () => {
    const orchestrator = createOrchestrator({ tenants: { acme: {} }, cache: { tasks: ['echo'] } });
    const records: number[] = [];
    for await (const record of orchestrator
      .pipeline([1, 2, 3], { tenant: 'acme' })
      .map('times2')
      .map('times2'))
      records.push(record.ok ? (record.value as number) : Number.NaN);
    expect(records.sort((a, b) => a - b)).toEqual([4, 8, 12]);
    const registry = orchestrator.registry!;
    const tasks = (task: string, tenant: string): Promise<number> =>
      sampleSum(registry, 'orchestrator_tasks_total', { task, tenant, outcome: 'success' });
    // Fused: each item is counted under both stages, for acme only.
    expect(await tasks('times2', 'acme')).toBe(6);
    expect(await tasks('times2', 'default')).toBe(0);
    const starts = await sampleSum(registry, 'orchestrator_tenant_starts_total', { tenant: 'acme' });
    expect(starts).toBeGreaterThanOrEqual(1);
    // Two callers of one key: one run, started for the first caller's tenant; the second joins it.
    await Promise.all([
      orchestrator.run('echo', 'same', { tenant: 'acme' }),
      orchestrator.run('echo', 'same', { tenant: 'zeta' }),
    ]);
    expect(await tasks('echo', 'acme')).toBe(1);
    expect(await tasks('echo', 'other')).toBe(0);
    expect(await sampleSum(registry, 'orchestrator_tenant_starts_total', { tenant: 'acme' })).toBe(
      starts + 1,
    );
  });

  it('is absent without the tenants option, so existing series keep their labels', async () => {
    const orchestrator = createOrchestrator();
    await orchestrator.run('echo', 1, { tenant: 'acme' });
    for (const name of PER_TASK) {
      for (const sample of await samples(orchestrator.registry!, name))
        expect(sample.labels).not.toHaveProperty('tenant');
    }
    expect(await samples(orchestrator.registry!, 'orchestrator_tenant_queue_depth')).toEqual([]);
  });

  it('tenant gauges say how many of each tenant’s runs wait and run', async () => {
    const orchestrator = createOrchestrator({ baseLimit: 1, maxLimit: 1, tenants: { acme: {} } });
    const gate = new Gate();
    const runs = [0, 1, 2].map(() => orchestrator.run('gate', { shared: gate.shared }, { tenant: 'acme' }));
    await gate.waitStarted(1);
    const registry = orchestrator.registry!;
    expect(await sampleSum(registry, 'orchestrator_tenant_running', { tenant: 'acme' })).toBe(1);
    expect(await sampleSum(registry, 'orchestrator_tenant_queue_depth', { tenant: 'acme' })).toBe(2);
    expect(await sampleSum(registry, 'orchestrator_tenant_queue_depth', { tenant: 'other' })).toBe(0);
    gate.release();
    await Promise.all(runs);
    expect(await sampleSum(registry, 'orchestrator_tenant_queue_depth', { tenant: 'acme' })).toBe(0);
  });

  it('shows as a "tenant" breakdown on the dashboard', async () => {
    const orchestrator = createOrchestrator({ tenants: { acme: {} } });
    await Promise.all([orchestrator.run('echo', 1, { tenant: 'acme' }), orchestrator.run('echo', 2)]);
    const server = await serveMetrics({ registry: orchestrator.registry!, port: 0 });
    servers.push(server);
    const response = await get(server, '/dashboard/data');
    const frame = JSON.parse(response.body) as DashboardFrame;
    const rows = frame.orchestrator?.breakdowns['tenant'] ?? [];
    expect(rows.map((row) => row.key)).toEqual(['acme', 'default']);
    expect(rows.map((row) => row.total.outcomes['success'])).toEqual([1, 1]);
  });
});
