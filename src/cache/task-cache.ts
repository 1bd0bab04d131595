import { LRUCache } from 'lru-cache';
import { AbortedError, TaskFailedError, TaskTimeoutError } from '../errors.js';
import { clearLongTimeout, setLongTimeout, type LongTimer } from '../internal/long-timer.js';
import { inputKey } from './key.js';
import type { CacheSettings } from './options.js';
import { deliver, protect } from './protect.js';

/**
 * Bytes each kept entry costs besides its result and key: the entry object, lru-cache's slots
 * and the key string's header. Measured: 1,000,000 small distinct results under an 8 MiB bound
 * grew the heap by about twice the results' estimate without it.
 */
const ENTRY_OVERHEAD = 128;

/** One kept outcome. @internal */
interface Entry {
  readonly value: unknown;
  /** Each caller gets a structured clone (else the frozen or primitive value itself). */
  readonly clone: boolean;
  readonly bytes: number;
  /** A kept failure (`cacheFailures`): `value` is the error. */
  readonly failed: boolean;
}

/** Runs the task once for everyone waiting on a key; `signal` aborts when every caller has left. @internal */
export type Execute = (signal: AbortSignal) => Promise<unknown>;

/** What one caller brings besides the input: the ways it may leave early. @internal */
export interface Caller {
  readonly signal: AbortSignal | undefined;
  /** Its group's signal (`go`'s ctx.run): an abort is ERR_ABORTED for this caller only. */
  readonly scopeSignal: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
}

/** Counts of one task's cache, read at scrape time. */
export class CacheStats {
  hits = 0;
  misses = 0;
  deduplicated = 0;
  evictions = 0;

  constructor(readonly size: () => { readonly bytes: number; readonly entries: number }) {}
}

/** One execution several callers wait on. */
class Shared {
  callers = 0;
  settled = false;
  readonly controller = new AbortController();
  promise!: Promise<Entry | undefined>;

  constructor(readonly execute: Execute) {}
}

/**
 * The results of one task, kept in an lru-cache bounded by entries and by bytes (and, with a
 * TTL, by age), with in-flight deduplication through the cache's `fetch`: every caller of a key
 * whose run is under way waits on that one run.
 *
 * Callers leave on their own: one caller's signal, group or timeout rejects that caller alone;
 * the run is cancelled only once every caller has left (and the key is forgotten at once, so a
 * new caller starts afresh). A run the cache evicts while under way (too many in flight for
 * `maxEntries`) goes on for its callers; its result is just not kept.
 * @internal
 */
export class TaskCache {
  readonly stats: CacheStats;
  readonly #settings: CacheSettings;
  readonly #lru: LRUCache<string, Entry, Shared>;
  /** Callers per key with a run under way: lru-cache shares the run, we count who still waits. */
  readonly #inflight = new Map<string, Shared>();
  readonly #task: string;

