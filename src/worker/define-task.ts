import type { Transferable } from 'node:worker_threads';
import { cacheSettingsIssues, type WorkerCacheOptions } from '../cache/options.js';
import { describe } from '../internal/validate.js';
import { kCacheBrand, kIdempotentBrand, kTaskBrand, kTransferBrand } from '../pool/protocol.js';
import type { TaskContext } from './task-context.js';

/** A task body: takes the input and a {@link TaskContext}, returns the output (sync or async). */
export type TaskFunction<I, O> = (input: I, ctx: TaskContext) => O | Promise<O>;

/** A task function marked by {@link defineTask}; callable directly (handy in unit tests). */
export type Task<I, O> = TaskFunction<I, O> & { readonly [kTaskBrand]: true };

/** Options of {@link defineTask}. */
export interface TaskOptions {
  /**
   * The task may run twice for the same input without harm (no side effects, or idempotent
   * ones). Then an item of a batch that was running, or had finished without its result reaching
   * the main thread, when its thread crashed is run once more on another thread instead of
   * failing with ERR_WORKER_CRASHED. (Items that had not started are always run again.)
   * @default false
   */
  idempotent?: boolean;
  /**
   * Keep the task's results on the main thread and serve repeated inputs from there, sharing one
   * run among concurrent callers of one input (see the README's "Result caching"). `true`: the
   * defaults. The orchestrator's `cache` option can override each setting, or turn it off.
   * @default false
   */
  cache?: boolean | WorkerCacheOptions;
}

/**
 * Declares a task. Export the result under the name callers will use with
 * `orchestrator.run(name, input)`.
 *
 * @param fn - the task body; a throw (or rejection) fails only this run, with the error's
 *   message, stack and `code` carried to the main thread.
 * @param options - `idempotent`, `cache`: see {@link TaskOptions}.
 * @returns the same function, marked as a task.
 * @throws TypeError if `fn` is not a function, `options.idempotent` not a boolean, or
 *   `options.cache` not a boolean or valid cache settings (the message names the field).
 * @example
 * ```ts
 * // workers/text.ts
 * import { defineTask } from 'node-orchestrator/worker';
 * export const wordCount = defineTask((text: string, ctx) => {
 *   ctx.throwIfAborted();
 *   return text.split(/\s+/).length;
 * });
 * ```
 */
export function defineTask<I, O>(fn: TaskFunction<I, O>, options: TaskOptions = {}): Task<I, O> {
  if (typeof fn !== 'function')
    throw new TypeError(`defineTask(fn): fn must be a function, got ${typeof fn}`);
  const { idempotent = false, cache = false } = options;
  if (typeof idempotent !== 'boolean')
    throw new TypeError(`defineTask(fn, options): idempotent must be a boolean, got ${typeof idempotent}`);
  if (typeof cache !== 'boolean') {
    const issue = cacheSettingsIssues(cache, 'cache', false)[0];
    if (issue !== undefined)
      throw new TypeError(
        `defineTask(fn, options): ${issue.field} must be ${issue.expected}, got ${describe(issue.value)}`,
      );
  }
  Object.defineProperty(fn, kTaskBrand, { value: true });
  if (idempotent) Object.defineProperty(fn, kIdempotentBrand, { value: true });
  if (cache !== false) Object.defineProperty(fn, kCacheBrand, { value: cache === true ? {} : { ...cache } });
  return fn as Task<I, O>;
}

/** A result whose listed buffers move to the main thread instead of being copied. */
export interface Transfer<T> {
  readonly [kTransferBrand]: true;
  readonly value: T;
  readonly transferList: readonly Transferable[];
}

/** The value a task's output resolves to on the main thread: {@link Transfer}s unwrapped. */
export type Output<O> = O extends Transfer<infer T> ? T : O;

/**
 * Marks a task's result so that the given buffers are transferred (moved, zero-copy) to the
 * main thread. The buffers become unusable in the worker afterwards.
 *
 * @param value - the result; may contain the buffers anywhere inside it.
 * @param transferList - the ArrayBuffers (or typed arrays, whose buffers are taken) to move.
 * @returns a marked result to return from the task.
 * @example
 * ```ts
 * export const normalize = defineTask((pixels: Uint8Array) => {
 *   const tensor = new Float32Array(pixels.length);
 *   for (let i = 0; i < pixels.length; i++) tensor[i] = pixels[i]! / 255;
 *   return transfer(tensor, [tensor.buffer]);
 * });
 * ```
 */
export function transfer<T>(
  value: T,
  transferList: readonly (Transferable | ArrayBufferView)[],
): Transfer<T> {
  const list = transferList.map((item) => (ArrayBuffer.isView(item) ? item.buffer : item) as Transferable);
  return { [kTransferBrand]: true, value, transferList: list };
}

/** @internal */
export function isTransfer(value: unknown): value is Transfer<unknown> {
  return typeof value === 'object' && value !== null && kTransferBrand in value;
}

/** @internal */
export function isIdempotent(value: unknown): boolean {
  return typeof value === 'function' && kIdempotentBrand in value;
}

/** The cache settings `defineTask` declared for `value`, if any. @internal */
export function cacheOf(value: unknown): WorkerCacheOptions | undefined {
  return typeof value === 'function' && kCacheBrand in value
    ? (value as unknown as Record<symbol, WorkerCacheOptions>)[kCacheBrand]
    : undefined;
}

/** @internal */
export function isTask(value: unknown): value is Task<unknown, unknown> {
  return typeof value === 'function' && kTaskBrand in value;
}
