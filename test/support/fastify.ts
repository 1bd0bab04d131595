import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { AddressInfo } from 'node:net';
import orchestratorPlugin, { type OrchestratorPluginOptions } from 'node-orchestrator/fastify';

/** The worker module of the HTTP tests. */
export const httpTasks = new URL('../fixtures/http-tasks.mjs', import.meta.url);

const apps = new Set<FastifyInstance>();

/**
 * A Fastify server with the plugin on the HTTP fixture worker (adaptation off, so the limit
 * stays where a test puts it); `closeApps` closes it after the test.
 */
export async function createApp(
  options: Partial<OrchestratorPluginOptions> = {},
  routes: (app: FastifyInstance) => void = () => undefined,
  server: FastifyServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify(server);
  apps.add(app);
  await app.register(orchestratorPlugin, {
    orchestrator: { worker: httpTasks, adaptive: false, baseLimit: 1, maxLimit: 1 },
    ...options,
  });
  routes(app);
  await app.ready();
  return app;
}

/** Listens on a free loopback port and returns it. */
export async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

/** Closes every server a test created. */
export async function closeApps(): Promise<void> {
  const closing = [...apps].map((app) => app.close());
  apps.clear();
  await Promise.all(closing);
}
