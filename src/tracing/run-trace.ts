/**
 * What the engine knows of tracing: a run tells its span when a thread took it and when the
 * worker stopped, and the recorder ends it. These interfaces carry no OpenTelemetry types, so the
 * engine never loads `@opentelemetry/api`; with tracing off every hook is `undefined` and a run
 * pays one comparison per hook.
 * @module
 */
import type { ItemResult } from '../orchestrator/batch-item.js';
import type { RunOutcome } from '../orchestrator/task-run.js';
import type { TraceCarrier } from '../pool/protocol.js';

/** An exemplar's labels: the trace (and span) a histogram observation came from. @internal */
export type ExemplarLabels = {
  readonly trace_id: string;
  readonly span_id: string;
};

/** The span of a run, or the spans of a batch's runs, as a run in the pool sees it. @internal */
export interface RunTrace {
  /** The context the worker runs the task in; undefined when there is none to propagate. */
  readonly carrier: TraceCarrier | undefined;
  /** What an exemplar links to; undefined unless the span is sampled. */
  readonly exemplar: ExemplarLabels | undefined;
  /** A thread took the run (or its batch). */
  started(threadId: number): void;
  /** The worker stopped: it answered, or its thread died. */
  stopped(): void;
  /** The run settled: the span ends. Times in ms, when known. */
  end(outcome: RunOutcome, error: unknown, workerMs: number | undefined, waitMs: number | undefined): void;
}

/** The span of one map batch. @internal */
export interface BatchTrace extends Omit<RunTrace, 'end'> {
  /** Item `index` of the batch settled. */
  item(index: number, result: ItemResult): void;
  /** The batch is done: every item settled, or went on in another batch after a crash. */
  end(): void;
}

/** Starts the span of one map batch of `items` items. @internal */
export type BatchTraceFactory = (items: number) => BatchTrace | undefined;

/**
 * The hooks of a batch's run: a thread taking it starts the map batch's span and every coalesced
 * run's span in it. Each span ends on its own (a run's when it settles, the batch's when all
 * its items have), so this object ends nothing.
 * @internal
 */
export function batchRunTrace(
  span: BatchTrace | undefined,
  items: readonly (RunTrace | undefined)[] | undefined,
): RunTrace {
  return {
    carrier: span?.carrier,
    exemplar: undefined,
    started(threadId) {
      span?.started(threadId);
      if (items !== undefined) for (const item of items) item?.started(threadId);
    },
    stopped() {
      span?.stopped();
    },
    end() {},
  };
}
