import type { Transferable } from 'node:worker_threads';
import { AbortedError, DataCloneError, WorkerCrashedError } from '../errors.js';
import { clearLongTimeout, setLongTimeout, type LongTimer } from '../internal/long-timer.js';
import type { ChunkSink } from '../pool/control-plane.js';
import { forEachOutcome, type ItemFault } from '../pool/item-outcomes.js';
import type { BatchChunk, BatchResult } from '../pool/protocol.js';
import { batchRunTrace, type BatchTrace, type BatchTraceFactory } from '../tracing/run-trace.js';
import { BatchItem, type ItemResult } from './batch-item.js';
import { reviveTaskError } from './revive-error.js';
import type { RunSpec, TaskRun } from './task-run.js';

export { BatchItem, type ItemHost, type ItemResult } from './batch-item.js';

/** What a batch needs from the engine, besides what its items need. @internal */
export interface BatchHost {
  submitRun(spec: RunSpec, priority: number): TaskRun;
  allocateIds(count: number): number;
  route(id: number, sink: ChunkSink): void;
  unroute(id: number, itemIds: readonly number[]): void;
  /** Delivers the chunks already waiting in the control ports. */
  drainChunks(): void;
  abort(id: number): void;
  isIdempotent(task: string): boolean;
  readonly cancelGraceMs: number;
  /** Counts one batch sent to the pool. */
  recordBatch(size: number): void;
  /**
   * A batch is live from its submission until every item has settled or gone on in a new batch:
   * between its run settling and its items being resent, close() must not see the engine idle.
   */
  batchLive(delta: 1 | -1): void;
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
  /** Fused pipeline stages: each item goes through these tasks in order, in its thread. */
  readonly chain?: readonly string[] | undefined;
  /** Told the ms a chain's batch spent in each stage, when its answer comes. */
  readonly onStageMs?: ((ms: readonly number[]) => void) | undefined;
  /** Starts the span of each batch (a traced map's). */
  readonly trace?: BatchTraceFactory | undefined;
}

/** Crashed batches an item that never started may go through before it fails too. */
const MAX_UNSTARTED_RESENDS = 3;

/**
 * One batch in the pool: a {@link TaskRun} whose input is the items' inputs. It settles each
 * item exactly once, as the item's chunk arrives; cancels items one by one, each with its own
 * grace; and after a crash sends again the items that never started (and, for an idempotent
 * task, those whose result was lost) in a new batch, on a fresh thread.
 * @internal
 */
