/**
 * Runs a batch of items of one task in a pool thread: many inputs in one Piscina task. Items run
 * one after another. Each has its own context when the batch carries item ids (so one item can
 * be cancelled alone), else the batch's. Finished outcomes leave in small chunks while the batch
 * runs, so their callers get them at once and a crash later in the batch loses none of them;
 * the rest come back with the answer.
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Transferable } from 'node:worker_threads';
import type { ThreadMetrics } from '../task-metrics/recorder.js';
import { isTransfer, type Task } from '../worker/define-task.js';
import type { AbortBook, RunningTask } from '../worker/task-context.js';
import { makeChain, StageFailure } from './chain.js';
import { runInContext } from '../worker/trace-context.js';
import { cloneIssue } from './clone-check.js';
import { OutcomeColumns, type ItemOutcomes } from './item-outcomes.js';
import type { BatchChunk, BatchRequest, SerializedError, TaskRequest } from './protocol.js';
import { unclonable } from './serialize-error.js';

/** The answer of a batch: outcomes not yet sent as chunks, and the buffers they move. */
export interface BatchAnswer {
  readonly from: number;
  readonly outcomes: ItemOutcomes;
  readonly transferList: Transferable[];
  readonly durationMs: number;
  /** For a chain: ms spent in each stage. */
  readonly stageMs: number[] | undefined;
}

/** What a batch needs from its thread. */
export interface BatchThread {
  readonly book: AbortBook;
  /** The thread's task metrics: an item's observations leave with the chunk of its outcome. */
  readonly metrics: ThreadMetrics;
  serialize(error: unknown): SerializedError;
  /** Posts a chunk of finished outcomes to the main thread. */
  send(chunk: BatchChunk, transferList: Transferable[]): void;
}

/** A chunk leaves once this many outcomes are waiting... */
const CHUNK_ITEMS = 64;
/**
 * ...or this long after the last one left, in ms; and always after an async item and after an
 * item with its own abort id (its caller may be waiting to hear that it stopped). Each chunk
 * wakes the main thread, which on a machine with a pool thread per core takes a core from a
 * worker: at 1 ms, tokenizing (~60 µs an item) lost about a tenth of its CPU to those wake-ups.
 */
const CHUNK_MS = 4;

/**
 * Runs every item through `fns` (one task, or the chain of fused pipeline stages); returns
 * synchronously when every item is synchronous.
 */
export function runBatch(
  fns: readonly Task<unknown, unknown>[],
  request: TaskRequest,
  batch: RunningTask,
  thread: BatchThread,
): BatchAnswer | Promise<BatchAnswer> {
  const inputs = request.input as unknown[];
  const { firstItemId, cancellable, progress, aliases, chain, traces } = request.batch as BatchRequest;
  const stageMs = chain === undefined ? undefined : chain.map(() => 0);
  const fn =
    stageMs === undefined
      ? (fns[0] as Task<unknown, unknown>)
      : makeChain(fns, chain as string[], stageMs, (name) => thread.metrics.forTask(name));
  // Items given one shared object each get their own copy, taken before any item runs (and so
  // before any could change it).
  if (aliases !== undefined) for (const i of aliases) inputs[i] = structuredClone(inputs[i]);
  const ownsAbort = (index: number): boolean => firstItemId !== undefined && cancellable?.[index] === 1;
  const started = performance.now();
  const waiting = new OutcomeColumns();
  let transferList: Transferable[] = [];
  let from = 0;
  let lastSent = started;
  /** When the item now running started: the end of the one before. */
  let itemStart = started;
  const flush = (): void => {
    if (waiting.length === 0) return;
    const sent = waiting.length;
    const metrics = thread.metrics.take();
    const outcomes = waiting.take();
    if (outcomes.packed !== undefined) transferList.push(outcomes.packed.buffer);
    thread.send({ chunk: request.id, from, outcomes, metrics }, transferList);
    from += sent;
    transferList = [];
    lastSent = performance.now();
  };
  const recordValue = (value: unknown, ms: number): void => {
    const transfer = isTransfer(value);
    const issue = transfer
      ? cloneIssue(value.value, 'the result', value.transferList)
      : cloneIssue(value, 'the result');
    if (issue !== undefined) return waiting.error(unclonable(issue), ms);
    if (!transfer) return waiting.value(value, ms);
    transferList.push(...(value.transferList as Transferable[]));
    waiting.value(value.value, ms, true);
  };
  /** Records item `index`'s outcome; sends what is waiting when a chunk is due. */
  const settle = (
    index: number,
    result: { value: unknown } | { error: unknown },
    forceFlush: boolean,
  ): void => {
    if (ownsAbort(index)) thread.book.close((firstItemId as number) + index);
    thread.metrics.commit();
    const now = performance.now();
    const ms = now - itemStart;
    itemStart = now;
    if ('value' in result) recordValue(result.value, ms);
    else if (result.error instanceof StageFailure)
      waiting.error(thread.serialize(result.error.error), ms, result.error.stage);
    else waiting.error(thread.serialize(result.error), ms);
    const due = forceFlush || ownsAbort(index) || waiting.length >= CHUNK_ITEMS || now - lastSent >= CHUNK_MS;
    // With nothing left to run, the outcomes go with the answer: a chunk would settle the last
    // callers before the batch leaves its thread, and they would see its slot still taken.
    if (due && runsAfter(index)) flush();
  };
  /** Whether an item after `index` will run: those cancelled before they started will not. */
  const runsAfter = (index: number): boolean => {
    for (let i = index + 1; i < inputs.length; i++) {
      if (!ownsAbort(i) || !thread.book.abortedBeforeStart((firstItemId as number) + i)) return true;
    }
    return false;
  };
  /** An item's own context when it can be cancelled alone or has its own span, else the batch's. */
  const contextOf = (index: number): RunningTask => {
    const trace = traces?.[index];
    if (ownsAbort(index))
      return thread.book.open((firstItemId as number) + index, request.task, batch, trace);
    return trace === undefined ? batch : thread.book.child(request.task, batch, trace);
  };
  const finish = (): BatchAnswer => {
    const outcomes = waiting.take();
    if (outcomes.packed !== undefined) transferList.push(outcomes.packed.buffer);
    return { from, outcomes, transferList, durationMs: performance.now() - started, stageMs };
  };
  const step = (index: number): BatchAnswer | Promise<BatchAnswer> => {
    for (let i = index; i < inputs.length; i++) {
      if (batch.aborted) {
        while (from + waiting.length < inputs.length) waiting.skipped();
        return finish();
      }
      if (ownsAbort(i)) {
        if (thread.book.abortedBeforeStart((firstItemId as number) + i)) {
          waiting.skipped();
          continue;
        }
        // Should this item ignore its cancel and lose its thread, what is finished is not lost with it.
        flush();
      }
      progress[0] = i;
      let result: unknown;
      try {
        const context = contextOf(i);
        const input = inputs[i];
        result =
          context.trace === undefined
            ? fn(input, context)
            : runInContext(context.traceContext, () => fn(input, context));
      } catch (error) {
        settle(i, { error }, false);
        continue;
      }
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        // The thread waits anyway: what is finished leaves before it does, and this item once it settles.
        flush();
        return Promise.resolve(result).then(
          (value) => {
            settle(i, { value }, true);
            return step(i + 1);
          },
          (error: unknown) => {
            settle(i, { error }, true);
            return step(i + 1);
          },
        );
      }
      settle(i, { value: result }, false);
    }
    return finish();
  };
  return step(0);
}
