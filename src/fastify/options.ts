import { InvalidConfigError, type ConfigIssue } from '../errors.js';
import { describe } from '../internal/validate.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import { limitDefaults, type OrchestratorOptions } from '../orchestrator/options.js';

/** Where the plugin serves its operational routes; `false` turns one (or all) off. */
export interface OrchestratorRoutesOptions {
  /** A prefix for the three routes, added to the prefix of the scope the plugin is registered in. @default '' */
  prefix?: string | undefined;
  /** Prometheus text or OpenMetrics (by the Accept header) of `orchestrator.registry`. @default '/metrics' */
  metrics?: string | false | undefined;
  /** Liveness: 200 while the process serves. @default '/healthz' */
  healthz?: string | false | undefined;
  /** Readiness: 200, or 503 during shutdown and while the queue is above `readyQueueWatermark`. @default '/readyz' */
  readyz?: string | false | undefined;
}

/** Options of the `node-orchestrator/fastify` plugin. */
export interface OrchestratorPluginOptions {
  /**
   * The orchestrator's options (the plugin creates it, with a bounded default `maxQueue` and
   * `threadNice: 10`, and closes it with the server), or an Orchestrator of your own (closed
   * only with `closeOrchestrator: true`).
   */
  orchestrator: OrchestratorOptions | Orchestrator;
  /** Close the orchestrator when the server closes. @default true for one the plugin created, false for yours */
  closeOrchestrator?: boolean | undefined;
  /**
   * How long, once the server is closing, accepted runs may finish before they are cancelled
   * (their requests then get 503). An orchestrator the plugin creates gets it as its own
   * `closeTimeoutMs`; with one of yours that the plugin does not close, it bounds the runs
   * started with `request.run` (one it closes applies its own `closeTimeoutMs`).
   * @default the orchestrator options' closeTimeoutMs, else 10000
   */
  closeTimeoutMs?: number | undefined;
  /**
   * While the orchestrator is full, answer 503 (with `Retry-After`) from an `onRequest` hook,
   * before the body is read or parsed, to requests for routes that have called `request.run`.
   * The hook sends the answer itself (not through the error handler, which would log each one
   * as an error). A route's `config: { shedEarly }` overrides it either way. @default true
   */
  shedEarly?: boolean | undefined;
  /** Send the error's own message in error responses (never its stack). @default false */
  exposeErrors?: boolean | undefined;
  /** `/readyz` answers 503 while more runs than this wait for a slot. @default 16 × the current limit */
  readyQueueWatermark?: number | undefined;
  /** The operational routes, or `false` for none. */
  routes?: OrchestratorRoutesOptions | false | undefined;
}

/** How many waiting runs per slot of `maxLimit` the plugin's default `maxQueue` allows. */
export const QUEUE_PER_SLOT = 32;
/**
 * The plugin's default `threadNice`: tasks yield the cores to the event loop, which must accept,
 * shed and answer health checks at once however busy the threads are (Linux).
 */
export const SERVICE_THREAD_NICE = 10;
const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

/** Either the orchestrator to create (with the plugin's defaults applied) or the one given. */
type Source =
  | { readonly given: Orchestrator; readonly create?: undefined }
  | { readonly given?: undefined; readonly create: OrchestratorOptions };

/** Plugin options after defaults and validation. @internal */
export type ResolvedPluginOptions = Source & {
  readonly closeOrchestrator: boolean;
  readonly closeTimeoutMs: number;
  readonly exposeErrors: boolean;
  readonly shedEarly: boolean;
  readonly readyQueueWatermark: number | undefined;
  readonly routes: Required<{
    [K in keyof OrchestratorRoutesOptions]: Exclude<OrchestratorRoutesOptions[K], undefined>;
  }>;
};

/**
 * Validates the plugin's options and applies its defaults: a `maxQueue` of
 * {@link QUEUE_PER_SLOT} × maxLimit unless one is set, since a service must shed load, and a
 * `threadNice` of {@link SERVICE_THREAD_NICE} unless one is set.
 * @throws InvalidConfigError naming every bad field and its value.
 * @internal
 */
