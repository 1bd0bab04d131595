import { getPriority } from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidConfigError, Orchestrator, TaskFailedError } from 'node-orchestrator';
import orchestratorPlugin from 'node-orchestrator/fastify';
import { Gate } from './support/gate.js';
import { closeApps, createApp, httpTasks } from './support/fastify.js';
import { until } from './support/poll.js';

afterEach(closeApps);

describe('node-orchestrator/fastify', () => {
  it('decorates fastify.orchestrator and runs tasks for routes through request.run', async () => {
    const app = await createApp({}, (app) => {
      app.post('/echo', (request) => request.run('echo', request.body));
    });
    expect(app.orchestrator).toBeInstanceOf(Orchestrator);
    const response = await app.inject({ method: 'POST', url: '/echo', payload: { text: 'hi', n: [1, 2] } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ text: 'hi', n: [1, 2] });
    expect(await app.orchestrator.taskNames()).toContain('held');
  });

  it('sheds a submission beyond maxQueue with 503 and a Retry-After, and the window when nothing drained yet', async () => {
    const gate = new Gate();
    const app = await createApp(
      { orchestrator: { worker: httpTasks, adaptive: false, baseLimit: 1, maxLimit: 1, maxQueue: 1 } },
      (app) => app.post('/held', (request) => request.run('held', { shared: gate.shared })),
    );
    // One running per slot, then one queued: the third is shed.
    const admitted = [1, 2].map(() => app.inject({ method: 'POST', url: '/held', payload: {} }));
    await gate.waitStarted(1);
    while (app.orchestrator.queued < 1) await new Promise((resolve) => setImmediate(resolve));
    const shed = await app.inject({ method: 'POST', url: '/held', payload: {} });
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['retry-after']).toBe('5'); // no run has finished: the whole 5 s window
    expect(shed.json()).toEqual({
      statusCode: 503,
      code: 'ERR_QUEUE_FULL',
      error: 'Service Unavailable',
      message: 'The service is at capacity; retry later',
    });
    gate.release();
    for (const response of await Promise.all(admitted)) expect(response.statusCode).toBe(200);
  });

  it('sheds a request whose tenant is over its own maxQueue with 429, while other tenants are still admitted', async () => {
    const gate = new Gate();
    const orchestrator = {
      worker: httpTasks,
      adaptive: false as const,
      baseLimit: 1,
      maxLimit: 1,
      tenants: { free: { maxQueue: 1 } },
    };
    const app = await createApp({ orchestrator }, (app) =>
      app.post('/held', (request) =>
        request.run('held', { shared: gate.shared }, { tenant: String(request.headers['x-tenant']) }),
      ),
    );
    const post = (tenant: string) =>
      app.inject({ method: 'POST', url: '/held', payload: {}, headers: { 'x-tenant': tenant } });
    // free: one running, one waiting (its maxQueue); its next is shed, pro's is not.
    const admitted = [post('free'), post('free')];
    await gate.waitStarted(1);
    await until(() => app.orchestrator.tenantStats('free').waiting === 1);
    const shed = await post('free');
    expect(shed.statusCode).toBe(429);
    expect(shed.json()).toMatchObject({ statusCode: 429, code: 'ERR_QUEUE_FULL' });
    admitted.push(post('pro'));
    await until(() => app.orchestrator.tenantStats('pro').waiting === 1);
    gate.release();
    for (const response of await Promise.all(admitted)) expect(response.statusCode).toBe(200);
  });

  it('defaults maxQueue to 32 runs per slot of maxLimit, so a flood is shed', async () => {
    const gate = new Gate();
    const app = await createApp({}, (app) =>
      app.post('/held', (request) => request.run('held', { shared: gate.shared })),
    );
    const requests = Array.from({ length: 1 + 32 }, () =>
      app.inject({ method: 'POST', url: '/held', payload: {} }),
    );
    await gate.waitStarted(1);
    while (app.orchestrator.queued < 32) await new Promise((resolve) => setImmediate(resolve));
    expect((await app.inject({ method: 'POST', url: '/held', payload: {} })).statusCode).toBe(503);
    gate.release();
    expect(new Set((await Promise.all(requests)).map((r) => r.statusCode))).toEqual(new Set([200]));
  });

  it.runIf(process.platform === 'linux')(
    'runs its threads at nice 10 below the event loop by default, and at the threadNice you set',
    async () => {
      const base = getPriority(process.pid);
      const route = (app: FastifyInstance): void =>
        void app.post('/priority', (request) => request.run('priority', null));
      const byDefault = await createApp({}, route);
      expect((await byDefault.inject({ method: 'POST', url: '/priority' })).json()).toEqual({
        thread: Math.min(19, base + 10),
        main: base,
      });
      const orchestrator = {
        worker: httpTasks,
        adaptive: false as const,
        baseLimit: 1,
        maxLimit: 1,
        threadNice: 0,
      };
      const chosen = await createApp({ orchestrator }, route);
      expect((await chosen.inject({ method: 'POST', url: '/priority' })).json()).toEqual({
        thread: base,
        main: base,
      });
    },
  );

  it("answers a task's own failure with 500 and a public message; the route sees the same class with the worker's error as cause", async () => {
    let seen: unknown;
    const app = await createApp({}, (app) => {
      app.post('/leak', (request) => request.run('leak', '/etc/shadow'));
      app.post('/caught', async (request) => {
        try {
          return await request.run('leak', '/etc/shadow');
        } catch (error) {
          seen = error;
          throw error;
        }
      });
    });
    const response = await app.inject({ method: 'POST', url: '/leak', payload: {} });
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('shadow');
    expect(response.json()).toEqual({
      statusCode: 500,
      code: 'ERR_TASK_FAILED',
      error: 'Internal Server Error',
      message: 'The task failed',
    });
    await app.inject({ method: 'POST', url: '/caught', payload: {} });
    expect(seen).toBeInstanceOf(TaskFailedError);
    const error = seen as TaskFailedError & { statusCode: number; cause: TaskFailedError };
    expect(error).toMatchObject({
      code: 'ERR_TASK_FAILED',
      taskName: 'leak',
      remoteCode: 'E_SECRET',
      statusCode: 500,
    });
    expect(error.cause).toBeInstanceOf(TaskFailedError);
    expect(error.cause.message).toBe('cannot open /etc/shadow');
    expect(error.cause.stack).toContain('http-tasks.mjs');
  });

  it("sends the task's own message with exposeErrors, but never its stack", async () => {
    const app = await createApp({ exposeErrors: true }, (app) => {
      app.post('/leak', (request) => request.run('leak', '/tmp/x'));
    });
    const response = await app.inject({ method: 'POST', url: '/leak', payload: {} });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      statusCode: 500,
      code: 'ERR_TASK_FAILED',
      error: 'Internal Server Error',
      message: 'cannot open /tmp/x',
    });
  });

  it('answers a run past its timeoutMs with 504', async () => {
    const gate = new Gate();
    const app = await createApp({}, (app) => {
      app.post('/slow', (request) => request.run('held', { shared: gate.shared }, { timeoutMs: 20 }));
    });
    const response = await app.inject({ method: 'POST', url: '/slow', payload: {} });
    expect(response.statusCode).toBe(504);
    expect(response.json()).toMatchObject({ code: 'ERR_TASK_TIMEOUT', error: 'Gateway Timeout' });
  });

  it("cancels with the route's own signal too, and passes its reason through untouched", async () => {
    const gate = new Gate();
    const aborted = new Gate();
    const app = await createApp({}, (app) => {
      app.post('/mine', (request) => {
        const controller = new AbortController();
        void gate.waitStarted().then(() => controller.abort(new Error('my own reason')));
        return request.run(
          'held',
          { shared: gate.shared, aborted: aborted.shared },
          { signal: controller.signal },
        );
      });
    });
    const response = await app.inject({ method: 'POST', url: '/mine', payload: {} });
    expect(aborted.started).toBe(1);
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ message: 'my own reason' });
  });

  it('takes an orchestrator you pass and leaves it open when the server closes, unless told', async () => {
    const orchestrator = new Orchestrator({ worker: httpTasks, adaptive: false, baseLimit: 1, maxLimit: 1 });
    try {
      const app = Fastify();
      await app.register(orchestratorPlugin, { orchestrator });
      app.post('/echo', (request) => request.run('echo', request.body));
      expect(app.orchestrator).toBe(orchestrator);
      expect((await app.inject({ method: 'POST', url: '/echo', payload: [7] })).json()).toEqual([7]);
      await app.close();
      expect(orchestrator.accepting).toBe(true);
      expect(await orchestrator.run('echo', 8)).toBe(8);

      const closing = Fastify();
      await closing.register(orchestratorPlugin, { orchestrator, closeOrchestrator: true });
      await closing.close();
      expect(orchestrator.accepting).toBe(false);
    } finally {
      await orchestrator.close();
    }
  });

  it('refuses bad options with one InvalidConfigError naming each field and value', async () => {
    const app = Fastify();
    const registering = app.register(orchestratorPlugin, {
      orchestrator: { worker: httpTasks },
      exposeErrors: 'yes' as never,
      closeTimeoutMs: -1,
      routes: { metrics: 'metrics' },
    });
    const error = await registering.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).message).toBe(
      'Invalid node-orchestrator/fastify options: closeTimeoutMs must be an integer >= 0 (or Infinity), got -1; ' +
        'exposeErrors must be a boolean, got "yes"; routes.metrics must be a path starting with / or false, got "metrics"',
    );
    expect((error as InvalidConfigError).issues.map((issue) => issue.field)).toEqual([
      'closeTimeoutMs',
      'exposeErrors',
      'routes.metrics',
    ]);
    await app.close();
  });

  it("reports the orchestrator's own option errors as the orchestrator does", async () => {
    const app = Fastify();
    const error = await app
      .register(orchestratorPlugin, { orchestrator: { worker: httpTasks, minLimit: 0 } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).issues.map((issue) => issue.field)).toContain('minLimit');
    await app.close();
  });
});