export class Batch {
  readonly #host: BatchHost;
  readonly #task: string;
  readonly #items: readonly BatchItem[];
  readonly #options: BatchOptions;
  readonly #progress = new Int32Array(new SharedArrayBuffer(4)).fill(-1);
  readonly #run: TaskRun;
  readonly #itemIds: number[] = [];
  /** The batch's own span (a traced map's); coalesced runs have one each instead. */
  readonly #span: BatchTrace | undefined;
  /** Grace deadlines of items cancelled while running, by item. */
  readonly #graceTimers = new Map<BatchItem, LongTimer>();
  /** The runner's answer has come; what is missing is in chunks still on their way. */
  #answered = false;
  #finished = false;

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
      item.enter(this, i);
      item.id = firstItemId === undefined || !item.cancellable ? undefined : firstItemId + i;
      if (item.id !== undefined) this.#itemIds.push(item.id);
      if (item.transferList !== undefined) transferList.push(...item.transferList);
    });
    host.recordBatch(items.length);
    host.batchLive(1);
    options.tracker?.opened();
    this.#span = options.trace?.(items.length);
    const itemTraces = items.some((item) => item.trace !== undefined)
      ? items.map((item) => item.trace)
      : undefined;
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
        batch: {
          progress: this.#progress,
          firstItemId,
          cancellable,
          aliases: findAliases(items),
          chain: options.chain,
          traces: itemTraces?.map((trace) => trace?.carrier),
        },
        trace:
          this.#span === undefined && itemTraces === undefined
            ? undefined
            : batchRunTrace(this.#span, itemTraces),
      },
      options.priority,
    );
    host.route(this.#run.request.id, (chunk) => this.#onChunk(chunk));
    this.#run.promise.then(
      (value) => this.#onAnswer(value as BatchResult),
      (error: unknown) => this.#onFailure(error),
    );
  }

  /** Cancels one item (see {@link BatchItem.abort}). */
  abortItem(item: BatchItem): void {
    if (item.id !== undefined) this.#host.abort(item.id);
    if (!this.#run.inWorker && !this.#run.settled) {
      this.#settle(item, item.aborted());
      // Nothing left to run: withdraw the batch itself.
      if (this.#items.every((other) => other.settled)) this.#run.cancel(item.abortReason);
      return;
    }
    // Each cancelled item gets its own grace, counted from its own abort.
    this.#graceTimers.set(
      item,
      setLongTimeout(() => this.#enforceGrace(item), this.#host.cancelGraceMs),
    );
  }

  /** An item cancelled past its grace that is still the one running loses its thread. */
  #enforceGrace(item: BatchItem): void {
    this.#graceTimers.delete(item);
    this.#host.drainChunks();
    if (!item.settled && this.#progress[0] === item.index) this.#run.terminate();
  }

  #onChunk(chunk: BatchChunk): void {
    this.#settleOutcomes(chunk);
    if (this.#answered && this.#items.every((item) => item.settled)) this.#finish();
  }

  #onAnswer(result: BatchResult): void {
    this.#host.drainChunks();
    if (result.stageMs !== undefined) this.#options.onStageMs?.(result.stageMs);
    this.#settleOutcomes(result);
    this.#answered = true;
    // The chunks of a thread's first batch can beat its control port here (the port comes in
    // a separate message); the batch stays routed until they arrive.
    if (this.#items.every((item) => item.settled)) this.#finish();
  }

  #onFailure(error: unknown): void {
    this.#host.drainChunks();
    const open = this.#items.filter((item) => !item.settled);
    if (error instanceof WorkerCrashedError) this.#afterCrash(open, error);
    else if (error instanceof DataCloneError && this.#items.length > 1) {
      // One input that cannot be sent must not fail the others: send each alone.
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
    const idempotent = (this.#options.chain ?? [this.#task]).every((task) => this.#host.isIdempotent(task));
    const again: BatchItem[] = [];
    const crashed: ItemResult = { ok: false, error, outcome: 'crashed' };
    for (const item of open) {
      if (item.abortReason !== undefined) this.#settle(item, item.aborted());
      else if (item.index > running && ++item.resends <= MAX_UNSTARTED_RESENDS) again.push(item);
      else if (item.index <= running && idempotent && !item.retried) {
        item.retried = true;
        again.push(item);
      } else this.#settle(item, crashed);
    }
    if (again.length > 0) new Batch(this.#host, this.#task, again, this.#options);
  }

  #settleOutcomes({ from, outcomes }: BatchChunk | BatchResult): void {
    forEachOutcome(outcomes, (offset, value, ms, fault) => this.#settleFrom(from + offset, value, ms, fault));
  }

  #settleFrom(index: number, value: unknown, ms: number, fault: ItemFault | undefined): void {
    const item = this.#items[index];
    if (item === undefined || item.settled) return;
    const workerMs = Number.isNaN(ms) ? undefined : ms;
    if (item.abortReason !== undefined) return this.#settle(item, item.aborted(), workerMs);
    if (fault === undefined) return this.#settle(item, { ok: true, value }, workerMs);
    if ('error' in fault) {
      const { stage } = fault;
      const task = stage === undefined ? this.#task : (this.#options.chain?.[stage] ?? this.#task);
      const error = reviveTaskError(task, fault.error);
      return this.#settle(item, { ok: false, error, outcome: 'error', stage }, workerMs);
    }
    this.#settle(item, { ok: false, error: new AbortedError('The item was skipped'), outcome: 'aborted' });
  }

  #settle(item: BatchItem, result: ItemResult, workerMs?: number): void {
    if (item.settled) return;
    clearLongTimeout(this.#graceTimers.get(item));
    this.#graceTimers.delete(item);
    const run = this.#run;
    const waitMs = run.startedAt > 0 ? run.startedAt - run.submittedAt : undefined;
    this.#span?.item(item.mapIndex ?? item.index, result);
    item.settle(result, workerMs, waitMs, this.#span?.exemplar);
  }

  /** The run has settled and so has every item (or it went on in a new batch). */
  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const timer of this.#graceTimers.values()) clearLongTimeout(timer);
    this.#graceTimers.clear();
    this.#host.unroute(this.#run.request.id, this.#itemIds);
    this.#span?.end();
    this.#options.tracker?.closed();
    this.#host.batchLive(-1);
  }
}

/**
 * Indices of items whose input is the same object as an earlier item's. Structured clone keeps
 * identity within one message, so without this they would arrive as one shared object. Only
 * object inputs are looked at; distinct inputs cost one set insertion each.
 */
function findAliases(items: readonly BatchItem[]): Int32Array | undefined {
  let seen: Set<unknown> | undefined;
  let aliases: number[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const input = (items[i] as BatchItem).input;
    if (typeof input !== 'object' || input === null) continue;
    seen ??= new Set();
    if (seen.has(input)) (aliases ??= []).push(i);
    else seen.add(input);
  }
  return aliases === undefined ? undefined : Int32Array.from(aliases);
}