  constructor(task: string, settings: CacheSettings) {
    this.#task = task;
    this.#settings = settings;
    const freeze = settings.immutability === 'freeze';
    this.#lru = new LRUCache<string, Entry, Shared>({
      max: settings.maxEntries,
      maxSize: settings.maxBytes,
      sizeCalculation: (entry, key) => entry.bytes + 2 * key.length + ENTRY_OVERHEAD,
      ...(settings.ttlMs === Number.POSITIVE_INFINITY ? {} : { ttl: settings.ttlMs }),
      // Our callers, not the cache, decide when a run is abandoned (see Shared).
      ignoreFetchAbort: true,
      fetchMethod: (_key, _stale, { context }) =>
        context.execute(context.controller.signal).then(
          (value) => toEntry(value, false, freeze),
          (error: unknown) => {
            if (settings.cacheFailures && error instanceof TaskFailedError)
              return toEntry(error, true, freeze);
            throw error;
          },
        ),
      dispose: (_entry, _key, reason) => {
        if (reason === 'evict') this.stats.evictions++;
      },
    });
    const lru = this.#lru;
    this.stats = new CacheStats(() => ({ bytes: lru.calculatedSize, entries: lru.size }));
  }

  /**
   * The key of `input`: the task's `cacheKey`, or a digest of the input.
   * @throws NotCacheableError when the input cannot be keyed; whatever `cacheKey` throws.
   */
  keyOf(input: unknown): string {
    const own = this.#settings.cacheKey?.(input);
    if (own === undefined) return inputKey(input);
    if (typeof own !== 'string' && typeof own !== 'number')
      throw new TypeError(`cacheKey of task "${this.#task}" must return a string, a number or undefined`);
    // A prefix no digest has, so a user key never meets a digest.
    return `\u0001${own}`;
  }

  /** A kept outcome of `key` as its caller gets it, or undefined on a miss (or a run under way). */
  hit(key: string): { value: unknown; failed: boolean } | undefined {
    const entry = this.#lru.get(key);
    if (entry === undefined) return undefined;
    this.stats.hits++;
    return { value: entry.failed ? entry.value : deliver(entry.value, entry.clone), failed: entry.failed };
  }

  /** Joins the run of `key` under way, or starts it with `execute`. Settles exactly once. */
  run(key: string, execute: Execute, caller: Caller): Promise<unknown> {
    let shared = this.#inflight.get(key);
    if (shared === undefined) {
      this.stats.misses++;
      shared = this.#start(key, execute);
    } else this.stats.deduplicated++;
    return this.#join(key, shared, caller);
  }

  /** Drops every kept result. Runs under way go on for their callers; their results are not kept. */
  clear(): void {
    this.#lru.clear();
  }

  #start(key: string, execute: Execute): Shared {
    const shared = new Shared(execute);
    this.#inflight.set(key, shared);
    // fetch calls fetchMethod synchronously, so the run is submitted now, in the caller's turn.
    shared.promise = this.#lru.fetch(key, { context: shared });
    const done = (): void => {
      shared.settled = true;
      if (this.#inflight.get(key) === shared) this.#inflight.delete(key);
    };
    shared.promise.then(done, done);
    return shared;
  }

  #join(key: string, shared: Shared, caller: Caller): Promise<unknown> {
    shared.callers++;
    const { signal, scopeSignal, timeoutMs } = caller;
    return new Promise((resolve, reject) => {
      let timer: LongTimer | undefined;
      let left = false;
      const cleanup = (): void => {
        left = true;
        signal?.removeEventListener('abort', onSignal);
        scopeSignal?.removeEventListener('abort', onScope);
        clearLongTimeout(timer);
      };
      const leave = (reason: unknown): void => {
        if (left) return;
        cleanup();
        reject(reason);
        if (--shared.callers === 0 && !shared.settled) this.#abandon(key, shared);
      };
      const onSignal = (): void => leave(signal?.reason);
      const onScope = (): void =>
        leave(
          new AbortedError(`Task "${this.#task}" was cancelled by its group`, { cause: scopeSignal?.reason }),
        );
      signal?.addEventListener('abort', onSignal, { once: true });
      scopeSignal?.addEventListener('abort', onScope, { once: true });
      if (timeoutMs !== undefined)
        timer = setLongTimeout(
          () => leave(new TaskTimeoutError(`Task "${this.#task}" timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
      shared.promise.then(
        (entry) => {
          if (left) return;
          cleanup();
          shared.callers--;
          // Undefined only when the cache dropped the run for a delete, which only #abandon does.
          if (entry === undefined) reject(new AbortedError(`Task "${this.#task}" was abandoned`));
          else if (entry.failed) reject(entry.value);
          else resolve(deliver(entry.value, entry.clone));
        },
        (error: unknown) => {
          if (left) return;
          cleanup();
          shared.callers--;
          reject(error);
        },
      );
    });
  }

  /** Every caller has left: cancel the run and forget the key, so the next caller starts anew. */
  #abandon(key: string, shared: Shared): void {
    this.#inflight.delete(key);
    this.#lru.delete(key);
    shared.controller.abort(
      new AbortedError(`Every caller of task "${this.#task}" left; the shared run was cancelled`),
    );
  }
}

function toEntry(value: unknown, failed: boolean, freeze: boolean): Entry {
  if (failed) return { value, clone: false, failed, bytes: 256 };
  const { clone, bytes } = protect(value, freeze);
  return { value, clone, bytes, failed };
}
