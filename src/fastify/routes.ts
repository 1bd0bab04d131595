import type { FastifyInstance } from 'fastify';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import {
  acceptsOpenMetrics,
  OPENMETRICS_TEXT,
  PROMETHEUS_TEXT,
  renderRegistry,
} from '../telemetry/exposition.js';
import type { ResolvedPluginOptions } from './options.js';
import type { RequestRuns } from './request-runs.js';

/**
 * Registers `/metrics`, `/healthz` and `/readyz` as ordinary Fastify routes, in a scope of their
 * own under `routes.prefix`, so they also follow the prefix of the scope the plugin is in.
 * @internal
 */
export function registerRoutes(
  fastify: FastifyInstance,
  orchestrator: Orchestrator,
  runs: RequestRuns,
  routes: ResolvedPluginOptions['routes'],
): void {
  const { prefix, metrics, healthz, readyz } = routes;
  const registry = orchestrator.registry;
  void fastify.register(
    (scope, _options, done) => {
      // Without telemetry there is nothing to expose; a 404 says so better than an empty 200.
      if (metrics !== false && registry !== undefined) {
        scope.get(metrics, async (request, reply) => {
          const openMetrics = acceptsOpenMetrics(request.headers.accept);
          // Rendered from getMetricsAsJSON(): prom-client's own OpenMetrics rendering renames
          // counters in place and breaks the next text scrape of the same registry.
          const body = await renderRegistry(registry, openMetrics);
          return reply.type(openMetrics ? OPENMETRICS_TEXT : PROMETHEUS_TEXT).send(body);
        });
      }
      if (healthz !== false) scope.get(healthz, (_request, reply) => reply.send({ status: 'ok' }));
      if (readyz !== false) {
        scope.get(readyz, (_request, reply) => {
          const readiness = runs.readiness();
          if (readiness.ready) return reply.send({ status: 'ready' });
          return reply.code(503).send({ status: 'not ready', reason: readiness.reason });
        });
      }
      done();
    },
    { prefix },
  );
}
