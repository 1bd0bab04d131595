import type { Registry } from 'prom-client';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import type { Readiness } from '../telemetry/http.js';

/**
 * What `orchestrator run` maps its records on: a local Orchestrator, or a QueueClient that
 * submits them to nodes through Redis (`--redis`).
 */
export interface RunBackend {
  /** `map` with the local Orchestrator's contract. */
  readonly map: Orchestrator['map'];
  /** `pipeline`, for chained tasks (a local pool only). */
  readonly pipeline?: Orchestrator['pipeline'] | undefined;
  /** Where the run's metrics are (none for a remote run). */
  readonly registry: Registry | undefined;
  /** For /readyz. */
  readonly ready: Readiness;
  /** For the progress line: work in flight, and the limit (or the window of jobs). */
  state(): { inFlight: number; limit: number };
  /** Counts limit changes for the summary. */
  onAdapt(listener: () => void): void;
  close(): Promise<void>;
}

/** A local Orchestrator as a {@link RunBackend}. */
export function localBackend(orchestrator: Orchestrator): RunBackend {
  return {
    map: orchestrator.map.bind(orchestrator),
    pipeline: orchestrator.pipeline.bind(orchestrator),
    registry: orchestrator.registry,
    ready: orchestrator,
    state: () => ({ inFlight: orchestrator.inFlight, limit: orchestrator.limit }),
    onAdapt: (listener) => orchestrator.on('adapt', listener),
    close: () => orchestrator.close(),
  };
}
