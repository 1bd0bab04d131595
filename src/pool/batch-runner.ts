/**
 * Runs a batch of items of one task in a pool thread: many inputs in one Piscina task, all
 * results back in one message. Items run one after another, each with the batch's context, so
 * an abort of the batch (its map was cancelled) stops the running item at its next
 * `throwIfAborted()` and skips the rest.
 * @internal
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Transferable } from 'node:worker_threads';
import { isTransfer, type Task } from '../worker/define-task.js';
import type { RunningTask } from '../worker/task-context.js';
import type { ItemOutcome, SerializedError } from './protocol.js';

/** A batch's outcomes and the buffers its results asked to move. */
export interface BatchRun {
  readonly items: ItemOutcome[];
  readonly transferList: Transferable[];
  readonly durationMs: number;
}

/** Runs every item; returns synchronously when every item is synchronous. */
export function runBatch(
  fn: Task<unknown, unknown>,
  inputs: readonly unknown[],
  context: RunningTask,
  serialize: (error: unknown) => SerializedError,
): BatchRun | Promise<BatchRun> {
  const started = performance.now();
  const items: ItemOutcome[] = [];
  const transferList: Transferable[] = [];
  const finish = (): BatchRun => ({ items, transferList, durationMs: performance.now() - started });
  const settle = (value: unknown): void => {
    if (isTransfer(value)) {
      items.push({ value: value.value });
      transferList.push(...(value.transferList as Transferable[]));
    } else items.push({ value });
  };
  const step = (index: number): BatchRun | Promise<BatchRun> => {
    for (let i = index; i < inputs.length; i++) {
      if (context.aborted) {
        while (items.length < inputs.length) items.push({ skipped: true });
        return finish();
      }
      let result: unknown;
      try {
        result = fn(inputs[i], context);
      } catch (error) {
        items.push({ error: serialize(error) });
        continue;
      }
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        return Promise.resolve(result).then(
          (value) => (settle(value), step(i + 1)),
          (error: unknown) => (items.push({ error: serialize(error) }), step(i + 1)),
        );
      }
      settle(result);
    }
    return finish();
  };
  return step(0);
}