export function resolvePluginOptions(options: unknown): ResolvedPluginOptions {
  const issues: ConfigIssue[] = [];
  if (typeof options !== 'object' || options === null) {
    throw invalid([{ field: 'options', value: options, expected: 'an object' }]);
  }
  const input = options as Partial<OrchestratorPluginOptions>;
  const value = input.orchestrator;
  const given = isOrchestrator(value) ? value : undefined;
  if (given === undefined && (typeof value !== 'object' || (value as unknown) === null)) {
    issues.push({
      field: 'orchestrator',
      value,
      expected: 'orchestrator options or an Orchestrator',
    });
  }
  const orchestratorOptions = given === undefined ? (value as OrchestratorOptions | undefined) : undefined;
  const closeTimeoutMs =
    input.closeTimeoutMs ?? orchestratorOptions?.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  checkCount(issues, 'closeTimeoutMs', closeTimeoutMs, true);
  const closeOrchestrator = input.closeOrchestrator ?? given === undefined;
  checkBoolean(issues, 'closeOrchestrator', closeOrchestrator);
  const exposeErrors = input.exposeErrors ?? false;
  checkBoolean(issues, 'exposeErrors', exposeErrors);
  const shedEarly = input.shedEarly ?? true;
  checkBoolean(issues, 'shedEarly', shedEarly);
  if (input.readyQueueWatermark !== undefined) {
    checkCount(issues, 'readyQueueWatermark', input.readyQueueWatermark, true);
  }
  const routes = resolveRoutes(input.routes, issues);
  if (issues.length > 0) throw invalid(issues);
  return {
    ...source(given, orchestratorOptions, closeTimeoutMs),
    closeOrchestrator,
    closeTimeoutMs,
    exposeErrors,
    shedEarly,
    readyQueueWatermark: input.readyQueueWatermark,
    routes,
  };
}

function source(
  given: Orchestrator | undefined,
  options: OrchestratorOptions | undefined,
  closeTimeoutMs: number,
): Source {
  if (given !== undefined || options === undefined) return { given: given as Orchestrator };
  // The orchestrator's own maxLimit default (from the cores), before the orchestrator exists.
  const { maxLimit: resolved } = limitDefaults(options);
  const maxLimit = typeof resolved === 'number' && Number.isFinite(resolved) ? resolved : 1;
  // A non-integer maxLimit is the orchestrator's to report; keep the product an integer meanwhile.
  const maxQueue = options.maxQueue ?? QUEUE_PER_SLOT * Math.max(1, Math.ceil(maxLimit));
  const threadNice = options.threadNice ?? SERVICE_THREAD_NICE;
  return { create: { ...options, maxQueue, closeTimeoutMs, threadNice } };
}

function resolveRoutes(
  routes: OrchestratorRoutesOptions | false | undefined,
  issues: ConfigIssue[],
): ResolvedPluginOptions['routes'] {
  if (routes === false) return { prefix: '', metrics: false, healthz: false, readyz: false };
  if (routes !== undefined && (typeof routes !== 'object' || (routes as unknown) === null)) {
    issues.push({ field: 'routes', value: routes, expected: 'an object or false' });
    return { prefix: '', metrics: false, healthz: false, readyz: false };
  }
  const { prefix = '', metrics = '/metrics', healthz = '/healthz', readyz = '/readyz' } = routes ?? {};
  if (typeof prefix !== 'string' || (prefix !== '' && !prefix.startsWith('/'))) {
    issues.push({ field: 'routes.prefix', value: prefix, expected: "'' or a path starting with /" });
  }
  for (const [field, path] of [
    ['metrics', metrics],
    ['healthz', healthz],
    ['readyz', readyz],
  ] as const) {
    if (path !== false && (typeof path !== 'string' || !path.startsWith('/'))) {
      issues.push({ field: `routes.${field}`, value: path, expected: 'a path starting with / or false' });
    }
  }
  return { prefix, metrics, healthz, readyz };
}

/** An Orchestrator, by shape: one from another copy of the package counts too. */
function isOrchestrator(value: unknown): value is Orchestrator {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<'run' | 'close' | 'map', unknown>>;
  return (
    typeof candidate.run === 'function' &&
    typeof candidate.close === 'function' &&
    typeof candidate.map === 'function'
  );
}

function checkCount(issues: ConfigIssue[], field: string, value: unknown, allowInfinity: boolean): void {
  const ok =
    typeof value === 'number' &&
    value >= 0 &&
    (Number.isInteger(value) || (allowInfinity && value === Number.POSITIVE_INFINITY));
  if (!ok) issues.push({ field, value, expected: `an integer >= 0${allowInfinity ? ' (or Infinity)' : ''}` });
}

function checkBoolean(issues: ConfigIssue[], field: string, value: unknown): void {
  if (typeof value !== 'boolean') issues.push({ field, value, expected: 'a boolean' });
}

function invalid(issues: ConfigIssue[]): InvalidConfigError {
  const lines = issues.map((i) => `${i.field} must be ${i.expected}, got ${describe(i.value)}`);
  const error = new InvalidConfigError(`Invalid node-orchestrator/fastify options: ${lines.join('; ')}`);
  error.issues = issues;
  return error;
}
