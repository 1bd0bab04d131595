/**
 * Runs a batch of items of one task in a pool thread: many inputs in one Piscina task. Items run
 * one after another. Each has its own context when the batch carries item ids (so one item can
 * be cancelled alone), else the batch's. Finished outcomes leave in small chunks while the batch
 * runs, so a crash later in the batch loses none of them; the rest come back with the answer.
 * @internal
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Transferable } from 'node:worker_threads';
import { isTransfer, type Task } from '../worker/define-task.js';
import type { AbortBook, RunningTask } from '../worker/task-context.js';
import type { BatchChunk, BatchRequest, ItemOutcome, SerializedError, TaskRequest } from './protocol.js';

/** The answer of a batch: outcomes not yet sent as chunks, and the buffers they move. */
export interface BatchAnswer {
  readonly from: number;
  readonly items: ItemOutcome[];
  readonly transferList: Transferable[];
  readonly durationMs: number;
}

/** What a batch needs from its thread. */
export interface BatchThread {
  readonly book: AbortBook;
  serialize(error: unknown): SerializedError;
  /** Posts a chunk of finished outcomes to the main thread. */
  send(chunk: BatchChunk, transferList: Transferable[]): void;
}

/** A chunk leaves once this many outcomes are waiting... */
const CHUNK_ITEMS = 64;
/** ...or this long after the last one left, in ms; and always after an async item. */
const CHUNK_MS = 1;

/** Runs every item; returns synchronously when every item is synchronous. */
export function runBatch(
  fn: Task<unknown, unknown>,
  request: TaskRequest,
  batch: RunningTask,
  thread: BatchThread,
): BatchAnswer | Promise<BatchAnswer> {
  const inputs = request.input as readonly unknown[];
  const { firstItemId, cancellable, progress } = request.batch as BatchRequest;
  const ownsAbort = (index: number): boolean => firstItemId !== undefined && cancellable?.[index] === 1;
  const started = performance.now();
  let items: ItemOutcome[] = [];
  let transferList: Transferable[] = [];
  let from = 0;
  let lastSent = started;
  const flush = (): void => {
    if (items.length === 0) return;
    thread.send({ chunk: request.id, from, items }, transferList);
    from += items.length;
    items = [];
    transferList = [];
    lastSent = performance.now();
  };
  const settle = (value: unknown): void => {
    if (isTransfer(value)) {
      items.push({ value: value.value });
      transferList.push(...(value.transferList as Transferable[]));
    } else items.push({ value });
  };
  const contextOf = (index: number): RunningTask =>
    ownsAbort(index) ? thread.book.open((firstItemId as number) + index, request.task, batch) : batch;
  const closeItem = (index: number): void => {
    if (ownsAbort(index)) thread.book.close((firstItemId as number) + index);
  };
  const finish = (): BatchAnswer => ({ from, items, transferList, durationMs: performance.now() - started });
  /** After an async item: its result leaves now (the last one's leaves with the answer). */
  const next = (index: number): BatchAnswer | Promise<BatchAnswer> => {
    if (index < inputs.length - 1) flush();
    return step(index + 1);
  };
  const step = (index: number): BatchAnswer | Promise<BatchAnswer> => {
    for (let i = index; i < inputs.length; i++) {
      if (batch.aborted) {
        while (from + items.length < inputs.length) items.push({ skipped: true });
        return finish();
      }
      if (ownsAbort(i)) {
        if (thread.book.abortedBeforeStart((firstItemId as number) + i)) {
          items.push({ skipped: true });
          continue;
        }
        flush();
      }
      progress[0] = i;
      const context = contextOf(i);
      let result: unknown;
      try {
        result = fn(inputs[i], context);
      } catch (error) {
        closeItem(i);
        items.push({ error: thread.serialize(error) });
        continue;
      }
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        // The thread waits anyway: send what is finished before it does, and this item once it settles.
        flush();
        return Promise.resolve(result).then(
          (value) => {
            closeItem(i);
            settle(value);
            return next(i);
          },
          (error: unknown) => {
            closeItem(i);
            items.push({ error: thread.serialize(error) });
            return next(i);
          },
        );
      }
      closeItem(i);
      settle(result);
      if (i < inputs.length - 1 && (items.length >= CHUNK_ITEMS || performance.now() - lastSent >= CHUNK_MS))
        flush();
    }
    return finish();
  };
  return step(0);
}
