import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { clientController } from '../http/request-signal.js';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import type { RunOptions, TaskInput, TaskMap, TaskName, TaskOutput } from '../orchestrator/task-types.js';
import { resolvePluginOptions, type OrchestratorPluginOptions } from './options.js';
import { loadFastifyPlugin } from './peer.js';
import { RequestRuns } from './request-runs.js';
import { registerRoutes } from './routes.js';

/**
 * Augment this interface to type `request.run` and `fastify.orchestrator` by your worker module:
 *
 * ```ts
 * declare module 'node-orchestrator/fastify' {
 *   interface FastifyOrchestratorTasks {
 *     tasks: typeof import('./tasks.js');
 *   }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- empty until a user augments it
export interface FastifyOrchestratorTasks {}

/** The task map `request.run` is typed by: the augmented `tasks`, or any task name. */
export type RegisteredTasks = FastifyOrchestratorTasks extends { tasks: infer M extends TaskMap }
  ? M
  : TaskMap;

/** `request.run`: `orchestrator.run` with the request's client-disconnect signal. */
export type RequestRun<M extends TaskMap = RegisteredTasks> = <K extends TaskName<M>>(
  task: K,
  input: TaskInput<M, K>,
  options?: RunOptions,
) => Promise<TaskOutput<M, K>>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Refuse this route's requests with 503 before their body is read while the orchestrator
     * is full. @default true once the route has called `request.run` (with the plugin's
     * `shedEarly` on); false for a route that may answer without a run (e.g. from a cache)
     */
    shedEarly?: boolean | undefined;
  }
  interface FastifyInstance {
    /** The orchestrator of the `node-orchestrator/fastify` plugin. */
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-arguments -- TaskMap only until a user augments FastifyOrchestratorTasks
    orchestrator: Orchestrator<RegisteredTasks>;
  }
  interface FastifyRequest {
    /**
     * Runs a task for this request: `orchestrator.run(task, input, options)`, cancelled when
     * the client disconnects before the response is sent, when `options.signal` aborts, or when
     * the server closes and `closeTimeoutMs` has passed. It rejects with the library's errors
     * carrying `statusCode` and `headers` (503 + Retry-After, 504, 500…), so Fastify's error
     * handler answers them; see the README's table.
     */
    run: RequestRun;
  }
}

const kResponse = Symbol('node-orchestrator.response');
const kClient = Symbol('node-orchestrator.client');

interface PluginRequest extends FastifyRequest {
  [kResponse]: ServerResponse | null;
  [kClient]: AbortController | null;
}

const plugin: FastifyPluginAsync<OrchestratorPluginOptions> = async (fastify, options) => {
  const settings = resolvePluginOptions(options);
  const orchestrator = settings.create === undefined ? settings.given : new Orchestrator(settings.create);
  try {
    const runs = new RequestRuns(orchestrator, settings);
    // The routes (by their config object, one per route) whose handler has called request.run.
    const running = new WeakSet<object>();
    const shedsEarly = (request: FastifyRequest): boolean => {
      const config = request.routeOptions.config;
      return config.shedEarly ?? (settings.shedEarly && running.has(config));
    };
    fastify.decorate('orchestrator', orchestrator);
    fastify.decorateRequest(kResponse, null);
    fastify.decorateRequest(kClient, null);
    fastify.decorateRequest('run', function run(this: PluginRequest, task, input, runOptions) {
      // One controller per request, made on its first run: requests that run nothing pay nothing.
      this[kClient] ??= clientController(this.raw, this[kResponse] ?? missingResponse());
      if (settings.shedEarly) running.add(this.routeOptions.config);
      return runs.run(this[kClient], task, input, runOptions) as Promise<never>;
    } satisfies RequestRun as RequestRun);
    // request.run needs the response: only its `close` says that the client went away.
    // While the orchestrator is full, a route that runs tasks is refused here, before its body
    // is read and parsed: under overload a 503 costs the event loop as little as possible. The
    // refusal is sent, not passed to the error handler, which would log each one as an error
    // (with a logger on, that logging was most of the event loop's work in a flood).
    fastify.addHook('onRequest', (request, reply, done) => {
      (request as PluginRequest)[kResponse] = reply.raw;
      if (!(orchestrator.full && shedsEarly(request))) {
        done();
        return;
      }
      const { statusCode, headers, body } = runs.refusal();
      void reply.code(statusCode).headers(headers).send(body);
    });
    // Requests accepted before the close must not keep their keep-alive sockets (and so the
    // server) open once answered: Fastify only says so to requests that arrive while closing.
    fastify.addHook('onSend', (request, reply, payload, done) => {
      if (!runs.accepting && request.raw.httpVersionMajor < 2) void reply.header('connection', 'close');
      done(null, payload);
    });
    // preClose runs before the server stops listening: from here request.run refuses work, and
    // accepted work gets closeTimeoutMs. Not awaited, so the listening socket closes at once;
    // onClose runs after the last connection ended and waits for the orchestrator.
    fastify.addHook('preClose', (done) => {
      // A failure surfaces from onClose, which awaits the same promise.
      runs.close().catch(() => undefined);
      done();
    });
    fastify.addHook('onClose', async () => {
      await runs.close();
    });
    registerRoutes(fastify, orchestrator, runs, settings.routes);
  } catch (error) {
    if (settings.create !== undefined) await orchestrator.close();
    throw error;
  }
};

function missingResponse(): never {
  throw new Error("request.run was called on a request that did not pass the plugin's onRequest hook");
}

const fastifyPlugin = await loadFastifyPlugin();

/**
 * The Fastify plugin: one orchestrator per server, `request.run` with client-disconnect
 * cancellation, errors mapped to HTTP answers, `/metrics`, `/healthz` and `/readyz`, and a
 * shutdown that stops the orchestrator with the server. Made with fastify-plugin, so the
 * decorations are visible to the whole server.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import orchestratorPlugin from 'node-orchestrator/fastify';
 *
 * const app = Fastify();
 * await app.register(orchestratorPlugin, { orchestrator: { worker: new URL('./tasks.js', import.meta.url) } });
 * app.post('/tokenize', (request) => request.run('tokenize', request.body));
 * ```
 */
export const orchestratorPlugin = fastifyPlugin(plugin, { fastify: '5.x', name: 'node-orchestrator' });
