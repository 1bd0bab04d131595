import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClientDisconnectedError } from '../errors.js';
import { describe } from '../internal/validate.js';

/**
 * An AbortSignal that aborts when the HTTP client goes away before its response is sent: pass it
 * to `orchestrator.run` so that a request nobody waits for any more stops its task.
 *
 * It listens to the *response*: its `close` event before `res.end()` was called means the
 * connection dropped. The request's own `close` event is no use for this: Node emits it as soon
 * as a request body has been read, so a signal built on it (Fastify 5's `request.signal`, see
 * fastify/fastify#4690 and #6725) aborts every POST with a body while the client is still waiting.
 *
 * Contract: the signal aborts at most once, with a {@link ClientDisconnectedError} as its reason;
 * it never aborts once `res.end()` has been called (the answer is out; nothing is left to
 * cancel); it is already aborted if the connection closed before the call. It holds one `close`
 * listener on `res`, which Node removes with the response, so nothing outlives the request.
 *
 * @param req - the request (node:http's IncomingMessage: Express's `req`, Koa's `ctx.req`, Fastify's `request.raw`).
 * @param res - its response (Express's `res`, Koa's `ctx.res`, Fastify's `reply.raw`).
 * @returns a signal that aborts when the client disconnects before the response is sent.
 * @throws TypeError if `req` or `res` is not a node:http request or response.
 * @example
 * ```ts
 * app.post('/tokenize', async (req, res) => {
 *   const ids = await orchestrator.run('tokenize', req.body.text, { signal: requestSignal(req, res) });
 *   res.json({ ids });
 * });
 * ```
 */
export function requestSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  return clientController(req, res).signal;
}

/**
 * {@link requestSignal}'s controller: the Fastify plugin aborts the same one at shutdown, so a
 * request costs one controller whatever ends its runs.
 * @internal
 */
export function clientController(req: IncomingMessage, res: ServerResponse): AbortController {
  if (typeof req !== 'object' || (req as unknown) === null || typeof req.on !== 'function') {
    throw new TypeError(`req must be a node:http IncomingMessage, got ${describe(req)}`);
  }
  if (typeof res !== 'object' || (res as unknown) === null || typeof res.once !== 'function') {
    throw new TypeError(`res must be a node:http ServerResponse, got ${describe(res)}`);
  }
  const controller = new AbortController();
  if (res.writableEnded) return controller;
  const disconnected = (): void => {
    if (!res.writableEnded && !controller.signal.aborted) {
      const where = `${req.method ?? 'request'} ${(req.url ?? '').split('?', 1)[0] ?? ''}`.trim();
      controller.abort(
        new ClientDisconnectedError(`The client of ${where} disconnected before the response`),
      );
    }
  };
  // A response whose connection has already closed will not emit `close` again.
  if (res.destroyed || res.closed) disconnected();
  else res.once('close', disconnected);
  return controller;
}
