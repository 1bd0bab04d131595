import { settingsFor, type ResolvedCache, type WorkerCacheOptions } from './options.js';
import { TaskCache, type CacheStats } from './task-cache.js';

/** What the cache needs to know about the worker module. @internal */
export interface CacheHost {
  /** Whether a thread has said which tasks the module has (and their cache declarations). */
  readonly tasksKnown: boolean;
  /** The cache declaration of `task` in the worker module (`defineTask(fn, { cache })`). */
  workerCache(task: string): WorkerCacheOptions | undefined;
  /** Whether `task` is one of the module's tasks (undefined until a thread has said). */
  isTask(task: string): boolean | undefined;
}

/** The answer while no thread has said yet what the worker module declares. @internal */
export const PENDING: unique symbol = Symbol('pending');

/**
 * The orchestrator's result caches, one {@link TaskCache} per cached task, made on the first run
 * of the task once its settings are known: the orchestrator's `cache` option and, learnt from
 * the first thread's hello, the worker module's `defineTask(fn, { cache })` declarations.
 * @internal
 */
export class RunCache {
  readonly #host: CacheHost;
  readonly #options: ResolvedCache | undefined;
  /** Per task: its cache, or null once it is known not to be cached. */
  readonly #caches = new Map<string, TaskCache | null>();
  /** Each cache's counts, for telemetry (the metrics read this map at scrape time). */
  readonly stats = new Map<string, CacheStats>();

  constructor(host: CacheHost, options: ResolvedCache | undefined) {
    this.#host = host;
    this.#options = options;
  }

  /**
   * The cache of `task`, or undefined when it is not cached. Until a thread has said what the
   * module declares: {@link PENDING} with the orchestrator's `cache` option (the run waits, so
   * that every run sees the final settings), undefined without it (worker declarations take
   * effect from the first hello; an orchestrator without the option never delays a run).
   */
  of(task: string): TaskCache | undefined | typeof PENDING {
    const known = this.#caches.get(task);
    if (known !== undefined) return known ?? undefined;
    if (!this.#host.tasksKnown) {
      if (this.#options === undefined || this.#options.tasks.get(task) === false) return undefined;
      return PENDING;
    }
    // A name the module does not export fails as ERR_UNKNOWN_TASK; not remembering it keeps
    // this map as small as the module's task list, whatever names callers pass.
    if (this.#host.isTask(task) !== true) return undefined;
    const settings = settingsFor(this.#options, task, this.#host.workerCache(task));
    if (settings === undefined) {
      this.#caches.set(task, null);
      return undefined;
    }
    const cache = new TaskCache(task, settings);
    this.#caches.set(task, cache);
    this.stats.set(task, cache.stats);
    return cache;
  }

  /** Drops the kept results of `task`, or of every task. */
  clear(task?: string): void {
    for (const [name, cache] of this.#caches) if (task === undefined || name === task) cache?.clear();
  }
}
