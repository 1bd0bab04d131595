import Fastify from 'fastify';
import { Agent } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Orchestrator } from 'node-orchestrator';
import orchestratorPlugin from 'node-orchestrator/fastify';
import { deferred } from './support/deferred.js';
import { Gate } from './support/gate.js';
import { closeApps, createApp, httpTasks, listen } from './support/fastify.js';
import { send } from './support/http-client.js';

afterEach(closeApps);

/** Resolves when the promise settles; says whether it had by the time the caller looked. */
function track(promise: Promise<unknown>): { readonly settled: boolean } {
  const state = { settled: false };
  void promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

describe('closing a server that runs the plugin', () => {
  it('lets accepted work finish, answers it on a keep-alive socket, and then stops the server and the orchestrator', async () => {
    const gate = new Gate();
    const app = await createApp({}, (app) =>
      app.post('/held', (request) => request.run('held', { shared: gate.shared, value: 'done' })),
    );
    const port = await listen(app);
    const agent = new Agent({ keepAlive: true });
    try {
      const { answer } = send(port, 'POST', '/held', {}, { agent });
      await gate.waitStarted();
      const closing = app.close();
      const closed = track(closing);
      while (app.orchestrator.accepting) await new Promise((resolve) => setImmediate(resolve));
      expect(closed.settled).toBe(false);
      gate.release();
      const response = await answer;
      expect(response).toMatchObject({ status: 200, body: 'done' });
      // Without `connection: close` the idle keep-alive socket would hold the server open.
      expect(response.headers.connection).toBe('close');
      await closing;
      expect(app.orchestrator.accepting).toBe(false);
      expect(app.orchestrator.threads).toBe(0);
    } finally {
      agent.destroy();
    }
  });

  it('is not ready from the moment the close begins, while the server still listens', async () => {
    const hold = deferred();
    // With return503OnClosing off Fastify routes requests while closing: /readyz must say so itself.
    const app = await createApp({}, (app) => app.addHook('preClose', () => hold.promise), {
      return503OnClosing: false,
    });
    const port = await listen(app);
    expect((await send(port, 'GET', '/readyz').answer).status).toBe(200);
    const closing = app.close();
    while (app.orchestrator.accepting) await new Promise((resolve) => setImmediate(resolve));
    const during = await send(port, 'GET', '/readyz').answer;
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body)).toEqual({ status: 'not ready', reason: 'closing' });
    hold.resolve();
    await closing;
  });

  it('cancels work that outlives closeTimeoutMs, answers it 503, and stops', async () => {
    const gate = new Gate();
    const aborted = new Gate();
    const app = await createApp({ closeTimeoutMs: 50 }, (app) =>
      app.post('/held', (request) => request.run('held', { shared: gate.shared, aborted: aborted.shared })),
    );
    const port = await listen(app);
    const { answer } = send(port, 'POST', '/held', {});
    await gate.waitStarted();
    await app.close();
    expect(aborted.started).toBe(1);
    const response = await answer;
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'ERR_ABORTED', error: 'Service Unavailable' });
  });

  it('refuses a run a handler starts after the close began with 503', async () => {
    const gate = new Gate();
    const closeBegan = deferred();
    const app = await createApp({}, (app) =>
      app.post('/twice', async (request) => {
        await request.run('held', { shared: gate.shared });
        await closeBegan.promise;
        return request.run('echo', 'second');
      }),
    );
    const port = await listen(app);
    const { answer } = send(port, 'POST', '/twice', {});
    await gate.waitStarted();
    const closing = app.close();
    closeBegan.resolve();
    gate.release();
    const response = await answer;
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body)).toMatchObject({
      code: 'ERR_CLOSED',
      message: 'The service is shutting down',
    });
    await closing;
  });

  it('with an orchestrator you pass, cancels only its own runs after closeTimeoutMs and leaves the orchestrator open', async () => {
    const orchestrator = new Orchestrator({ worker: httpTasks, adaptive: false, baseLimit: 2, maxLimit: 2 });
    const gate = new Gate();
    const other = new Gate();
    try {
      const app = Fastify();
      await app.register(orchestratorPlugin, { orchestrator, closeTimeoutMs: 50 });
      app.post('/held', (request) => request.run('held', { shared: gate.shared }));
      const port = await listen(app);
      const elsewhere = orchestrator.run('held', { shared: other.shared, value: 'not the server’s' });
      const { answer } = send(port, 'POST', '/held', {});
      await gate.waitStarted();
      await other.waitStarted();
      await app.close();
      expect((await answer).status).toBe(503);
      expect(orchestrator.accepting).toBe(true);
      other.release();
      expect(await elsewhere).toBe('not the server’s');
    } finally {
      await orchestrator.close();
    }
  });
});
