import type { Transferable } from 'node:worker_threads';
import { AbortedError, DataCloneError, WorkerCrashedError } from '../errors.js';
import type { BatchChunk, BatchResult, ItemOutcome } from '../pool/protocol.js';
import { reviveTaskError } from './revive-error.js';
import { unwatch, watch, type AbortWatcher } from './signal-watch.js';
import type { RunOutcome, RunSpec, TaskRun } from './task-run.js';

/** How one item of a batch ended. @internal */
export type ItemResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown; readonly outcome: Exclude<RunOutcome, 'success'> };

/** What a batch needs from the orchestrator: the engine's batch plumbing and telemetry. @internal */
export interface BatchHost {
  submitRun(spec: RunSpec, priority: number): TaskRun;
  allocateIds(count: number): number;
  openBatch(id: number, sink: (chunk: BatchChunk) => void): void;
  closeBatch(id: number): void;
  collectChunks(): void;
  broadcastAbort(id: number): void;
  forgetAbort(id: number): void;
  isIdempotent(task: string): boolean;
  readonly cancelGraceMs: number;
  /** Counts one settled item (telemetry and the adaptive error rate). */
  recordItem(
    task: string,
    result: ItemResult,
    workerMs: number | undefined,
    waitMs: number | undefined,
  ): void;
  /** Counts one batch sent to the pool. */
  recordBatch(size: number): void;
}

/** How a batch is sent. @internal */
export interface BatchOptions {
  /** Cancels the whole batch (a map's signal). */
  readonly signal?: AbortSignal | undefined;
  readonly priority: number;
  readonly gpu?: boolean | undefined;
  /**
   * Told when a batch (first or resent) enters the pool and when it has left it: its run has
   * settled and every item in it has too. A map counts its batches in flight with it.
   */
  readonly tracker?: { opened(): void; closed(): void } | undefined;
}

/** Crashed batches an item that never started may go through before it fails too. */
const MAX_UNSTARTED_RESENDS = 3;

/**
 * One item of a batch, from submission to result. It may travel in more than one batch: after
 * a crash, an item that had not started goes again, and so does one that had, once, when its
 * task is idempotent.
 * @internal
 */
export class BatchItem implements AbortWatcher {
  #settled = false;
  #batch: Batch | undefined;
  /** The signals the item follows, and what error each abort gives it. */
  #followed: readonly AbortSignal[] = [];
  #reasonOf: (signal: AbortSignal) => unknown = (signal) => signal.reason;
  /** Set once the item is cancelled on its own. */
  abortReason: unknown;
  abortOutcome: 'aborted' | 'timeout' = 'aborted';
  /** Abort id in the current batch, when the batch gives its items their own. */
  id: number | undefined;
  /** Crashed batches this item was in without starting. */
  resends = 0;
  /** Whether it already ran again after a crash. */
  retried = false;

