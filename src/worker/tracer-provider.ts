import { loadOtelApi } from '../internal/otel-api.js';

/**
 * A tracer provider in a worker thread: OpenTelemetry's SDK providers (`BasicTracerProvider`,
 * `NodeTracerProvider`) have both methods.
 */
export interface WorkerTracerProvider {
  getTracer(name: string, version?: string): object;
  /** Exports every span ended so far. */
  forceFlush(): Promise<void>;
}

/** Shared by every copy of the package loaded in this thread. */
const kProviders = Symbol.for('node-orchestrator.tracer-providers');

function providers(): Set<WorkerTracerProvider> {
  const slot = globalThis as { [kProviders]?: Set<WorkerTracerProvider> };
  return (slot[kProviders] ??= new Set());
}

/**
 * Makes `provider` the tracer provider of this worker thread, and has the orchestrator flush it
 * before the thread ends: when `close()` is called, and when the thread goes idle (so spans are
 * exported before an idle thread retires). Call it at the top level of a worker module: that
 * runs once in every thread, before any task. Spans that tasks start are then exported by the
 * thread itself, as children of their run's span (see `TaskContext.traceContext`).
 *
 * It registers the provider as the thread's global one (`trace.setGlobalTracerProvider`); for
 * `tracer.startActiveSpan` and `startSpan` to find the run's span without being given
 * `ctx.traceContext`, also register a context manager (`context.setGlobalContextManager(new
 * AsyncLocalStorageContextManager().enable())`, or `NodeTracerProvider.register()`, which does
 * both).
 *
 * @param provider - an OpenTelemetry SDK tracer provider.
 * @throws TypeError if `provider` has no `getTracer` and `forceFlush`.
 * @throws Error if `@opentelemetry/api` is not installed.
 * @example
 * ```ts
 * // tasks.js (a worker module)
 * import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
 * import { defineTask, registerTracerProvider } from 'node-orchestrator/worker';
 *
 * registerTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }));
 * ```
 */
export function registerTracerProvider(provider: WorkerTracerProvider): void {
  const candidate = provider as Partial<Record<keyof WorkerTracerProvider, unknown>> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.getTracer !== 'function' ||
    typeof candidate.forceFlush !== 'function'
  ) {
    throw new TypeError('registerTracerProvider(provider): provider must have getTracer() and forceFlush()');
  }
  const api = loadOtelApi();
  if (api === undefined) {
    throw new Error('registerTracerProvider() needs @opentelemetry/api: npm install @opentelemetry/api');
  }
  api.trace.setGlobalTracerProvider(provider as never);
  providers().add(provider);
}

/** Whether a provider was registered in this thread. @internal */
export function hasTracerProviders(): boolean {
  return providers().size > 0;
}

/** Flushes every provider registered in this thread; a failing one does not stop the others. @internal */
export async function flushTracerProviders(): Promise<void> {
  await Promise.allSettled([...providers()].map((provider) => provider.forceFlush()));
}
