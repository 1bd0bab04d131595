/**
 * The worker's side of tracing: a run's span context arrives with its request as plain data
 * ({@link TraceCarrier}) and becomes an OpenTelemetry `Context` here, which the task runs in.
 * `@opentelemetry/api` is loaded on the first traced run only; without it a task still sees the
 * W3C `traceparent`.
 * @module
 */
import type { Context } from '@opentelemetry/api';
import { loadOtelApi } from '../internal/otel-api.js';
import type { TraceCarrier } from '../pool/protocol.js';

/** The W3C `traceparent` of the run's span: `00-{trace id}-{span id}-{flags}`. @internal */
export function traceparentOf(carrier: TraceCarrier): string {
  const flags = (carrier.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${carrier.traceId}-${carrier.spanId}-${flags}`;
}

/**
 * The run's context: its span (remote: it lives on the main thread) as the active span, and the
 * caller's baggage. Undefined when `@opentelemetry/api` cannot be loaded.
 * @internal
 */
export function contextOf(carrier: TraceCarrier): Context | undefined {
  const api = loadOtelApi();
  if (api === undefined) return undefined;
  let context = api.trace.setSpanContext(api.ROOT_CONTEXT, {
    traceId: carrier.traceId,
    spanId: carrier.spanId,
    traceFlags: carrier.traceFlags,
    isRemote: true,
    ...(carrier.traceState === undefined ? {} : { traceState: api.createTraceState(carrier.traceState) }),
  });
  if (carrier.baggage !== undefined && carrier.baggage.length > 0) {
    const entries = Object.fromEntries(carrier.baggage.map(([key, value]) => [key, { value }]));
    context = api.propagation.setBaggage(context, api.propagation.createBaggage(entries));
  }
  return context;
}

/**
 * Calls `fn` with `context` active, so that spans started inside (with a context manager
 * registered in the thread) are its children; without a context, just calls it.
 * @internal
 */
export function runInContext<T>(context: Context | undefined, fn: () => T): T {
  const api = context === undefined ? undefined : loadOtelApi();
  return context === undefined || api === undefined ? fn() : api.context.with(context, fn);
}
