import type { Transferable } from 'node:worker_threads';
import { AbortedError } from '../errors.js';
import { unwatch, watch, type AbortWatcher } from '../internal/signal-watch.js';
import type { ExemplarLabels, RunTrace } from '../tracing/run-trace.js';
import type { RunOutcome } from './task-run.js';

/** How one item of a batch ended. @internal */
export type ItemResult =
  | { readonly ok: true; readonly value: unknown }
  | {
      readonly ok: false;
      readonly error: unknown;
      readonly outcome: Exclude<RunOutcome, 'success'>;
      /** For fused pipeline stages: the position in the chain of the stage that threw. */
      readonly stage?: number | undefined;
    };

/** Where an item reports how it ended (telemetry and the adaptive signals). @internal */
export interface ItemHost {
  recordItem(
    task: string,
    result: ItemResult,
    workerMs: number | undefined,
    waitMs: number | undefined,
    exemplar: ExemplarLabels | undefined,
  ): void;
}

/** The batch an item is in, as the item sees it. @internal */
export interface ItemBatch {
  abortItem(item: BatchItem): void;
}

/**
 * One item of a batch, from submission to result. It may travel in more than one batch: after
 * a crash, an item that had not started goes again, and so does one that had, once, when its
 * task is idempotent.
 * @internal
 */
export class BatchItem implements AbortWatcher {
  #settled = false;
  #batch: ItemBatch | undefined;
  /** The signals the item follows, and what error each abort gives it. */
  #followed: readonly AbortSignal[] = [];
  #reasonOf: (signal: AbortSignal) => unknown = (signal) => signal.reason;
  /** Set once the item is cancelled on its own. */
  abortReason: unknown;
  abortOutcome: 'aborted' | 'timeout' = 'aborted';
  /** Abort id in the current batch, when the batch gives its items their own. */
  id: number | undefined;
  /** Its place in the current batch. */
  index = -1;
  /** Crashed batches this item was in without starting. */
  resends = 0;
  /** Whether it already ran again after a crash. */
  retried = false;
  /** Its own span: a coalesced run's (a map's items share their batch's span instead). */
  trace: RunTrace | undefined;
  /** Its index in its map, for the batch span's events. */
  mapIndex: number | undefined;

  constructor(
    readonly host: ItemHost,
    readonly task: string,
    readonly input: unknown,
    readonly transferList: readonly Transferable[] | undefined,
    /** Whether this item may be cancelled alone (it has its own signal or deadline). */
    readonly cancellable: boolean,
    /** Told the result once, with the time the item took in the worker (when it ran). */
    readonly onSettle: (result: ItemResult, workerMs: number | undefined) => void,
  ) {}

  get settled(): boolean {
    return this.#settled;
  }

  /**
   * Cancels the item when any of `signals` aborts (at once if one already has), with the error
   * `reasonOf` gives for that signal. It stops listening when it settles.
   */
  follow(
    signals: readonly (AbortSignal | undefined)[],
    reasonOf: (signal: AbortSignal) => unknown = (signal) => signal.reason,
  ): void {
    this.#reasonOf = reasonOf;
    const followed = signals.filter((signal) => signal !== undefined);
    const aborted = followed.find((signal) => signal.aborted);
    if (aborted !== undefined) return this.abort(reasonOf(aborted));
    this.#followed = followed;
    for (const signal of followed) watch(signal, this);
  }

  /** One of the followed signals aborted. */
  onSignalAbort(signal: AbortSignal): void {
    this.abort(this.#reasonOf(signal));
  }

  /** Puts the item at `index` of `batch` (its first, or the one it is sent again in). */
  enter(batch: ItemBatch, index: number): void {
    this.#batch = batch;
    this.index = index;
  }

  /**
   * Cancels the item alone. Not yet in a batch, or in one that has not reached a thread, it
   * settles now (the runner will skip it); running, the runner is told, and it settles once it
   * has stopped.
   */
  abort(reason: unknown, outcome: 'aborted' | 'timeout' = 'aborted'): void {
    if (this.#settled || this.abortReason !== undefined) return;
    this.abortReason = reason ?? new AbortedError();
    this.abortOutcome = outcome;
    if (this.#batch === undefined) this.settle(this.aborted());
    else this.#batch.abortItem(this);
  }

  /**
   * Settles the item, ends its span and counts it in telemetry; later calls do nothing.
   * @param workerMs - the time it took in the worker, when it ran.
   * @param waitMs - how long its batch waited for a thread, when it got one.
   * @param exemplar - its batch's trace, for an item without a span of its own.
   */
  settle(result: ItemResult, workerMs?: number, waitMs?: number, exemplar?: ExemplarLabels): void {
    if (this.#settled) return;
    this.#settled = true;
    for (const signal of this.#followed) unwatch(signal, this);
    const trace = this.trace;
    if (trace !== undefined) {
      trace.end(
        result.ok ? 'success' : result.outcome,
        result.ok ? undefined : result.error,
        workerMs,
        waitMs,
      );
    }
    this.host.recordItem(this.task, result, workerMs, waitMs, trace?.exemplar ?? exemplar);
    this.onSettle(result, workerMs);
  }

  /** The result of an item cancelled on its own. */
  aborted(): ItemResult {
    return { ok: false, error: this.abortReason, outcome: this.abortOutcome };
  }
}
