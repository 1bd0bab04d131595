import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry, Counter } from 'prom-client';
import { createMetricsHandler, serveMetrics } from 'node-orchestrator';
import { closeServer, get, sample } from './support/http.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
  await closeAll();
});

async function serve(options: Parameters<typeof serveMetrics>[0]): Promise<Server> {
  const server = await serveMetrics({ port: 0, ...options });
  servers.push(server);
  return server;
}

const OPENMETRICS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('metrics HTTP endpoint', () => {
  it('serves the Prometheus text format at /metrics on a free loopback port', async () => {
    const orchestrator = createOrchestrator();
    await orchestrator.run('echo', 1);
    const server = await serve({ registry: orchestrator.registry! });
    expect(server.address()).toMatchObject({ address: '127.0.0.1' });
    const response = await get(server, '/metrics');
    expect(response.status).toBe(200);
    expect(response.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sample(response.body, 'orchestrator_tasks_total{task="echo",outcome="success"}')).toBe(1);
    expect(response.body).not.toContain('# EOF');
  });

  it('serves OpenMetrics ending in # EOF when Accept asks for it, and text again afterwards', async () => {
    const registry = new Registry();
    const counter = new Counter({
      name: 'user_jobs_total',
      help: 'A user counter on the same registry.',
      registers: [registry],
    });
    counter.inc(3);
    const orchestrator = createOrchestrator({ registry });
    await orchestrator.run('echo', 1);
    const server = await serve({ registry });
    const open = await get(server, '/metrics', { headers: { accept: OPENMETRICS_ACCEPT } });
    expect(open.type).toMatch(/^application\/openmetrics-text/);
    expect(open.body.endsWith('# EOF\n')).toBe(true);
    expect(open.body).toContain('# TYPE orchestrator_tasks counter');
    expect(open.body).toContain('orchestrator_tasks_total{task="echo",outcome="success"} 1');
    expect(open.body).toContain('# TYPE user_jobs counter');
    // prom-client renames counters in place when *it* renders OpenMetrics; ours must not.
    for (let i = 0; i < 2; i++) {
      const text = await get(server, '/metrics');
      expect(text.body).toContain('# TYPE orchestrator_tasks_total counter');
      expect(sample(text.body, 'orchestrator_tasks_total{task="echo",outcome="success"}')).toBe(1);
      expect(sample(text.body, 'user_jobs_total')).toBe(3);
    }
    expect(await registry.metrics()).toContain('user_jobs_total 3');
  });

  it('answers /healthz, /readyz by the orchestrator, 404 for other paths and 405 for other methods', async () => {
    const orchestrator = createOrchestrator();
    const server = await serve({ registry: orchestrator.registry!, ready: orchestrator });
    expect((await get(server, '/healthz')).status).toBe(200);
    expect((await get(server, '/readyz')).status).toBe(200);
    expect((await get(server, '/nope')).status).toBe(404);
    const post = await get(server, '/metrics', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.allow).toBe('GET, HEAD');
    const head = await get(server, '/metrics', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const closing = orchestrator.close();
    expect((await get(server, '/readyz')).status).toBe(503);
    await closing;
    expect((await get(server, '/readyz')).status).toBe(503);
    expect((await get(server, '/healthz')).status).toBe(200);
  });

  it('takes a ready function, and is 200 without one', async () => {
    let ready = false;
    const registry = new Registry();
    const withFn = await serve({ registry, ready: () => ready });
    expect((await get(withFn, '/readyz')).status).toBe(503);
    ready = true;
    expect((await get(withFn, '/readyz')).status).toBe(200);
    const without = await serve({ registry });
    expect((await get(without, '/readyz')).status).toBe(200);
  });

  it('the handler works on a server of the user’s own, and bad options are named', async () => {
    const { createServer } = await import('node:http');
    const registry = new Registry();
    const server = createServer(createMetricsHandler({ registry }));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    expect((await get(server, '/healthz')).status).toBe(200);
    expect(() => createMetricsHandler({ registry: {} as never })).toThrow(
      /registry must be a prom-client Registry/,
    );
    await expect(serveMetrics({ registry, port: 70000 })).rejects.toThrow(
      /port must be an integer in \[0, 65535\], got 70000/,
    );
  });
});
