import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientDisconnectedError, requestSignal } from 'node-orchestrator';
import { deferred } from './support/deferred.js';
import { Gate } from './support/gate.js';
import { closeServer } from './support/http.js';
import { send } from './support/http-client.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

const httpTasks = new URL('./fixtures/http-tasks.mjs', import.meta.url);
const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) server.closeAllConnections();
  await Promise.all(servers.map(closeServer));
  await closeAll();
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

describe('requestSignal(req, res) on node:http', () => {
  it('aborts the running task when the client disconnects mid-run, and the worker sees ctx.signal', async () => {
    const orchestrator = createOrchestrator({ worker: httpTasks });
    const started = new Gate();
    const aborted = new Gate();
    const outcome = deferred<unknown>();
    const port = await listen((req, res) => {
      const signal = requestSignal(req, res);
      void readBody(req).then(() =>
        orchestrator.run('held', { shared: started.shared, aborted: aborted.shared }, { signal }).then(
          () => outcome.resolve('finished'),
          (error: unknown) => outcome.resolve(error),
        ),
      );
    });
    const { request, answer } = send(port, 'POST', '/work', { text: 'a body the server reads first' });
    answer.catch(() => undefined);
    await Promise.race([started.waitStarted(), outcome.promise]);
    expect(started.started).toBe(1); // not cancelled before the client left
    request.destroy();
    await aborted.waitStarted(); // the worker's ctx.signal fired
    const error = await outcome.promise;
    expect(error).toBeInstanceOf(ClientDisconnectedError);
    expect((error as ClientDisconnectedError).code).toBe('ERR_CLIENT_DISCONNECTED');
    expect((error as Error).message).toContain('POST /work');
  });

  it("stays quiet after the request body was read and the request's own 'close' fired", async () => {
    // Node emits 'close' on a request once its body is read, long before the client leaves:
    // a signal built on it (Fastify 5's request.signal) would cancel every POST with a body.
    const orchestrator = createOrchestrator({ worker: httpTasks });
    const seen = deferred<{ requestClosed: boolean; aborted: boolean }>();
    const port = await listen((req, res) => {
      const signal = requestSignal(req, res);
      const closing = once(req, 'close').then(() => true);
      void (async () => {
        const body = await readBody(req);
        const requestClosed = await closing;
        const value = await orchestrator
          .run('echo', body, { signal })
          .catch((error: unknown) => `rejected with ${String((error as { code?: unknown }).code)}`);
        seen.resolve({ requestClosed, aborted: signal.aborted });
        res.end(String(value));
      })();
    });
    const { answer } = send(port, 'POST', '/echo', { text: 'hello' });
    expect(await answer).toMatchObject({ status: 200, body: '{"text":"hello"}' });
    expect(await seen.promise).toEqual({ requestClosed: true, aborted: false });
  });

  it('never aborts once the response has been ended, even when the connection then drops', async () => {
    const signals = deferred<AbortSignal>();
    const port = await listen((req, res) => {
      const signal = requestSignal(req, res);
      res.end('done', () => {
        req.socket.destroy();
        void once(res, 'close').then(() => signals.resolve(signal));
      });
    });
    const { answer } = send(port, 'GET', '/');
    await answer.catch(() => undefined);
    expect((await signals.promise).aborted).toBe(false);
  });

  it('is already aborted when the connection closed before it was asked for', async () => {
    const signals = deferred<AbortSignal>();
    const port = await listen((req, res) => {
      req.socket.destroy();
      void once(res, 'close').then(() => signals.resolve(requestSignal(req, res)));
    });
    const { answer } = send(port, 'GET', '/gone');
    await answer.catch(() => undefined);
    const signal = await signals.promise;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(ClientDisconnectedError);
  });

  it('names the argument and the value it got when given something else', () => {
    expect(() => requestSignal(undefined as never, undefined as never)).toThrow(
      'req must be a node:http IncomingMessage, got undefined',
    );
    expect(() => requestSignal({ on: () => undefined } as never, 'res' as never)).toThrow(
      'res must be a node:http ServerResponse, got "res"',
    );
  });
});
