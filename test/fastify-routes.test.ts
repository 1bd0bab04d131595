import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import orchestratorPlugin from 'node-orchestrator/fastify';
import { Gate } from './support/gate.js';
import { closeApps, createApp, httpTasks } from './support/fastify.js';
import { sample } from './support/http.js';

afterEach(closeApps);

const OPENMETRICS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('the plugin’s /metrics, /healthz and /readyz routes', () => {
  it('serves Prometheus text, OpenMetrics by the Accept header, and text again afterwards', async () => {
    const app = await createApp({}, (app) => app.post('/echo', (request) => request.run('echo', 1)));
    await app.inject({ method: 'POST', url: '/echo' });
    const text = await app.inject('/metrics');
    expect(text.statusCode).toBe(200);
    expect(text.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sample(text.body, 'orchestrator_tasks_total{task="echo",outcome="success"}')).toBe(1);
    const open = await app.inject({ url: '/metrics', headers: { accept: OPENMETRICS_ACCEPT } });
    expect(open.headers['content-type']).toMatch(/^application\/openmetrics-text; version=1.0.0/);
    expect(open.body.endsWith('# EOF\n')).toBe(true);
    expect(open.body).toContain('# TYPE orchestrator_tasks counter');
    const again = await app.inject('/metrics');
    expect(again.body).toContain('# TYPE orchestrator_tasks_total counter');
    expect(sample(again.body, 'orchestrator_tasks_total{task="echo",outcome="success"}')).toBe(1);
  });

  it('answers /healthz, and HEAD like GET', async () => {
    const app = await createApp();
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const head = await app.inject({ method: 'HEAD', url: '/metrics' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
  });

  it('is not ready while more runs wait than the watermark, and ready again once they drain', async () => {
    const gate = new Gate();
    const app = await createApp({ readyQueueWatermark: 1 }, (app) =>
      app.post('/held', (request) => request.run('held', { shared: gate.shared })),
    );
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready' });
    const runs = [1, 2, 3].map(() => app.inject({ method: 'POST', url: '/held' }));
    await gate.waitStarted(1);
    while (app.orchestrator.queued < 2) await new Promise((resolve) => setImmediate(resolve));
    const busy = await app.inject('/readyz');
    expect(busy.statusCode).toBe(503);
    expect(busy.json()).toEqual({
      status: 'not ready',
      reason: '2 runs wait for a slot, above the watermark of 1',
    });
    gate.release();
    await Promise.all(runs);
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });

  it('puts the routes under routes.prefix and under the prefix of the scope it is registered in', async () => {
    const app = Fastify();
    await app.register(
      async (api) => {
        await api.register(orchestratorPlugin, {
          orchestrator: { worker: httpTasks, adaptive: false, baseLimit: 1, maxLimit: 1 },
          routes: { prefix: '/ops', readyz: '/ready' },
        });
      },
      { prefix: '/api' },
    );
    try {
      expect((await app.inject('/api/ops/metrics')).statusCode).toBe(200);
      expect((await app.inject('/api/ops/healthz')).statusCode).toBe(200);
      expect((await app.inject('/api/ops/ready')).statusCode).toBe(200);
      expect((await app.inject('/metrics')).statusCode).toBe(404);
      expect((await app.inject('/api/ops/readyz')).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('serves no route that was turned off, and no /metrics without telemetry', async () => {
    const none = await createApp({ routes: false });
    for (const url of ['/metrics', '/healthz', '/readyz'])
      expect((await none.inject(url)).statusCode).toBe(404);
    const quiet = await createApp({
      orchestrator: { worker: httpTasks, adaptive: false, baseLimit: 1, maxLimit: 1, telemetry: false },
      routes: { healthz: false },
    });
    expect((await quiet.inject('/metrics')).statusCode).toBe(404);
    expect((await quiet.inject('/healthz')).statusCode).toBe(404);
    expect((await quiet.inject('/readyz')).statusCode).toBe(200);
  });
});
