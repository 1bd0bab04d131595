import type { Context, Tracer, TracerProvider } from '@opentelemetry/api';
import type { OtelApi } from '../internal/otel-api.js';
import type { ResolvedTracing } from './options.js';
import type { BatchTraceFactory, RunTrace } from './run-trace.js';
import { BatchSpan, RunSpan, startAttributes } from './spans.js';

/** The instrumentation scope of the spans. */
const SCOPE = 'node-orchestrator';

/**
 * Starts the spans of an orchestrator's runs and map batches. It exists only when the `tracing`
 * option is on; each span is a child of the context active where the run was submitted (for a
 * map, where `map()` was called), so a run started inside an HTTP request's span belongs to that
 * request's trace.
 * @internal
 */
export class RunTracer {
  readonly #api: OtelApi;
  readonly #tracer: Tracer;

  constructor({ api, tracerProvider }: ResolvedTracing) {
    this.#api = api;
    // Without a provider of its own: the global one's tracer, which follows a provider registered later.
    this.#tracer = ((tracerProvider as TracerProvider | undefined) ?? api.trace).getTracer(SCOPE);
  }

  /** Starts the span of a run of `task`, as a child of the active context. */
  run(task: string): RunTrace {
    const parent = this.#api.context.active();
    const span = this.#tracer.startSpan(this.#name(task), this.#options(task, undefined), parent);
    return new RunSpan(this.#api, span, parent);
  }

  /**
   * Captures the active context now (where `map()` is called) and returns what starts the span
   * of each of the map's batches under it, however much later the batch leaves.
   */
  batches(task: string): BatchTraceFactory {
    const parent: Context = this.#api.context.active();
    return (items) => {
      const span = this.#tracer.startSpan(this.#name(task), this.#options(task, items), parent);
      return new BatchSpan(this.#api, span, parent, items);
    };
  }

  #name(task: string): string {
    return `${task} process`;
  }

  #options(
    task: string,
    items: number | undefined,
  ): { kind: number; attributes: ReturnType<typeof startAttributes> } {
    return { kind: this.#api.SpanKind.CONSUMER, attributes: startAttributes(task, items) };
  }
}
