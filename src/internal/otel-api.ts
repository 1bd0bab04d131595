/**
 * Loads `@opentelemetry/api` on demand. It is an optional peer dependency: the library loads it
 * only when tracing is asked for (the `tracing` option on the main thread, a traced run or
 * `registerTracerProvider` in a worker), and calls nothing of it otherwise. (On the main thread
 * prom-client, one of our dependencies, requires it anyway when it loads; worker threads never
 * load it unless a run is traced.)
 *
 * It is loaded synchronously, with `require`, because it is needed inside synchronous calls (a
 * constructor, a task's start). Node's `import` of the package resolves to the same CommonJS
 * build, and the API keeps its registrations (providers, context manager, propagators) on a
 * `Symbol.for` global, so the user's `import` and this `require` see the same registrations.
 * @module
 */
import { createRequire } from 'node:module';
import type * as Api from '@opentelemetry/api';

/** The OpenTelemetry API module. @internal */
export type OtelApi = typeof Api;

let loaded: OtelApi | null | undefined;

/**
 * The API, or undefined when it is not installed (the result is remembered).
 * @internal
 */
export function loadOtelApi(): OtelApi | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}
