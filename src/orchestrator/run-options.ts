import { MessagePort, type Transferable } from 'node:worker_threads';
import { assertOptionalSignal, assertTimeout, describe } from '../internal/validate.js';
import type { RunOptions } from './task-types.js';

/**
 * Checks `run()`'s arguments.
 * @throws TypeError or RangeError naming the bad field and its value.
 * @internal
 */
export function checkRun(task: unknown, options: RunOptions): void {
  if (typeof task !== 'string' || task.length === 0) {
    throw new TypeError(`task must be a non-empty string, got ${describe(task)}`);
  }
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  assertOptionalSignal('signal', options.signal);
  const { priority, timeoutMs } = options;
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isFinite(priority))) {
    throw new RangeError(`priority must be a finite number, got ${describe(priority)}`);
  }
  if (timeoutMs !== undefined) assertTimeout('timeoutMs', timeoutMs, 1);
  if (options.cache !== undefined && typeof options.cache !== 'boolean')
    throw new TypeError(`cache must be a boolean, got ${describe(options.cache)}`);
}

/**
 * The transfer list as the pool posts it: typed arrays become their buffers. Entries that can
 * never be moved are refused here, by index, instead of failing later inside the pool: a
 * SharedArrayBuffer (or a view of one) is shared, not moved — pass it in the input as it is.
 * @throws TypeError naming the bad entry.
 * @internal
 */
export function toTransferList(list: unknown): Transferable[] | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw new TypeError(`transferList must be an array, got ${describe(list)}`);
  return list.map((entry: unknown, index) => {
    const item = ArrayBuffer.isView(entry) ? entry.buffer : entry;
    if (item instanceof ArrayBuffer || item instanceof MessagePort) return item as Transferable;
    const what =
      item instanceof SharedArrayBuffer
        ? 'a SharedArrayBuffer (or a view of one), which is shared, not moved: leave it out of transferList'
        : describe(entry);
    throw new TypeError(
      `transferList[${index}] must be an ArrayBuffer, a typed array or a MessagePort, got ${what}`,
    );
  });
}
