import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { describe } from '../internal/validate.js';
import { DashboardRoutes } from './dashboard/serve.js';
import { acceptsOpenMetrics, OPENMETRICS_TEXT, PROMETHEUS_TEXT, renderRegistry } from './exposition.js';
import { send } from './send.js';

/** Something that says whether it accepts work: an Orchestrator, or a function. */
export type Readiness = (() => boolean) | { readonly accepting: boolean };

/** Options of {@link createMetricsHandler}. */
export interface MetricsHandlerOptions {
  /** The registry to expose, e.g. `orchestrator.registry`. */
  registry: Registry;
  /** Drives /readyz: 200 while it says true, 503 otherwise. Without it /readyz is always 200. */
  ready?: Readiness | undefined;
  /**
   * Serve the live dashboard at `/dashboard`, with its data at `/dashboard/data` (JSON) and
   * `/dashboard/events` (server-sent events). It reads the registry only while a page or a
   * client is connected. @default true
   */
  dashboard?: boolean | undefined;
}

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions extends MetricsHandlerOptions {
  /** The port; 0 picks a free one (read it from `server.address()`). @default 9097 */
  port?: number | undefined;
  /** The address to bind. @default '127.0.0.1' (loopback only) */
  host?: string | undefined;
}

/**
 * A plain `(req, res)` handler for node:http, Express or Fastify (`reply.raw`):
 * - `GET /metrics` — the Prometheus text format, or OpenMetrics (ending in `# EOF`) when the
 *   Accept header asks for `application/openmetrics-text`, as Prometheus itself does;
 * - `GET /healthz` — 200 while the process serves;
 * - `GET /readyz` — 200 while `ready` says so, 503 otherwise;
 * - `GET /dashboard` — a live dashboard page (unless `dashboard: false`), with its data at
 *   `/dashboard/data` (one JSON frame) and `/dashboard/events` (a frame per second as
 *   server-sent events; `?orchestrator=` picks an orchestrator, `?interval=` the milliseconds
 *   between frames, 250–60000); at most 32 streams at once, more get 503;
 * - other paths 404; other methods 405 with an `Allow` header. HEAD works like GET.
 *
 * @throws TypeError when `registry` is not a prom-client Registry or `dashboard` not a boolean.
 * @example
 * ```ts
 * const handler = createMetricsHandler({ registry: orchestrator.registry, ready: orchestrator });
 * http.createServer(handler).listen(9097, '127.0.0.1');
 * ```
 */
export function createMetricsHandler(
  options: MetricsHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { registry, ready, dashboard = true } = options;
  if (
    typeof registry !== 'object' ||
    typeof (registry as { getMetricsAsJSON?: unknown }).getMetricsAsJSON !== 'function'
  ) {
    throw new TypeError(`registry must be a prom-client Registry, got ${describe(registry)}`);
  }
  if (typeof dashboard !== 'boolean') {
    throw new TypeError(`dashboard must be a boolean, got ${describe(dashboard)}`);
  }
  const routes = dashboard ? new DashboardRoutes(registry) : undefined;
  return (req, res) => {
    void respond(registry, ready, routes, req, res);
  };
}

async function respond(
  registry: Registry,
  ready: Readiness | undefined,
  dashboard: DashboardRoutes | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const ours = dashboard !== undefined && dashboard.handles(path);
  if (!ours && path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
    send(res, 404, 'Not Found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'Method Not Allowed\n');
    return;
  }
  if (ours) {
    await dashboard.serve(path, req, res);
    return;
  }
  if (path === '/healthz') {
    send(res, 200, 'ok\n');
    return;
  }
  if (path === '/readyz') {
    if (isReady(ready)) send(res, 200, 'ready\n');
    else send(res, 503, 'not ready\n');
    return;
  }
  const openMetrics = acceptsOpenMetrics(req.headers.accept);
  try {
    const body = await renderRegistry(registry, openMetrics);
    send(res, 200, body, openMetrics ? OPENMETRICS_TEXT : PROMETHEUS_TEXT);
  } catch (error) {
    send(res, 500, `Error rendering metrics: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function isReady(ready: Readiness | undefined): boolean {
  if (ready === undefined) return true;
  return typeof ready === 'function' ? ready() : ready.accepting;
}

/**
 * Serves {@link createMetricsHandler} over HTTP, on loopback by default.
 * @returns the listening server; `server.close()` stops it and drops idle keep-alive sockets.
 * @throws (rejects) with the listen error, e.g. EADDRINUSE.
 * @example
 * ```ts
 * const server = await serveMetrics({ registry: orchestrator.registry, ready: orchestrator, port: 0 });
 * console.log((server.address() as AddressInfo).port);
 * ```
 */
export async function serveMetrics(options: ServeMetricsOptions): Promise<Server> {
  const { port = 9097, host = '127.0.0.1' } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer in [0, 65535], got ${describe(port)}`);
  }
  const server = createServer(createMetricsHandler(options));
  // Scrapers keep connections alive; closing must not wait for them.
  const close = server.close.bind(server);
  server.close = (callback?: (error?: Error) => void) => {
    close(callback);
    server.closeAllConnections();
    return server;
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/**
 * `http://address:port` of a listening server, to print where its endpoints are.
 * @internal
 */
export function serverOrigin(server: Server): string {
  const { address, family, port } = server.address() as AddressInfo;
  return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
}