  constructor(
    readonly host: BatchHost,
    readonly task: string,
    readonly input: unknown,
    readonly transferList: readonly Transferable[] | undefined,
    /** Whether this item may be cancelled alone (it has its own signal or deadline). */
    readonly cancellable: boolean,
    /** Told the result once, with the item's share of its batch's worker time (when it ran). */
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

  /** Puts the item in `batch` (its first, or the one it is sent again in). */
  enter(batch: Batch): void {
    this.#batch = batch;
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
   * Settles the item and counts it in telemetry; later calls do nothing.
   * @param workerMs - its share of the batch's time in the worker, when it ran.
   * @param waitMs - how long its batch waited for a thread, when it got one.
   */
  settle(result: ItemResult, workerMs?: number, waitMs?: number): void {
    if (this.#settled) return;
    this.#settled = true;
    for (const signal of this.#followed) unwatch(signal, this);
    this.host.recordItem(this.task, result, workerMs, waitMs);
    this.onSettle(result, workerMs);
  }

  /** The result of an item cancelled on its own. */
  aborted(): ItemResult {
    return { ok: false, error: this.abortReason, outcome: this.abortOutcome };
  }
}

/**
 * One batch in the pool: a {@link TaskRun} whose input is the items' inputs. It takes the
 * runner's chunks as they are read, settles each item exactly once, cancels items one by one,
 * and after a crash sends again the items that never started (and, for an idempotent task,
 * those whose result was lost) in a new batch, on a fresh thread.
 * @internal
 */
export class Batch {
  readonly #host: BatchHost;
  readonly #task: string;
  readonly #items: readonly BatchItem[];
  readonly #options: BatchOptions;
  readonly #progress = new Int32Array(new SharedArrayBuffer(4)).fill(-1);
  readonly #run: TaskRun;
  #graceTimer: NodeJS.Timeout | undefined;
  /** The runner's answer has come; what is missing is in chunks still on their way. */
  #answered = false;

  constructor(host: BatchHost, task: string, items: readonly BatchItem[], options: BatchOptions) {
    this.#host = host;
    this.#task = task;
    this.#items = items;
    this.#options = options;
    const cancellable = items.some((item) => item.cancellable)
      ? Uint8Array.from(items, (item) => (item.cancellable ? 1 : 0))
      : undefined;
    const firstItemId = cancellable === undefined ? undefined : host.allocateIds(items.length);
    const transferList: Transferable[] = [];
    items.forEach((item, i) => {
      item.enter(this);
      item.id = firstItemId === undefined || !item.cancellable ? undefined : firstItemId + i;
      if (item.transferList !== undefined) transferList.push(...item.transferList);
    });
    host.recordBatch(items.length);
    options.tracker?.opened();
    this.#run = host.submitRun(
      {
        task,
        input: items.map((item) => item.input),
        transferList: transferList.length > 0 ? transferList : undefined,
        signal: options.signal,
        scopeSignal: undefined,
        timeoutMs: undefined,
        gpu: options.gpu ?? false,
        items: items.length,
        batch: { progress: this.#progress, firstItemId, cancellable },
      },
      options.priority,
    );
    host.openBatch(this.#run.request.id, (chunk) => this.#onChunk(chunk));
    this.#run.promise.then(
      (value) => this.#onAnswer(value as BatchResult),
      (error: unknown) => this.#onFailure(error),
    );
  }

  /** See {@link BatchItem.abort}. */
  abortItem(item: BatchItem): void {
    if (item.id !== undefined) this.#host.broadcastAbort(item.id);
    if (!this.#run.inWorker) {
      this.#settle(item, item.aborted());
      // Nothing left to run: withdraw the batch itself.
      if (this.#items.every((other) => other.settled)) this.#run.cancel(item.abortReason);
      return;
    }
    this.#graceTimer ??= setTimeout(() => this.#enforceGrace(), this.#host.cancelGraceMs);
  }

  /** An item cancelled past its grace that is still the one running loses its thread. */
  #enforceGrace(): void {
    this.#graceTimer = undefined;
    this.#host.collectChunks();
    const running = this.#items[this.#progress[0] ?? -1];
    if (running?.abortReason !== undefined && !running.settled) this.#run.terminate();
  }

  #onChunk(chunk: BatchChunk): void {
    chunk.items.forEach((outcome, i) => this.#settleFrom(chunk.from + i, outcome));
    if (this.#answered && this.#items.every((item) => item.settled)) this.#finish();
  }

  #onAnswer(result: BatchResult): void {
    this.#host.collectChunks();
    result.items.forEach((outcome, i) => this.#settleFrom(result.from + i, outcome));
    this.#answered = true;
    // The chunks of a thread's first batch can beat its control port here (the port comes in
    // a separate message); the sink stays open until they arrive.
    if (this.#items.every((item) => item.settled)) this.#finish();
  }

  #onFailure(error: unknown): void {
    this.#host.collectChunks();
    const open = this.#items.filter((item) => !item.settled);
    if (error instanceof WorkerCrashedError) this.#afterCrash(open, error);
    else if (error instanceof DataCloneError && this.#items.length > 1) {
      // One input that cannot be cloned must not fail the others: send each alone.
      for (const item of open) new Batch(this.#host, this.#task, [item], this.#options);
    } else {
      const outcome =
        error instanceof AbortedError || this.#options.signal?.aborted === true ? 'aborted' : 'rejected';
      for (const item of open)
        this.#settle(item, item.abortReason !== undefined ? item.aborted() : { ok: false, error, outcome });
    }
    this.#finish();
  }

  /**
   * After a crash: items past the one that was running never started, so they go again; the
   * one running and those whose results had not left yet ran, so they go again only if the task
   * is idempotent, and only once.
   */
  #afterCrash(open: readonly BatchItem[], error: unknown): void {
    const running = this.#progress[0] ?? -1;
    const idempotent = this.#host.isIdempotent(this.#task);
    const again: BatchItem[] = [];
    const crashed: ItemResult = { ok: false, error, outcome: 'crashed' };
    for (const item of open) {
      const index = this.#items.indexOf(item);
      if (item.abortReason !== undefined) this.#settle(item, item.aborted());
      else if (index > running && ++item.resends <= MAX_UNSTARTED_RESENDS) again.push(item);
      else if (index <= running && idempotent && !item.retried) {
        item.retried = true;
        again.push(item);
      } else this.#settle(item, crashed);
    }
    if (again.length > 0) new Batch(this.#host, this.#task, again, this.#options);
  }

  #settleFrom(index: number, outcome: ItemOutcome): void {
    const item = this.#items[index];
    if (item === undefined || item.settled) return;
    if (item.abortReason !== undefined) return this.#settle(item, item.aborted());
    if ('value' in outcome) return this.#settle(item, { ok: true, value: outcome.value });
    if ('error' in outcome)
      return this.#settle(item, {
        ok: false,
        error: reviveTaskError(this.#task, outcome.error),
        outcome: 'error',
      });
    this.#settle(item, { ok: false, error: new AbortedError('The item was skipped'), outcome: 'aborted' });
  }

  #settle(item: BatchItem, result: ItemResult): void {
    if (item.settled) return;
    const run = this.#run;
    const ran = result.ok || result.outcome === 'error';
    const waitMs = run.startedAt > 0 ? run.startedAt - run.submittedAt : undefined;
    const workerMs = ran && run.workerMs > 0 ? run.workerMs / this.#items.length : undefined;
    item.settle(result, workerMs, waitMs);
  }

  /** The run has settled and so has every item (or it went on in a new batch). */
  #finish(): void {
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.#host.closeBatch(this.#run.request.id);
    for (const item of this.#items) if (item.id !== undefined) this.#host.forgetAbort(item.id);
    this.#options.tracker?.closed();
  }
}
