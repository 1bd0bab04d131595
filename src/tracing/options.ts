import type { ConfigIssue } from '../errors.js';
import { loadOtelApi, type OtelApi } from '../internal/otel-api.js';

/**
 * A tracer provider: OpenTelemetry's `TracerProvider` (a `BasicTracerProvider`, a
 * `NodeTracerProvider`, the SDK's), described by the one method the orchestrator calls, so that
 * these declarations do not depend on `@opentelemetry/api` being installed.
 */
export interface TracerProviderLike {
  /** Returns a tracer; called once, with the library's name and version. */
  getTracer(name: string, version?: string): object;
}

/** The object form of the `tracing` option. */
export interface TracingConfig {
  /** The provider whose tracer makes the runs' spans. @default the global tracer provider */
  tracerProvider?: TracerProviderLike | undefined;
}

/** Tracing options of an {@link Orchestrator}. */
export interface TracingOptions {
  /**
   * Trace every run with OpenTelemetry: a span per run (`{task} process`) and per map batch,
   * children of the caller's active context, whose context travels into the worker
   * (`ctx.traceContext`). `true` uses the global tracer provider; `{ tracerProvider }` a
   * provider of your own. Needs `@opentelemetry/api` (1.x) installed; without this option the
   * library never loads it. @default false
   */
  tracing?: boolean | TracingConfig | undefined;
}

/** The `tracing` option, checked, with the API loaded. @internal */
export interface ResolvedTracing {
  readonly api: OtelApi;
  readonly tracerProvider: TracerProviderLike | undefined;
}

/**
 * Checks the `tracing` option and, when it asks for tracing, loads the API.
 * @returns undefined when tracing is off or the option is bad (an issue then says why).
 * @internal
 */
export function resolveTracing(tracing: unknown, issues: ConfigIssue[]): ResolvedTracing | undefined {
  if (tracing === undefined || tracing === false) return undefined;
  let tracerProvider: TracerProviderLike | undefined;
  if (tracing !== true) {
    if (typeof tracing !== 'object' || tracing === null) {
      issues.push({ field: 'tracing', value: tracing, expected: 'a boolean or { tracerProvider }' });
      return undefined;
    }
    const given = (tracing as { tracerProvider?: unknown }).tracerProvider;
    if (given !== undefined && !isTracerProvider(given)) {
      issues.push({
        field: 'tracing.tracerProvider',
        value: given,
        expected: 'an OpenTelemetry TracerProvider (an object with getTracer())',
      });
      return undefined;
    }
    tracerProvider = given;
  }
  const api = loadOtelApi();
  if (api === undefined) {
    issues.push({
      field: 'tracing',
      value: tracing,
      expected: 'off, unless @opentelemetry/api is installed (npm install @opentelemetry/api)',
    });
    return undefined;
  }
  return { api, tracerProvider };
}

function isTracerProvider(value: unknown): value is TracerProviderLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)['getTracer'] === 'function'
  );
}
