import { once } from 'node:events';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { OrchestratorPluginOptions } from 'node-orchestrator/fastify';
import { Gate } from './support/gate.js';
import { closeApps, createApp, httpTasks, listen } from './support/fastify.js';
import { until } from './support/poll.js';

afterEach(closeApps);

/** One slot, no queue: one held run makes the orchestrator full. */
const FULL_AFTER_ONE = {
  worker: httpTasks,
  adaptive: false,
  baseLimit: 1,
  maxLimit: 1,
  maxQueue: 0,
} as const;

/**
 * A server whose `/held` runs a task held on `gate`, `/late` runs `echo` and `/plain` runs
 * nothing; `handled` counts the requests each route's handler saw (so, whose body was parsed).
 */
async function fullApp(options: Partial<OrchestratorPluginOptions> = {}, server: FastifyServerOptions = {}) {
  const gate = new Gate();
  const handled = { held: 0, late: 0, optOut: 0, optIn: 0, plain: 0 };
  const app = await createApp(
    { orchestrator: FULL_AFTER_ONE, ...options },
    (app) => {
      app.post('/held', (request) => {
        handled.held++;
        return request.run('held', { shared: gate.shared });
      });
      app.post('/late', (request) => {
        handled.late++;
        return request.run('echo', request.body);
      });
      app.post('/opt-out', { config: { shedEarly: false } }, (request) => {
        handled.optOut++;
        return request.run('echo', request.body);
      });
      app.post('/opt-in', { config: { shedEarly: true } }, (request) => {
        handled.optIn++;
        return request.run('echo', request.body);
      });
      app.post('/plain', (request) => {
        handled.plain++;
        return request.body;
      });
    },
    server,
  );
  return { app, gate, handled };
}

/** Makes the orchestrator full with a held run; `drained` resolves its status code. */
async function fill(app: FastifyInstance, gate: Gate): Promise<{ drained: Promise<number[]> }> {
  const held = [app.inject({ method: 'POST', url: '/held', payload: {} })];
  await gate.waitStarted(1);
  await until(() => app.orchestrator.full);
  return { drained: Promise.all(held).then((responses) => responses.map((r) => r.statusCode)) };
}

const post = (app: FastifyInstance, url: string) => app.inject({ method: 'POST', url, payload: { n: 1 } });

describe('node-orchestrator/fastify: shedding before the body is read', () => {
  it('answers 503 with Retry-After before the body arrives, and the connection stays usable', async () => {
    const { app, gate } = await fullApp();
    const port = await listen(app);
    const { drained } = await fill(app, gate); // /held has run a task: it sheds early from now on
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = JSON.stringify({ text: 'sent only after the answer' });
      const request = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/held',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      });
      request.flushHeaders(); // the headers only: the server cannot have read or parsed a body
      const response = await new Promise<IncomingMessage>((resolve) => request.once('response', resolve));
      const text = await readAll(response);
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('5'); // nothing drained yet: the whole window
      expect(JSON.parse(text)).toEqual({
        statusCode: 503,
        code: 'ERR_QUEUE_FULL',
        error: 'Service Unavailable',
        message: 'The service is at capacity; retry later',
      });
      // The unread body is discarded and the socket goes back to the agent for the next request.
      const freed = once(agent, 'free');
      request.end(body);
      await freed;
      const next = httpRequest({ host: '127.0.0.1', port, path: '/healthz', agent });
      next.end();
      const health = await new Promise<IncomingMessage>((resolve) => next.once('response', resolve));
      expect([health.statusCode, await readAll(health), next.reusedSocket]).toEqual([
        200,
        '{"status":"ok"}',
        true,
      ]);
    } finally {
      agent.destroy();
    }
    gate.release();
    expect(await drained).toEqual([200]);
  });

  it('lets a route through until it has run a task, and routes that run none (its own, 404s) always', async () => {
    const { app, gate, handled } = await fullApp();
    const { drained } = await fill(app, gate);
    // /late never ran: its body is parsed and its run is shed by the orchestrator itself.
    const first = await post(app, '/late');
    expect([first.statusCode, first.json<{ code: string }>().code, handled.late]).toEqual([
      503,
      'ERR_QUEUE_FULL',
      1,
    ]);
    // Now it has called request.run: refused before its handler.
    const second = await post(app, '/late');
    expect([second.statusCode, second.json<{ code: string }>().code, handled.late]).toEqual([
      503,
      'ERR_QUEUE_FULL',
      1,
    ]);
    expect(second.headers['retry-after']).toBe(first.headers['retry-after']);
    const plain = await post(app, '/plain');
    expect([plain.statusCode, handled.plain]).toEqual([200, 1]);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/nowhere', payload: {} })).statusCode).toBe(404);
    gate.release();
    expect(await drained).toEqual([200]);
    // Not full any more: the same route runs again.
    expect((await post(app, '/late')).json()).toEqual({ n: 1 });
    expect(handled.late).toBe(2);
  });

  it("follows a route's config.shedEarly either way", async () => {
    const { app, gate, handled } = await fullApp();
    expect((await post(app, '/opt-out')).statusCode).toBe(200); // it has run a task
    const { drained } = await fill(app, gate);
    expect((await post(app, '/opt-out')).statusCode).toBe(503);
    expect(handled.optOut).toBe(2); // shed by the run, after its handler
    expect((await post(app, '/opt-in')).statusCode).toBe(503);
    expect(handled.optIn).toBe(0); // never ran, refused before its handler
    gate.release();
    expect(await drained).toEqual([200]);
  });

  it('with shedEarly: false, every request reaches its handler and the run is shed there', async () => {
    const { app, gate, handled } = await fullApp({ shedEarly: false });
    const { drained } = await fill(app, gate);
    expect((await post(app, '/held')).statusCode).toBe(503);
    expect(handled.held).toBe(2);
    gate.release();
    expect(await drained).toEqual([200]);
  });

  it('logs no error line per refusal: with a logger, an early 503 is logged as a response, at info', async () => {
    const lines: { level: number; msg: string; res?: { statusCode: number } }[] = [];
    const stream = { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) };
    const { app, gate } = await fullApp({}, { logger: { level: 'info', stream } });
    const { drained } = await fill(app, gate);
    const refused = await Promise.all([1, 2, 3].map(() => post(app, '/held')));
    expect(refused.map((r) => [r.statusCode, r.json<{ code: string }>().code])).toEqual(
      Array(3).fill([503, 'ERR_QUEUE_FULL']),
    );
    gate.release();
    expect(await drained).toEqual([200]);
    const completed = lines.filter(
      (line) => line.msg === 'request completed' && line.res?.statusCode === 503,
    );
    expect(completed).toHaveLength(3);
    expect(lines.filter((line) => line.level >= 40)).toEqual([]); // no warn, no error
  });

  it('refuses a shedEarly that is not a boolean, naming it', async () => {
    await expect(createApp({ shedEarly: 'yes' as never })).rejects.toThrow(
      'Invalid node-orchestrator/fastify options: shedEarly must be a boolean, got "yes"',
    );
  });
});

function readAll(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (text += chunk));
    response.once('end', () => resolve(text));
    response.once('error', reject);
  });
}
