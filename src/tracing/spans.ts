/**
 * The spans of runs and map batches, in the shape of OpenTelemetry's messaging semantic
 * conventions: a task is a destination, a run a message, and its span the `process` operation
 * (`{task} process`, kind CONSUMER), a child of the caller's context. Queue wait and execution
 * are its events (`enqueued`, `started`, `ended`) and attributes; the outcome and error type are
 * set when it ends.
 * @module
 */
import type { Attributes, Context, Span, SpanContext } from '@opentelemetry/api';
import type { ItemResult } from '../orchestrator/batch-item.js';
import { errorType } from '../orchestrator/error-type.js';
import type { RunOutcome } from '../orchestrator/task-run.js';
import type { OtelApi } from '../internal/otel-api.js';
import type { TraceCarrier } from '../pool/protocol.js';
import type { BatchTrace, ExemplarLabels, RunTrace } from './run-trace.js';

/** Attribute names: the messaging conventions', and ours under `node_orchestrator.`. */
export const ATTR = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  batchCount: 'messaging.batch.message_count',
  errorType: 'error.type',
  threadId: 'thread.id',
  outcome: 'node_orchestrator.outcome',
  waitSeconds: 'node_orchestrator.wait.duration',
  workerSeconds: 'node_orchestrator.run.duration',
  itemIndex: 'node_orchestrator.item.index',
  itemsSucceeded: 'node_orchestrator.batch.succeeded',
  itemsFailed: 'node_orchestrator.batch.failed',
  itemsAborted: 'node_orchestrator.batch.aborted',
  itemsResent: 'node_orchestrator.batch.resent',
} as const;

/** The `messaging.system` value. */
export const SYSTEM = 'node-orchestrator';

/** Failed items recorded as events on a batch span; the count covers the rest. */
const MAX_ITEM_EVENTS = 32;

/** What the worker needs to continue the trace: the span's context and the caller's baggage. */
function carrierOf(api: OtelApi, context: SpanContext, parent: Context): TraceCarrier | undefined {
  if (!api.isSpanContextValid(context)) return undefined;
  const baggage = api.propagation.getBaggage(parent)?.getAllEntries();
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    traceFlags: context.traceFlags,
    traceState: context.traceState?.serialize(),
    baggage: baggage?.map(([key, entry]) => [key, entry.value] as const),
  };
}

function exemplarOf(api: OtelApi, context: SpanContext): ExemplarLabels | undefined {
  if ((context.traceFlags & api.TraceFlags.SAMPLED) === 0 || !api.isSpanContextValid(context))
    return undefined;
  return { trace_id: context.traceId, span_id: context.spanId };
}

/** The attributes every span starts with. */
export function startAttributes(task: string, items: number | undefined): Attributes {
  const attributes: Attributes = {
    [ATTR.system]: SYSTEM,
    [ATTR.operationType]: 'process',
    [ATTR.operationName]: 'process',
    [ATTR.destination]: task,
  };
  if (items !== undefined) attributes[ATTR.batchCount] = items;
  return attributes;
}

/** The parts both kinds of span share: the context to send and the queue and execution events. */
class SpanBase {
  readonly carrier: TraceCarrier | undefined;
  readonly exemplar: ExemplarLabels | undefined;
  protected readonly span: Span;
  protected readonly api: OtelApi;
  /** False for the no-op spans of an absent provider: nothing is recorded, the context still travels. */
  protected readonly recording: boolean;
  #stopped = false;

  constructor(api: OtelApi, span: Span, parent: Context) {
    this.api = api;
    this.span = span;
    const context = span.spanContext();
    this.carrier = carrierOf(api, context, parent);
    this.exemplar = exemplarOf(api, context);
    this.recording = span.isRecording();
    if (this.recording) span.addEvent('enqueued');
  }

  started(threadId: number): void {
    if (this.recording) this.span.addEvent('started', { [ATTR.threadId]: threadId });
  }

  stopped(): void {
    this.#stopped = true;
    if (this.recording) this.span.addEvent('ended');
  }

  /** Adds the `ended` event for a coalesced run, whose batch's answer is not its own end. */
  protected endedIfStarted(workerMs: number | undefined): void {
    if (!this.#stopped && workerMs !== undefined) this.span.addEvent('ended');
  }

  /** Marks the span failed with `error`'s type and message. */
  protected fail(error: unknown, message: string): void {
    this.span.setAttribute(ATTR.errorType, errorType(error));
    this.span.setStatus({ code: this.api.SpanStatusCode.ERROR, message });
  }
}

/** The span of one run (or one coalesced run, inside its batch). @internal */
export class RunSpan extends SpanBase implements RunTrace {
  end(outcome: RunOutcome, error: unknown, workerMs: number | undefined, waitMs: number | undefined): void {
    const span = this.span;
    if (this.recording) {
      this.endedIfStarted(workerMs);
      span.setAttribute(ATTR.outcome, outcome);
      if (waitMs !== undefined) span.setAttribute(ATTR.waitSeconds, waitMs / 1000);
      if (workerMs !== undefined) span.setAttribute(ATTR.workerSeconds, workerMs / 1000);
      // A caller's own abort is not a failure of the run, as in the error-rate signal.
      if (outcome !== 'success' && outcome !== 'aborted') {
        if (outcome === 'error' && error instanceof Error) span.recordException(error);
        this.fail(error, error instanceof Error ? error.message : String(error));
      }
    }
    span.end();
  }
}

/** The span of one map batch: item counts, and an event per failed item (up to 32). @internal */
export class BatchSpan extends SpanBase implements BatchTrace {
  readonly #items: number;
  #succeeded = 0;
  #failed = 0;
  #aborted = 0;
  #firstError: unknown;

  constructor(api: OtelApi, span: Span, parent: Context, items: number) {
    super(api, span, parent);
    this.#items = items;
  }

  item(index: number, result: ItemResult): void {
    if (result.ok) this.#succeeded++;
    else if (result.outcome === 'aborted') this.#aborted++;
    else {
      this.#firstError ??= result.error;
      if (this.recording && this.#failed < MAX_ITEM_EVENTS) {
        const message = result.error instanceof Error ? result.error.message : String(result.error);
        this.span.addEvent('item failed', {
          [ATTR.itemIndex]: index,
          [ATTR.errorType]: errorType(result.error),
          [ATTR.outcome]: result.outcome,
          'exception.message': message,
        });
      }
      this.#failed++;
    }
  }

  end(): void {
    if (this.recording) {
      const settled = this.#succeeded + this.#failed + this.#aborted;
      this.span.setAttributes({
        [ATTR.itemsSucceeded]: this.#succeeded,
        [ATTR.itemsFailed]: this.#failed,
        [ATTR.itemsAborted]: this.#aborted,
        [ATTR.itemsResent]: this.#items - settled,
      });
      if (this.#failed > 0) this.fail(this.#firstError, `${this.#failed} of ${this.#items} items failed`);
    }
    this.span.end();
  }
}
