import { AbortedError } from '../errors.js';
import type { RunOptions } from '../orchestrator/task-types.js';
import { PENDING, type RunCache } from './run-cache.js';
import { TaskCache } from './task-cache.js';

/** How a cached run reaches the pool, and how to wait for the worker's declarations. @internal */
export interface CachedRunHost {
  readonly cache: RunCache;
  /** Submits a run as `run()` would without a cache (`scopeSignal`: its `go` group's). */
  submit(
    task: string,
    input: unknown,
    options: RunOptions,
    scopeSignal: AbortSignal | undefined,
  ): Promise<unknown>;
  /** Resolves once a thread has said what the module declares (or cannot say: it failed to start). */
  whenTasksKnown(): Promise<void>;
}

/**
 * A run of a task that may be cached (`cache` is its cache, or {@link PENDING}). A hit settles
 * at once; a miss joins the run of its key under way or starts one; the shared run takes the
 * first caller's priority, gpu flag and transfer list, while each caller keeps its own signal,
 * group and timeout, and leaving rejects that caller alone.
 * @internal
 */
export function cachedRun(
  host: CachedRunHost,
  cache: TaskCache | typeof PENDING,
  task: string,
  input: unknown,
  options: RunOptions,
  scopeSignal: AbortSignal | undefined,
): Promise<unknown> {
  if (cache === PENDING) return afterHello(host, task, input, options, scopeSignal);
  let key: string;
  try {
    key = cache.keyOf(input);
  } catch (error) {
    return Promise.reject(error);
  }
  const { signal, timeoutMs, priority, gpu, transferList } = options;
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  if (scopeSignal?.aborted === true) {
    const cause = scopeSignal.reason as unknown;
    return Promise.reject(new AbortedError(`Task "${task}" was cancelled by its group`, { cause }));
  }
  const hit = cache.hit(key);
  if (hit !== undefined) return hit.failed ? Promise.reject(hit.value) : Promise.resolve(hit.value);
  return cache.run(
    key,
    (shared) => host.submit(task, input, { priority, gpu, transferList, signal: shared }, undefined),
    { signal, scopeSignal, timeoutMs: timeoutMs === Number.POSITIVE_INFINITY ? undefined : timeoutMs },
  );
}

/** Waits for the worker's declarations, then runs; the wait counts against `timeoutMs`. */
async function afterHello(
  host: CachedRunHost,
  task: string,
  input: unknown,
  options: RunOptions,
  scopeSignal: AbortSignal | undefined,
): Promise<unknown> {
  const started = performance.now();
  await host.whenTasksKnown();
  const { timeoutMs } = options;
  const left =
    timeoutMs === undefined || timeoutMs === Number.POSITIVE_INFINITY
      ? timeoutMs
      : Math.max(1, Math.ceil(timeoutMs - (performance.now() - started)));
  const next = { ...options, timeoutMs: left };
  const cache = host.cache.of(task);
  // Still unknown only when no thread could start: the run itself reports why.
  return cache instanceof TaskCache
    ? cachedRun(host, cache, task, input, next, scopeSignal)
    : host.submit(task, input, next, scopeSignal);
}
